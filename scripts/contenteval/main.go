// Command contenteval measures main-content extraction on the evaluation
// corpus (../shared/corpus, see its README): precision, recall and F1 of
// trawl's markdown and text, of readability alone and of the whole page
// converted to Markdown. scripts/content-eval.sh runs it.
//
//	contenteval -meta dev.jsonl -pages DIR
//
// DIR holds the pages of the split as the corpus archive lays them out
// (DIR/dev/<file>).
package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	readability "codeberg.org/readeck/go-readability/v2"
	htmltomarkdown "github.com/JohannesKaufmann/html-to-markdown/v2"
	"golang.org/x/net/html"

	"github.com/trawl-dev/trawl/content"
	"github.com/trawl-dev/trawl/crawler"
)

// page is one line of the corpus metadata.
type page struct {
	URL     string   `json:"url"`
	File    string   `json:"file"`
	With    []string `json:"with"`
	Without []string `json:"without"`
}

// score counts snippets found and missed.
type score struct {
	tp, fn, fp, tn int
	elapsed        time.Duration
}

func (s *score) add(out string, p page, markdown bool) {
	norm := func(t string) string {
		if markdown {
			t = strings.Map(func(r rune) rune {
				if strings.ContainsRune("\\*_`#>|[]", r) {
					return -1
				}
				return r
			}, t)
		}
		return strings.Join(strings.Fields(t), " ")
	}
	o := norm(out)
	for _, w := range p.With {
		if strings.Contains(o, norm(w)) {
			s.tp++
		} else {
			s.fn++
		}
	}
	for _, w := range p.Without {
		if strings.Contains(o, norm(w)) {
			s.fp++
		} else {
			s.tn++
		}
	}
}

func (s score) String() string {
	p := float64(s.tp) / float64(max(1, s.tp+s.fp))
	r := float64(s.tp) / float64(max(1, s.tp+s.fn))
	f := 0.0
	if p+r > 0 {
		f = 2 * p * r / (p + r)
	}
	return fmt.Sprintf("precision %.3f  recall %.3f  F1 %.3f  (F1 %.4f; tp %d fp %d fn %d tn %d; %.1f ms/page)",
		p, r, f, f, s.tp, s.fp, s.fn, s.tn, float64(s.elapsed.Microseconds())/1000)
}

func main() {
	meta := flag.String("meta", "", "corpus metadata, JSON Lines (dev.jsonl or holdout.jsonl)")
	pages := flag.String("pages", "", "directory the pages archive was unpacked into")
	cov := flag.Float64("min-coverage", content.MinCoverage, "coverage below which the cleaned page replaces readability's choice")
	short := flag.Int("short", content.ShortContent, "length below which readability's choice must also cover -min-coverage")
	prune := flag.Bool("prune", content.PruneBoilerplate, "remove elements named as boilerplate first")
	ld := flag.Float64("link-density", content.LinkDensity, "share of link text of the blocks of readability's choice removed as lists of links")
	ldl := flag.Int("link-max", content.LinkMaxLen, "length below which a block of links is removed")
	pd := flag.Float64("discard-share", content.DiscardShare, "share of the page's text below which an element with a boilerplate class (trafilatura's rules) is removed")
	verbose := flag.Bool("v", false, "list, per page, the snippets trawl's markdown gets wrong")
	flag.Parse()
	if *meta == "" || *pages == "" {
		fmt.Fprintln(os.Stderr, "usage: contenteval -meta FILE.jsonl -pages DIR")
		os.Exit(2)
	}
	content.MinCoverage = *cov
	content.ShortContent = *short
	content.PruneBoilerplate = *prune
	content.DiscardShare = *pd
	content.LinkDensity, content.LinkMaxLen = *ld, *ldl
	if err := run(*meta, *pages, *verbose); err != nil {
		fmt.Fprintln(os.Stderr, "contenteval:", err)
		os.Exit(1)
	}
}

func run(meta, dir string, verbose bool) error {
	f, err := os.Open(meta)
	if err != nil {
		return err
	}
	defer f.Close()
	split := strings.TrimSuffix(filepath.Base(meta), ".jsonl")
	var trawlMD, trawlRendered, trawlText, read, whole, wholeRendered score
	methods := map[string]int{}
	n := 0
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<24)
	for sc.Scan() {
		var p page
		if err := json.Unmarshal(sc.Bytes(), &p); err != nil {
			return fmt.Errorf("%s: %w", meta, err)
		}
		raw, err := os.ReadFile(filepath.Join(dir, split, p.File))
		if errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("page %s missing under %s: %w", p.File, dir, err)
		} else if err != nil {
			return err
		}
		n++
		base, _ := url.Parse(p.URL)
		utf8, err := decode(raw)
		if err != nil {
			return fmt.Errorf("%s: %w", p.File, err)
		}

		start := time.Now()
		c, err := crawler.ExtractContent(bytes.NewReader(utf8), base, crawler.ContentOptions{Enabled: true})
		trawlMD.elapsed += time.Since(start)
		if err != nil {
			fmt.Fprintf(os.Stderr, "%s: %v\n", p.File, err)
		}
		methods[c.Method]++
		trawlMD.add(c.Markdown, p, true)
		trawlRendered.add(rendered(c.Markdown), p, false)
		trawlText.add(c.Text, p, false)
		if verbose {
			for _, w := range p.With {
				var s score
				s.add(c.Markdown, page{With: []string{w}}, true)
				var st score
				st.add(c.Text, page{With: []string{w}}, false)
				if s.fn > 0 && st.tp > 0 {
					fmt.Printf("MDONLY\t%s\t%q\n", p.File, w)
				}
				if s.fn > 0 {
					fmt.Printf("FN\t%s\t%s\t%.2f\t%q\n", p.File, c.Method, c.Coverage, w)
				}
			}
			for _, w := range p.Without {
				var s score
				s.add(c.Markdown, page{Without: []string{w}}, true)
				if s.fp > 0 {
					fmt.Printf("FP\t%s\t%s\t%.2f\t%q\n", p.File, c.Method, c.Coverage, w)
					var st score
					st.add(c.Text, page{Without: []string{w}}, false)
					if st.fp == 0 {
						fmt.Printf("FPMDONLY\t%s\t%q\n", p.File, w)
					}
				}
			}
		}

		start = time.Now()
		var text string
		if a, err := readability.FromReader(bytes.NewReader(utf8), base); err == nil && a.Node != nil {
			var b strings.Builder
			_ = a.RenderText(&b)
			text = b.String()
		}
		read.elapsed += time.Since(start)
		read.add(text, p, false)

		start = time.Now()
		doc, err := html.Parse(bytes.NewReader(utf8))
		md := ""
		if err == nil {
			b, _ := htmltomarkdown.ConvertNode(doc)
			md = string(b)
		}
		whole.elapsed += time.Since(start)
		whole.add(md, p, true)
		wholeRendered.add(rendered(md), p, false)
	}
	if err := sc.Err(); err != nil {
		return err
	}
	for _, s := range []*score{&trawlMD, &read, &whole} {
		s.elapsed /= time.Duration(max(n, 1))
	}
	fmt.Printf("%s: %d pages, trawl methods %v (min coverage %.2f)\n", split, n, methods, content.MinCoverage)
	fmt.Printf("  trawl markdown        %s\n", trawlMD)
	trawlRendered.elapsed = trawlMD.elapsed
	fmt.Printf("  ... rendered          %s\n", trawlRendered)
	trawlText.elapsed = trawlMD.elapsed
	fmt.Printf("  trawl text            %s\n", trawlText)
	fmt.Printf("  readability alone     %s\n", read)
	fmt.Printf("  whole page markdown   %s\n", whole)
	wholeRendered.elapsed = whole.elapsed
	fmt.Printf("  ... rendered          %s\n", wholeRendered)
	return nil
}

// decode returns the page as UTF-8, decoded as trawl decodes a page
// served as text/html without a charset.
func decode(raw []byte) ([]byte, error) {
	body := crawler.DecodeBytes(raw, "text/html")
	return io.ReadAll(body.Reader)
}
