package crawler

import (
	"bytes"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/trawl-dev/trawl/content"
)

// contentBase is the URL the golden pages are taken to come from.
const contentBase = "https://example.com/docs/guide/page.html"

// extractFile decodes the page in file as trawl decodes a text/html body
// without a charset, and extracts its main content.
func extractFile(t *testing.T, file string, opts ContentOptions) content.Result {
	t.Helper()
	raw, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	body := DecodeBytes(raw, "text/html")
	base, _ := url.Parse(contentBase)
	res, err := ExtractContent(body.Reader, base, opts)
	if err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	return res
}

// goldenForm is how a result is written in a golden file.
func goldenForm(r content.Result) string {
	return fmt.Sprintf("method: %s\ncoverage: %.2f\nbyline: %s\npublished_time: %s\nsite_name: %s\nword_count: %d\n--- markdown ---\n%s\n--- text ---\n%s\n",
		r.Method, r.Coverage, r.Byline, r.PublishedTime, r.SiteName, r.WordCount, r.Markdown, r.Text)
}

// TestContentGolden extracts the main content of small pages of different
// kinds (article, docs with code, pricing table, FAQ, product grid, forum
// thread, Japanese, windows-1251) and compares it with the golden files
// (go test ./crawler -run TestContentGolden -update rewrites them).
func TestContentGolden(t *testing.T) {
	pages, err := filepath.Glob("testdata/content/*.html")
	if err != nil || len(pages) < 8 {
		t.Fatalf("golden pages: %v (%d)", err, len(pages))
	}
	for _, page := range pages {
		name := strings.TrimSuffix(filepath.Base(page), ".html")
		t.Run(name, func(t *testing.T) {
			got := goldenForm(extractFile(t, page, ContentOptions{Enabled: true}))
			golden := strings.TrimSuffix(page, ".html") + ".golden"
			if *update {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run with -update to write it)", err)
			}
			if got != string(want) {
				t.Errorf("%s differs from %s:\n%s", page, golden, got)
			}
		})
	}
}

// TestContentProperties checks what the golden files show, so that an
// -update cannot bless a regression: absolute links, no over-escaped
// underscores, the coverage fallback on non-article pages, tables,
// reference links.
func TestContentProperties(t *testing.T) {
	art := extractFile(t, "testdata/content/article.html", ContentOptions{Enabled: true})
	for _, want := range []string{
		"[pools]", "\n[pools]: https://example.com/glossary#pool",
		"![Sugar kelp at low tide](https://example.com/docs/guide/images/kelp.jpg)",
		"[annual report]", "\n[annual report]: https://example.com/docs/reports/2025.pdf",
		"tide_height", "snake_case",
	} {
		if !strings.Contains(art.Markdown, want) {
			t.Errorf("article markdown lacks %q:\n%s", want, art.Markdown)
		}
	}
	if art.Method != content.MethodReadability || strings.Contains(art.Markdown, "All rights reserved") || strings.Contains(art.Markdown, "Ten best beaches") {
		t.Errorf("article: method %s, markdown keeps boilerplate:\n%s", art.Method, art.Markdown)
	}
	if art.Byline != "Mara Quint" || art.SiteName != "Coastal Notes" || art.PublishedTime != "2026-03-04T08:30:00Z" {
		t.Errorf("article metadata: %q %q %q", art.Byline, art.SiteName, art.PublishedTime)
	}
	if !strings.Contains(art.Text, "harbour office.\n\nThe notebook") {
		t.Errorf("article text: paragraphs not separated by a blank line:\n%s", art.Text)
	}

	docs := extractFile(t, "testdata/content/docs.html", ContentOptions{Enabled: true})
	for _, want := range []string{"```toml\n[loader]\nmax_workers = 4", "| Key | Default | Meaning |", "`WIDGET_MAX_WORKERS`", "]: https://example.com/docs/guide/install#upgrade"} {
		if !strings.Contains(docs.Markdown, want) {
			t.Errorf("docs markdown lacks %q:\n%s", want, docs.Markdown)
		}
	}

	// Readability keeps only the blurb at the bottom of a one-page site
	// (a fifth of its text): the coverage guard takes the cleaned page.
	one := extractFile(t, "testdata/content/onepage.html", ContentOptions{Enabled: true})
	if one.Method != content.MethodPage || !strings.Contains(one.Markdown, "Dimmable") || !strings.Contains(one.Markdown, "Gift card") || !strings.Contains(one.Markdown, "workshop by the canal") {
		t.Errorf("one-page site: method %s, coverage %.2f:\n%s", one.Method, one.Coverage, one.Markdown)
	}
	// Readability keeps the footer of the product grid, which cleaning
	// empties: the cleaned page is taken instead.
	products := extractFile(t, "testdata/content/products.html", ContentOptions{Enabled: true})
	if products.Method != content.MethodPage || products.Coverage < 0.99 {
		t.Errorf("products: method %s, coverage %.2f, want the cleaned page", products.Method, products.Coverage)
	}
	for _, want := range []string{"Speckled mug", "£24", "### [Espresso cups, pair]\n", "\n[Espresso cups, pair]: https://example.com/p/espresso-pair"} {
		if !strings.Contains(products.Markdown, want) {
			t.Errorf("products markdown lacks %q:\n%s", want, products.Markdown)
		}
	}
	for _, page := range []string{"pricing", "faq", "products"} {
		r := extractFile(t, "testdata/content/"+page+".html", ContentOptions{Enabled: true})
		if strings.Contains(r.Markdown, "Log in") || strings.Contains(r.Markdown, "Cart (0)") || strings.Contains(r.Markdown, "Home") {
			t.Errorf("%s: navigation kept:\n%s", page, r.Markdown)
		}
	}
	pricing := extractFile(t, "testdata/content/pricing.html", ContentOptions{Enabled: true})
	for _, want := range []string{"$19 / month", "| Audit log | – | 30 days | 1 year |", "Prices exclude VAT."} {
		if !strings.Contains(pricing.Markdown, want) {
			t.Errorf("pricing markdown lacks %q:\n%s", want, pricing.Markdown)
		}
	}
	if n := strings.Count(pricing.Markdown, "|"); n > 30 {
		t.Errorf("pricing: colspan=99999 made a table of %d cell borders", n)
	}
	faq := extractFile(t, "testdata/content/faq.html", ContentOptions{Enabled: true})
	for _, want := range []string{"How long does delivery take?", "Two working days", "Do you deliver on Sundays?"} {
		if !strings.Contains(faq.Markdown, want) {
			t.Errorf("faq markdown lacks %q:\n%s", want, faq.Markdown)
		}
	}
	cyr := extractFile(t, "testdata/content/cyrillic-1251.html", ContentOptions{Enabled: true})
	if !strings.Contains(cyr.Text, "Мёд — один из немногих продуктов") {
		t.Errorf("windows-1251 page not decoded:\n%s", cyr.Text)
	}
	ja := extractFile(t, "testdata/content/japanese.html", ContentOptions{Enabled: true})
	if !strings.Contains(ja.Markdown, "京都には昭和の初めから続く喫茶店") || ja.WordCount < 100 {
		t.Errorf("japanese: %d words:\n%s", ja.WordCount, ja.Markdown)
	}
}

// TestContentSelectors checks --content-selector (the matches are the
// content, method "selector") and --exclude-selector (matches removed
// first).
func TestContentSelectors(t *testing.T) {
	r := extractFile(t, "testdata/content/forum.html", ContentOptions{Enabled: true, ContentSelector: ".post .body"})
	if r.Method != content.MethodSelector {
		t.Errorf("method %s, want selector", r.Method)
	}
	if !strings.Contains(r.Markdown, "Since November") || !strings.Contains(r.Markdown, "oven light trick") || strings.Contains(r.Markdown, "crumbcoat") || strings.Contains(r.Markdown, "Bread won't rise") {
		t.Errorf("selector content:\n%s", r.Markdown)
	}
	r = extractFile(t, "testdata/content/article.html", ContentOptions{Enabled: true, ExcludeSelector: "blockquote, ul"})
	if strings.Contains(r.Markdown, "We never planted") || strings.Contains(r.Markdown, "Bladderwrack, in the upper pools") || !strings.Contains(r.Markdown, "Every spring") {
		t.Errorf("exclude-selector content:\n%s", r.Markdown)
	}
	base, _ := url.Parse(contentBase)
	if _, err := ExtractContent(strings.NewReader("<p>x"), base, ContentOptions{Enabled: true, ContentSelector: "p["}); !errors.Is(err, content.ErrSelector) {
		t.Errorf("bad selector: %v, want ErrSelector", err)
	}
}

// TestContentBounded checks that a hostile page costs bounded work and
// output: a table of 30,000 rows with huge spans is looked at in its first
// [content.MaxElements] elements and its spans cut to the table's width;
// megabytes of text are cut at [content.MaxOutputBytes].
func TestContentBounded(t *testing.T) {
	base, _ := url.Parse(contentBase)
	var b bytes.Buffer
	b.WriteString("<table>")
	for i := 0; i < 30000; i++ {
		b.WriteString(`<tr><td colspan="1000" rowspan="65000">x</td><td>y_z</td></tr>`)
	}
	b.WriteString("</table>")
	r, err := ExtractContent(&b, base, ContentOptions{Enabled: true})
	if err != nil {
		t.Fatal(err)
	}
	rows := strings.Count(r.Markdown, "\n") + 1
	if rows > content.MaxElements/3 || rows < 100 {
		t.Errorf("table of %d lines, want between 100 and %d (elements looked at)", rows, content.MaxElements/3)
	}
	// Colspans are cut to the width (2), rowspans to MaxSpan: cells
	// pushed right by the rows above make at most 2×(MaxSpan+1) columns.
	if first, _, _ := strings.Cut(r.Markdown, "\n"); strings.Count(first, "|") > 2*(content.MaxSpan+1)+1 {
		t.Errorf("spans not cut: first row %q", first)
	}
	if len(r.Markdown) > content.MaxOutputBytes {
		t.Errorf("markdown of %d bytes", len(r.Markdown))
	}

	b.Reset()
	b.WriteString("<article><p>")
	b.WriteString(strings.Repeat("word ", 1<<20))
	b.WriteString("</p><p>")
	b.WriteString(strings.Repeat("more ", 1<<20))
	b.WriteString("</p></article>")
	r, err = ExtractContent(&b, base, ContentOptions{Enabled: true})
	if err != nil {
		t.Fatal(err)
	}
	for name, out := range map[string]string{"markdown": r.Markdown, "text": r.Text} {
		if len(out) > content.MaxOutputBytes || len(out) < content.MaxOutputBytes/2 {
			t.Errorf("%s of %d bytes, want at most %d and at least half of it", name, len(out), content.MaxOutputBytes)
		}
	}
}

// TestContentCleaned: control characters and invalid UTF-8 in a page do
// not reach the content fields of its record.
func TestContentCleaned(t *testing.T) {
	base, _ := url.Parse(contentBase)
	c, err := ExtractContent(strings.NewReader("<meta name=author content='A\x1bB'><article><p>bell\x07 and esc\x1b[31m red\x7f, bad \xff byte</p></article>"), base, ContentOptions{Enabled: true})
	if err != nil {
		t.Fatal(err)
	}
	p := newPageContent(c)
	for name, v := range map[string]string{"markdown": p.Markdown, "text": p.Text, "byline": p.Byline} {
		if v != CleanText(v) || strings.ContainsAny(v, "\x07\x1b\x7f") {
			t.Errorf("%s not cleaned: %q", name, v)
		}
	}
	if !strings.Contains(p.Text, "bell and esc[31m red, bad \uFFFD byte") {
		t.Errorf("text = %q", p.Text)
	}
}
