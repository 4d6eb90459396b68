package crawler

import (
	"bytes"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"
)

// deepPage is a page with a title, a description, a link before and
// after, and n nested elements of tag (600 is past the HTML parser's limit
// of 512 open elements) holding a link and some text at the bottom.
func deepPage(tag string, n int) string {
	var b strings.Builder
	b.WriteString(`<!DOCTYPE html><html><head><title>Deep page</title><meta name="description" content="very deep"></head>`)
	b.WriteString(`<body><h1>Top</h1><p class="x">before</p><a href="/before">before</a>`)
	for i := range n {
		fmt.Fprintf(&b, `<%s id="l%d">`, tag, i)
	}
	b.WriteString(`<a href="/deep">deep</a> bottom text`)
	for range n {
		fmt.Fprintf(&b, `</%s>`, tag)
	}
	b.WriteString(`<p class="x">after</p><a href="/after">after</a></body></html>`)
	return b.String()
}

// TestExtractDeepNesting runs pages nested 600 levels deep in <svg> and in
// <div> through the extraction the pipeline does, without and with
// --select: the record has the page's fields and links instead of a
// decode error.
func TestExtractDeepNesting(t *testing.T) {
	sel, err := ParseSelector("x=p.x")
	if err != nil {
		t.Fatal(err)
	}
	for _, tag := range []string{"svg", "div"} {
		srv := serve(t, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			w.Write([]byte(deepPage(tag, 600)))
		})
		f := newTestFetcher(t, Config{IgnoreRobots: true})
		resp, err := f.Fetch(t.Context(), srv.URL+"/")
		if err != nil {
			t.Fatal(err)
		}
		for name, sels := range map[string][]Selector{"default fields": nil, "--select": {sel}} {
			t.Run(tag+" "+name, func(t *testing.T) {
				res := NewResult(Request{URL: srv.URL + "/"}, resp, nil, time.Now())
				extractInto(res, resp, sels, Limits{}, Extras{})
				if res.Error != nil {
					t.Fatalf("error %+v", res.Error)
				}
				if res.Title != "Deep page" || res.Description != "very deep" || res.H1 != "Top" {
					t.Errorf("title %q description %q h1 %q", res.Title, res.Description, res.H1)
				}
				want := []string{srv.URL + "/before", srv.URL + "/deep", srv.URL + "/after"}
				if !slices.Equal(res.Links, want) {
					t.Errorf("links %q, want %q", res.Links, want)
				}
				if sels != nil && !slices.Equal(res.Fields["x"], []string{"before", "after"}) {
					t.Errorf("fields %q, want x = [before after]", res.Fields)
				}
			})
		}
	}
}

func TestCutDeep(t *testing.T) {
	tests := []struct{ in, want string }{
		{"<div><div><div>x</div></div></div>", "<div><div>x</div></div>"},
		{"<div><p><b>x<i>y</i></b></p></div>", "<div><p>xy</p></div>"},
		// Stray end tags do not make room: the parser ignores them.
		{"<div></span><div></span><div>x", "<div></span><div></span>x"},
		// An end tag past a special element is ignored, as the parser
		// does: the <table> stays open.
		{"<div><table></div><div>x", "<div><table></div>x"},
		// Formatting elements closed by another's end tag may reopen.
		{"<p><b></p><div><div>x", "<p><b></p><div>x"},
		// Links, void and raw text elements are always kept.
		{"<div><div><a href=/a>a</a><br><script>'<div>'</script>", "<div><div><a href=/a>a</a><br><script>'<div>'</script>"},
	}
	for _, tt := range tests {
		if got := string(cutDeep([]byte(tt.in), 2)); got != tt.want {
			t.Errorf("cutDeep(%q, 2) = %q, want %q", tt.in, got, tt.want)
		}
	}
	src := []byte(deepPage("svg", 40))
	if got := cutDeep(src, 100); !bytes.Equal(got, src) {
		t.Errorf("a page within the limit changed:\n%s", got)
	}
}

// TestExtractTooDeepEvenCut: a page whose nesting the cut does not see
// (an SVG <style> is not raw text to the parser, so the 600 <g> in it
// nest) still gets its title and links from the token pass, and its
// selectors match nothing.
func TestExtractTooDeepEvenCut(t *testing.T) {
	page := `<title>T</title><a href="/a">a</a><svg><style>` + strings.Repeat("<g>", 600) +
		`</style></svg><h1>H</h1><p class="x">p</p><a href="/b">b</a>`
	base, _ := ParseURL("http://example.com/")
	sel, err := ParseSelector("x=p.x")
	if err != nil {
		t.Fatal(err)
	}
	for name, sels := range map[string][]Selector{"default fields": nil, "--select": {sel}} {
		p, err := Extract(strings.NewReader(page), base, sels)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if p.Title != "T" || p.H1 != "H" || !slices.Equal(p.Links, []string{"http://example.com/a", "http://example.com/b"}) {
			t.Errorf("%s: title %q h1 %q links %q", name, p.Title, p.H1, p.Links)
		}
		if sels != nil && (p.Fields == nil || len(p.Fields["x"]) != 0 || p.Fields["x"] == nil) {
			t.Errorf("%s: fields %q, want x = []", name, p.Fields)
		}
	}
}

// TestCutDeepLinear: a page of many open elements followed by many end
// tags that close none of them costs the cut steps in proportion to its
// size, not to the product of the two (each end tag used to scan the
// whole stack: 1 MB of such markup took minutes, a 10 MiB body hours).
// The steps are counted, not timed; the whole extraction still keeps
// what comes before the deep part.
func TestCutDeepLinear(t *testing.T) {
	sel, err := ParseSelector("x=p")
	if err != nil {
		t.Fatal(err)
	}
	const n = 10_000 // a quadratic scan: 50M steps
	for name, page := range map[string]string{
		"span":  "<body><p>first</p>" + strings.Repeat("<span>", n) + strings.Repeat("</b>", n),
		"svg":   "<body><p>first</p><svg>" + strings.Repeat("<g>", n) + strings.Repeat("</b>", n) + "</svg>",
		"close": "<body><p>first</p>" + strings.Repeat("<b><i>", n/2) + strings.Repeat("</b>", n/2),
	} {
		// Tokens: 2n tags and a few more. Each element is pushed once and
		// looked at a bounded number of times after that.
		if _, steps := cutDeepSteps([]byte(page), cutDepth); steps > 5*n {
			t.Errorf("%s: %d open elements and %d end tags took %d steps, want at most %d", name, n, n, steps, 5*n)
		}
		p, err := Extract(strings.NewReader(page), nil, []Selector{sel})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if !slices.Equal(p.Fields["x"], []string{"first"}) {
			t.Errorf("%s: fields %q, want x = [first]", name, p.Fields)
		}
	}
}
