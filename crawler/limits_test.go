package crawler

import (
	"fmt"
	"runtime"
	"strings"
	"testing"
	"unicode/utf8"
)

// basePage is the page that made a 1.6 GB output line: a long <base href>
// and many short, distinct links, each of which resolves to a URL as long
// as the base. svg adds an <svg>, at which the token pass hands over to
// the tree walk.
func basePage(baseLen, links int, svg bool) string {
	var b strings.Builder
	fmt.Fprintf(&b, `<html><head><base href="http://h.test/%s/"></head><body>`, strings.Repeat("b", baseLen))
	if svg {
		b.WriteString(`<svg><title>icon</title></svg>`)
	}
	for i := range links {
		fmt.Fprintf(&b, `<a href=%d>x</a>`, i)
	}
	return b.String()
}

// extractPaths are the three ways a page is extracted: the token pass,
// the tree walk after the token pass met an <svg>, and the tree walk for
// --select.
var extractPaths = []struct {
	name string
	svg  bool
	sels []Selector
}{
	{"tokens", false, nil},
	{"svg fallback", true, nil},
	{"tree for --select", false, []Selector{{Name: "t", CSS: "title"}}},
}

// allocated returns the bytes fn allocates.
func allocated(fn func()) uint64 {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	fn()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

// The reproduction: the links kept, the bytes they take and the memory
// allocated to find them are bounded by the page's budget, and the page
// says its links were cut. With a base longer than MaxURLLength, every
// link is dropped, and counted, without the cost of resolving it.
func TestExtractBoundsLinksOfALongBase(t *testing.T) {
	const links = 20_000
	for _, baseLen := range []int{7 << 10, 9 << 10} {
		for _, path := range extractPaths {
			t.Run(fmt.Sprintf("%s/base of %d KiB", path.name, baseLen>>10), func(t *testing.T) {
				doc := basePage(baseLen, links, path.svg)
				budget := PageBudget(int64(len(doc)))
				var p Page
				var err error
				alloc := allocated(func() {
					p, err = ExtractWithLimits(strings.NewReader(doc), nil, path.sels, Limits{MaxLinkBytes: budget})
				})
				if err != nil {
					t.Fatal(err)
				}
				total := 0
				for _, l := range p.Links {
					total += len(l)
				}
				switch {
				case baseLen < MaxURLLength && (!p.LinksTruncated || total > budget || len(p.Links) == 0 || p.LinksDropped != 0):
					t.Errorf("%d links of %d bytes kept, truncated %v, %d dropped; want at most %d bytes, truncated", len(p.Links), total, p.LinksTruncated, p.LinksDropped, budget)
				case baseLen > MaxURLLength && (len(p.Links) != 0 || p.LinksDropped != links || p.LinksTruncated):
					t.Errorf("%d links kept, %d dropped, truncated %v; want all %d dropped", len(p.Links), p.LinksDropped, p.LinksTruncated, links)
				}
				// The page, its tree, the hrefs, and links resolved within
				// four times the budget: about 10 MiB; 20,000 links of 7 KiB
				// are 140 MiB.
				if limit := uint64(len(doc) + 12*budget); alloc > limit {
					t.Errorf("extraction allocated %d MiB for a %d KiB page, want at most %d MiB", alloc>>20, len(doc)>>10, limit>>20)
				}
			})
		}
	}
}

func TestExtractKeepsAtMostMaxLinks(t *testing.T) {
	for _, path := range extractPaths {
		t.Run(path.name, func(t *testing.T) {
			doc := basePage(1, 50, path.svg)
			p, err := ExtractWithLimits(strings.NewReader(doc), nil, path.sels, Limits{MaxLinks: 10})
			if err != nil {
				t.Fatal(err)
			}
			if len(p.Links) != 10 || !p.LinksTruncated || p.Links[9] != "http://h.test/b/9" {
				t.Errorf("got %d links (truncated %v): %v; want the first 10", len(p.Links), p.LinksTruncated, p.Links)
			}
			p, err = ExtractWithLimits(strings.NewReader(doc), nil, path.sels, Limits{MaxLinks: 50})
			if err != nil || len(p.Links) != 50 || p.LinksTruncated {
				t.Errorf("at the limit: %d links, truncated %v, err %v; want 50, not truncated", len(p.Links), p.LinksTruncated, err)
			}
		})
	}
}

// Links longer than MaxURLLength are left out and counted; those that the
// base's length does not reach are kept; hrefs that are no links are not
// counted.
func TestExtractDropsLongLinks(t *testing.T) {
	long := strings.Repeat("x", MaxURLLength)
	doc := fmt.Sprintf(`<base href="http://h.test/%s/dir/"><a href="rel">1</a><a href="?q">2</a>`+
		`<a href="/abs">3</a><a href="//o.test/p">4</a><a href="http://o.test/%s">5</a>`+
		`<a href="javascript:%s">6</a><a href="http://o.test/short">7</a><a href="data:text/plain,%s">8</a><a href="">9</a>`, long, long, long, long)
	for _, path := range extractPaths {
		t.Run(path.name, func(t *testing.T) {
			doc := doc
			if path.svg {
				doc += "<svg></svg>"
			}
			p, err := ExtractWithLimits(strings.NewReader(doc), nil, path.sels, Limits{})
			if err != nil {
				t.Fatal(err)
			}
			want := "[http://h.test/abs http://o.test/p http://o.test/short]"
			if fmt.Sprint(p.Links) != want || p.LinksDropped != 3 || p.LinksTruncated {
				t.Errorf("links %v, dropped %d, truncated %v; want %s, 3 dropped (rel, ?q, the long absolute one)",
					p.Links, p.LinksDropped, p.LinksTruncated, want)
			}
		})
	}
	// A link of exactly MaxURLLength bytes is kept.
	exact := "http://o.test/" + strings.Repeat("y", MaxURLLength-len("http://o.test/"))
	p, err := Extract(strings.NewReader(`<a href="`+exact+`">x</a>`), nil, nil)
	if err != nil || len(p.Links) != 1 || p.LinksDropped != 0 {
		t.Errorf("a link of %d bytes: links %d, dropped %d, err %v; want it kept", len(exact), len(p.Links), p.LinksDropped, err)
	}
}

func TestSelectKeepsAtMostMaxMatches(t *testing.T) {
	doc := strings.Repeat("<p class=c data-v=v>text</p>", 30)
	sels := []Selector{{Name: "text", CSS: "p"}, {Name: "attr", CSS: ".c", Attr: "data-v"}}
	p, err := ExtractWithLimits(strings.NewReader(doc), nil, sels, Limits{MaxMatches: 10})
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Fields["text"]) != 10 || len(p.Fields["attr"]) != 10 || !p.FieldsTruncated {
		t.Errorf("got %d and %d values, truncated %v; want 10 each, truncated", len(p.Fields["text"]), len(p.Fields["attr"]), p.FieldsTruncated)
	}
	p, err = ExtractWithLimits(strings.NewReader(doc), nil, sels, Limits{MaxMatches: 30})
	if err != nil || len(p.Fields["text"]) != 30 || p.FieldsTruncated {
		t.Errorf("at the limit: %d values, truncated %v, err %v", len(p.Fields["text"]), p.FieldsTruncated, err)
	}
}

// The values of all selectors share one byte budget: the value that
// passes it is cut at a character boundary and later ones are left out,
// and the text of nested matches ("*" over deep markup, quadratic in the
// page) costs no more memory than the budget.
func TestSelectBoundsFieldBytes(t *testing.T) {
	const budget = 64 << 10
	deep := strings.Repeat("<div>"+strings.Repeat("é ", 20), 500) + strings.Repeat("</div>", 500)
	var p Page
	var err error
	alloc := allocated(func() {
		p, err = ExtractWithLimits(strings.NewReader(deep), nil, []Selector{{Name: "all", CSS: "*"}, {Name: "div", CSS: "div"}}, Limits{MaxFieldBytes: budget})
	})
	if err != nil {
		t.Fatal(err)
	}
	total := 0
	for _, vs := range p.Fields {
		for _, v := range vs {
			total += len(v)
			if !utf8.ValidString(v) {
				t.Fatalf("value cut inside a character: ...%q", v[max(0, len(v)-4):])
			}
		}
	}
	if total > budget || total < budget-8 || !p.FieldsTruncated {
		t.Errorf("values of %d bytes, truncated %v; want just under %d, truncated", total, p.FieldsTruncated, budget)
	}
	if _, ok := p.Fields["div"]; !ok {
		t.Error("the second selector has no entry")
	}
	// The page is 30 KB; "*" alone would build 500 texts of up to 30 KB
	// (7.5 MB) without the budget.
	if limit := uint64(4 << 20); alloc > limit {
		t.Errorf("extraction allocated %d KiB, want at most %d KiB", alloc>>10, limit>>10)
	}
}

func TestPageBudget(t *testing.T) {
	for in, want := range map[int64]int{0: 6 << 20, 100: 1 << 20, 1 << 20: 4 << 20, 10 << 20: 6 << 20, 1 << 40: 6 << 20} {
		if got := PageBudget(in); got != want {
			t.Errorf("PageBudget(%d) = %d, want %d", in, got, want)
		}
	}
}

// A value cut by the budget is valid UTF-8 and a prefix of the text, even
// where whitespace collapses near the cut.
func TestSelectCutsAtACharacter(t *testing.T) {
	for budget := 1; budget <= 12; budget++ {
		p, err := ExtractWithLimits(strings.NewReader("<p>a  é  b   éé</p><p>next</p>"), nil, []Selector{{Name: "p", CSS: "p"}}, Limits{MaxFieldBytes: budget})
		if err != nil {
			t.Fatal(err)
		}
		v := p.Fields["p"][0]
		if !utf8.ValidString(v) || !strings.HasPrefix("a é b éé", v) || len(v) > budget || len(v) < budget-1 || !p.FieldsTruncated {
			t.Errorf("budget %d: value %q, truncated %v; want a prefix of %q, valid UTF-8, cut within a byte of the budget", budget, v, p.FieldsTruncated, "a é b éé")
		}
	}
}

func TestExtractDropsALongCanonical(t *testing.T) {
	long := "http://h.test/" + strings.Repeat("c", MaxURLLength)
	for _, path := range extractPaths {
		for href, want := range map[string]string{long: "", "/short": "http://h.test/short"} {
			doc := `<base href="http://h.test/"><link rel=canonical href="` + href + `">`
			if path.svg {
				doc += "<svg></svg>"
			}
			p, err := ExtractWithLimits(strings.NewReader(doc), nil, path.sels, Limits{})
			if err != nil || p.Canonical != want {
				t.Errorf("%s: canonical of %d bytes = %.40q, err %v; want %q", path.name, len(href), p.Canonical, err, want)
			}
		}
	}
}
