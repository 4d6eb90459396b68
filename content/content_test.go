package content

import (
	"net/url"
	"strings"
	"testing"
)

func TestUnescapeIntraword(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{`snake\_case and my\_var\_name`, `snake_case and my_var_name`},
		{`\_emphasis\_ stays`, `\_emphasis\_ stays`},
		{"`a\\_b` in code", "`a\\_b` in code"},
		{"```\na\\_b\n```\nc\\_d", "```\na\\_b\n```\nc_d"},
		{`über\_straße`, `über_straße`},
	} {
		if got := unescapeIntraword(tc.in); got != tc.want {
			t.Errorf("unescapeIntraword(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestCountWords(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want int
	}{
		{"Hello, world! It's 2026.", 4},
		{"state-of-the-art", 1},
		{"京都の喫茶店", 6},
		{"Мёд не портится", 3},
		{"", 0},
	} {
		if got := countWords(tc.in); got != tc.want {
			t.Errorf("countWords(%q) = %d, want %d", tc.in, got, tc.want)
		}
	}
}

func TestCutLines(t *testing.T) {
	s := strings.Repeat("line of text\n", 100)
	got := cutLines(s, 100)
	if len(got) > 100 || !strings.HasSuffix(got, "line of text") {
		t.Errorf("cutLines cut %q", got)
	}
	if got := cutLines("ééééé", 3); got != "é" {
		t.Errorf("cutLines in a character: %q", got)
	}
}

func TestText(t *testing.T) {
	doc, err := Parse(`<body><h1>Title</h1><p>One <b>bold</b>  word.<br>Next line.</p><ul><li>a</li><li>b</li></ul>` +
		`<table><tr><td>x</td><td>y</td></tr><tr><td>z</td><td>w</td></tr></table><pre>  code
  block</pre><p>End</p></body>`)
	if err != nil {
		t.Fatal(err)
	}
	base, _ := url.Parse("https://example.com/")
	r, err := Extract(doc, base, Options{ContentSelector: "body"})
	if err != nil {
		t.Fatal(err)
	}
	want := "Title\n\nOne bold word.\nNext line.\n\na\nb\n\nx\ty\nz\tw\n\n  code\n  block\n\nEnd"
	if r.Text != want {
		t.Errorf("text:\n%q\nwant\n%q", r.Text, want)
	}
}

// FuzzExtract checks that no page makes extraction panic or exceed its
// output bounds.
func FuzzExtract(f *testing.F) {
	for _, s := range []string{
		"<p>x",
		`<table><tr><td colspan=9999999999>a<table><tr><td rowspan=-3>b</table></table>`,
		`<base href="javascript:x"><a href="../a_b">l_m</a><img src="//x/y">`,
		`<html><frameset><frame></frameset></html>`,
		`<svg><foreignObject><p>t</p></foreignObject></svg><math><mi>x</mi></math>`,
		"<details hidden><summary>q</summary>a</details><pre>\n\n```\n</pre>",
	} {
		f.Add(s, "p", "")
		f.Add(s, "", "td")
	}
	f.Fuzz(func(t *testing.T, page, sel, excl string) {
		doc, err := Parse(page)
		if err != nil {
			return
		}
		base, _ := url.Parse("https://example.com/a/b")
		r, err := Extract(doc, base, Options{ContentSelector: sel, ExcludeSelector: excl})
		if err != nil {
			return
		}
		if len(r.Markdown) > MaxOutputBytes || len(r.Text) > MaxOutputBytes || r.Coverage < 0 || r.Coverage > 1 {
			t.Errorf("out of bounds: %d, %d bytes, coverage %v", len(r.Markdown), len(r.Text), r.Coverage)
		}
	})
}
