package crawler

import (
	"bytes"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/trawl-dev/trawl/crawler/demosite"
)

// The token pass must find what the tree walk finds, on real pages and on
// the usual kinds of broken ones.
func TestExtractTokensMatchesTree(t *testing.T) {
	base, _ := ParseURL("http://example.com/dir/page")
	docs := map[string][]byte{}
	files, _ := filepath.Glob("testdata/extract/*.html")
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		docs[f] = b
	}
	site := demosite.Site{Pages: 20, Seed: 3}
	for i := range site.Pages {
		docs[site.Path(i)] = site.Page(i)
	}
	for i, s := range []string{
		``, `<title>only`, `<h1>one<h2>two</h2>`, `<h1>a<p>b</p>c</h1>`, `<h1>x<br>y</h1>`,
		`<h1>keep<script>drop()</script> this</h1>`, `<h1>t<template><b>no</b></template>!</h1>`,
		`<svg><title>svg</title><a xlink:href="/svg-link">s</a></svg><title>html</title>`,
		`<svg><p>breaks out<title>real</title>`, `<math><h1>out</h1></math>`,
		`<html><html lang=de>`, `<meta name=" Description " content=" a  b ">`,
		`<link rel="alternate canonical" href="/c"><link rel=canonical href=/d>`,
		`<base href="/b/"><a href=x>x</a>`, `<a href=1><a href=2><a href=1>`,
		`<noscript><a href=/ns>no</a></noscript><a href=/yes>`,
		`<textarea><h1>no</h1></textarea><h1>yes</h1>`, `<title>a &amp; b</title><h1>&lt;c&gt;</h1>`,
		`<table><tr><td><h1>in cell</h1></td></tr></table>`,
		`<h1><a href="/in-h1">link text</a> and more</h1>`,
		`<h1>a</h1><div><h1>b</h1></div><h1/>c<table><h1>d</h1></table><noscript><h1>n</h1></noscript>`,
		`<h1>a<h1>b</h1></h1><template><h1>t</h1></template><textarea><h1>no</h1></textarea>`,
		`<title>
		  spaced
		  title </title>`,
	} {
		docs[strings.Repeat("x", i+1)] = []byte(s)
	}
	for name, doc := range docs {
		tree, err := extractTree(bytes.NewReader(doc), base, nil, Limits{})
		if err != nil {
			t.Fatal(err)
		}
		tok, err := Extract(bytes.NewReader(doc), base, nil)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(tree, tok) {
			t.Errorf("%s: token pass differs from the tree\ntree:   %+v\ntokens: %+v\ndoc: %.300q", name, tree, tok, doc)
		}
	}
}

// FuzzExtractTokens compares the token pass with the tree walk on
// arbitrary input for the fields that markup restructuring cannot move:
// title, description, lang, canonical and the set of links. (The first
// <h1>'s text and the order of links may differ on badly nested markup,
// as extractTokens documents.)
func FuzzExtractTokens(f *testing.F) {
	f.Add([]byte(`<title>t</title><a href=/x>x</a><h1>h</h1>`))
	f.Add([]byte(`<table><a href=/a><tr><td><a href=/b></table>`))
	f.Add([]byte(`<svg><title>s</title></svg><math><p><title>m`))
	base, _ := ParseURL("http://example.com/dir/page")
	f.Fuzz(func(t *testing.T, doc []byte) {
		tree, err1 := extractTree(bytes.NewReader(doc), base, nil, Limits{})
		tok, err2 := Extract(bytes.NewReader(doc), base, nil)
		if err1 != nil || err2 != nil {
			return
		}
		sortedLinks := func(p Page) string {
			l := append([]string(nil), p.Links...)
			slices.Sort(l)
			return strings.Join(l, "\n")
		}
		if tree.Title != tok.Title || tree.Description != tok.Description || tree.Lang != tok.Lang ||
			tree.Canonical != tok.Canonical || sortedLinks(tree) != sortedLinks(tok) {
			t.Errorf("token pass differs from the tree\ntree:   %+v\ntokens: %+v", tree, tok)
		}
	})
}

func TestMayHaveForeignContent(t *testing.T) {
	for doc, want := range map[string]bool{
		`<p>plain</p>`: false, `<SVG viewBox="0 0 1 1">`: true, `<p><math>`: true,
		`a < b <svgx`: true, `<mat`: false, "\xff\xfe<\x00p\x00": true, ``: false,
	} {
		if got := mayHaveForeignContent([]byte(doc)); got != want {
			t.Errorf("mayHaveForeignContent(%q) = %v, want %v", doc, got, want)
		}
	}
}
