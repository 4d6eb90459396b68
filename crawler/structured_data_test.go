package crawler

import (
	"bytes"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"
)

// allExtras asks for every opt-in field.
var allExtras = Extras{HTML: true, Headers: true, JSONLD: true, OpenGraph: true, Meta: true, Images: true, RobotsMeta: true}

// dataOf returns the structured data of the page src at base.
func dataOf(t *testing.T, src, base string, lim Limits, extras Extras) PageData {
	t.Helper()
	doc, err := goquery.NewDocumentFromReader(strings.NewReader(src))
	if err != nil {
		t.Fatal(err)
	}
	u, err := ParseURL(base)
	if err != nil {
		t.Fatal(err)
	}
	return ExtractData(doc, u, lim, extras)
}

// asJSON is v encoded, for comparing values read from JSON.
func asJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestJSONLD(t *testing.T) {
	for _, tc := range []struct {
		name, page string
		want       string // the jsonld field as JSON
		wantErrs   []int  // indexes of the blocks in jsonld_errors
	}{
		{"object", `<script type="application/ld+json">{"@type":"Article","name":"A"}</script>`,
			`[{"@type":"Article","name":"A"}]`, nil},
		{"array flattened", `<script type="application/ld+json">[{"@type":"A"},{"@type":"B"}]</script><script type="application/ld+json">{"@type":"C"}</script>`,
			`[{"@type":"A"},{"@type":"B"},{"@type":"C"}]`, nil},
		{"graph kept as written", `<script type="application/ld+json">{"@context":"https://schema.org","@graph":[{"@type":"WebSite"},{"@type":"WebPage"}]}</script>`,
			`[{"@context":"https://schema.org","@graph":[{"@type":"WebSite"},{"@type":"WebPage"}]}]`, nil},
		{"invalid block reported, others kept", `<script type="application/ld+json">{"name": </script><script type="application/ld+json">{"@type":"B"}</script>`,
			`[{"@type":"B"}]`, []int{0}},
		{"two values in one block", `<script type="application/ld+json">{"a":1}{"b":2}</script>`, `null`, []int{0}},
		{"empty block", `<script type="application/ld+json">  </script>`, `null`, []int{0}},
		{"scalar block", `<script type="application/ld+json">"just text"</script>`, `null`, []int{0}},
		{"large numbers kept", `<script type="application/ld+json">{"id":12345678901234567890,"r":4.60}</script>`,
			`[{"id":12345678901234567890,"r":4.60}]`, nil},
		{"raw newline in a string, comments, trailing comma", "<script type=\"application/ld+json\">\n// generated\n{\"a\":\"x\ny\", /* note */ \"b\":[1,2,],}</script>",
			`[{"a":"x\ny","b":[1,2]}]`, nil},
		{"other script types ignored", `<script type="application/json">{"a":1}</script><script>var x = {}</script>`, `null`, nil},
		{"empty object dropped", `<script type="application/ld+json">{}</script>`, `null`, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := dataOf(t, "<html><head>"+tc.page+"</head></html>", "https://example.com/", Limits{}, Extras{JSONLD: true})
			if got := asJSON(t, d.JSONLD); got != tc.want {
				t.Errorf("jsonld = %s, want %s", got, tc.want)
			}
			var idx []int
			for _, e := range d.JSONLDErrors {
				if e.Error == "" || e.Bytes == 0 && !strings.Contains(tc.page, ">  <") {
					t.Errorf("error entry without detail: %+v", e)
				}
				idx = append(idx, e.Index)
			}
			if !reflect.DeepEqual(idx, tc.wantErrs) {
				t.Errorf("jsonld_errors = %+v, want indexes %v", d.JSONLDErrors, tc.wantErrs)
			}
		})
	}
}

func TestJSONLDBudget(t *testing.T) {
	big := `{"text":"` + strings.Repeat("x", 5000) + `"}`
	page := `<script type="application/ld+json">{"a":1}</script><script type="application/ld+json">` + big + `</script>`
	d := dataOf(t, page, "https://example.com/", Limits{MaxFieldBytes: 1000}, Extras{JSONLD: true})
	if asJSON(t, d.JSONLD) != `[{"a":1}]` || len(d.JSONLDErrors) != 1 || d.JSONLDErrors[0].Index != 1 || !d.DataTruncated {
		t.Errorf("a block past the budget: jsonld %s, errors %+v, truncated %v; want the first kept, the second reported", asJSON(t, d.JSONLD), d.JSONLDErrors, d.DataTruncated)
	}
	if !strings.Contains(d.JSONLDErrors[0].Error, "budget") {
		t.Errorf("error %q does not say why", d.JSONLDErrors[0].Error)
	}
}

func TestJSONLDCap(t *testing.T) {
	block := "[" + strings.Repeat("0,", MaxJSONLDBytes/2) + "0]"
	page := `<script type="application/ld+json">{"a":1}</script><script type="application/ld+json">` + block + `</script>`
	d := dataOf(t, page, "https://example.com/", Limits{}, Extras{JSONLD: true})
	if asJSON(t, d.JSONLD) != `[{"a":1}]` || len(d.JSONLDErrors) != 1 || !d.DataTruncated {
		t.Errorf("a block of %d bytes: jsonld %.100s, errors %+v; want it reported, not parsed", len(block), asJSON(t, d.JSONLD), d.JSONLDErrors)
	}
}

func TestOpenGraph(t *testing.T) {
	page := `<html prefix="og: https://ogp.me/ns#"><head>
<meta property="og:title" content="Title">
<meta property="og:image" content="https://example.com/1.png">
<meta property="og:image" content="https://example.com/2.png">
<meta property="og:image" content="https://example.com/3.png">
<meta property="article:tag" content="go">
<meta name="twitter:card" content="summary_large_image">
<meta name="og:description" content="a name, not a property">
<meta property="OG:locale" content="prefix is case-sensitive">
<meta property="og:empty" content="">
<meta property="og:nocontent">
</head><body><meta property="og:url" content="https://example.com/in-body"></body></html>`
	d := dataOf(t, page, "https://example.com/", Limits{}, Extras{OpenGraph: true})
	want := `{"article:tag":"go","og:empty":"","og:image":["https://example.com/1.png","https://example.com/2.png","https://example.com/3.png"],"og:title":"Title","twitter:card":"summary_large_image"}`
	if got := asJSON(t, d.OpenGraph); got != want {
		t.Errorf("opengraph = %s\nwant        %s", got, want)
	}
	if d.Meta != nil {
		t.Errorf("meta computed without being asked for: %v", d.Meta)
	}
}

func TestMeta(t *testing.T) {
	page := `<head><meta charset="utf-8"><meta name="Description" content="D">
<meta http-equiv="Content-Security-Policy" content="default-src 'self'">
<meta property="og:title" content="T"><meta name="keywords" content="a">
<meta name="keywords" content="b"><meta name="viewport"></head>`
	d := dataOf(t, page, "https://example.com/", Limits{}, Extras{Meta: true})
	want := `{"content-security-policy":"default-src 'self'","description":"D","keywords":["a","b"],"og:title":"T"}`
	if got := asJSON(t, d.Meta); got != want {
		t.Errorf("meta = %s\nwant   %s", got, want)
	}
}

func TestMetaBounded(t *testing.T) {
	var b strings.Builder
	for range 100_000 {
		b.WriteString(`<meta name="k" content="v">`)
	}
	d := dataOf(t, b.String(), "https://example.com/", Limits{MaxMatches: 500}, Extras{Meta: true, OpenGraph: true})
	if n := len(d.Meta["k"].([]string)); n != 500 || !d.DataTruncated {
		t.Errorf("100,000 meta tags: kept %d, truncated %v; want 500 and true", n, d.DataTruncated)
	}
}

func TestImages(t *testing.T) {
	page := `<head><base href="https://cdn.example/img/"></head><body>
<img src="a.png" srcset="a-300.png 300w, a-1200.png 1200w, a-800.png 800w">
<img src="b.png" srcset="b-1x.png, b-3x.png 3x, b-2x.png 2x">
<img src="a.png">
<img src="data:image/png;base64,AAAA">
<img srcset="c,1.png 1x, c,2.png 2x">
<picture><source srcset="d.webp 1x, d@2.webp 2x" type="image/webp"><img src="d.jpg"></picture>
<img src="  /abs.png  ">
</body>`
	d := dataOf(t, page, "https://example.com/page", Limits{}, Extras{Images: true})
	want := []string{
		"https://cdn.example/img/a.png", "https://cdn.example/img/a-1200.png",
		"https://cdn.example/img/b.png", "https://cdn.example/img/b-3x.png",
		"https://cdn.example/img/c,2.png",
		"https://cdn.example/img/d@2.webp", "https://cdn.example/img/d.jpg",
		"https://cdn.example/abs.png",
	}
	if !reflect.DeepEqual(d.Images, want) {
		t.Errorf("images =\n%q\nwant\n%q", d.Images, want)
	}
}

func TestBestSrcsetCandidate(t *testing.T) {
	for srcset, want := range map[string]string{
		"a.png 100w, b.png 300w, c.png 200w": "b.png",
		"a.png, b.png 2x, c.png 1.5x":        "b.png",
		"a.png":                              "a.png",
		"a.png 2x, b.png 2x":                 "a.png",
		"a.png 1x, b.png 400w":               "b.png",
		"x.png?w=1,2 100w, y.png 50w":        "x.png?w=1,2",
		"image(a,b).png 1x, z.png 0.5x":      "image(a,b).png",
		"":                                   "",
		" , , ":                              "",
	} {
		if got := bestSrcsetCandidate(srcset); got != want {
			t.Errorf("bestSrcsetCandidate(%q) = %q, want %q", srcset, got, want)
		}
	}
}

func TestRobotsMeta(t *testing.T) {
	res := &Result{}
	resp := &Response{
		URL: "https://example.com/", FinalURL: "https://example.com/", Status: 200,
		Header: http.Header{
			"Content-Type": {"text/html"},
			"X-Robots-Tag": {"noarchive, NOSNIPPET", "googlebot: noindex, nofollow", "unavailable_after: 25 Jun 2030 15:00:00 PST"},
		},
		Body: []byte(`<meta name="robots" content="NoIndex, follow, noindex"><meta name="googlebot" content="none">`),
	}
	extractInto(res, resp, nil, Limits{}, Extras{RobotsMeta: true})
	want := `{"meta":["noindex","follow"],"header":["noarchive","nosnippet","googlebot: noindex","googlebot: nofollow","unavailable_after: 25 jun 2030 15:00:00 pst"]}`
	if got := asJSON(t, res.RobotsMeta); got != want {
		t.Errorf("robots_meta = %s\nwant          %s", got, want)
	}
}

func TestHeadersField(t *testing.T) {
	res := &Result{}
	resp := &Response{
		URL: "https://example.com/x.pdf", FinalURL: "https://example.com/x.pdf", Status: 200,
		Header: http.Header{"Content-Type": {"application/pdf"}, "Set-Cookie": {"a=1", "b=2"}, "X-Bad": {"a\x1bb"}},
		Body:   []byte("%PDF-1.4"),
	}
	extractInto(res, resp, nil, Limits{}, Extras{Headers: true, JSONLD: true})
	want := `{"content-type":"application/pdf","set-cookie":["a=1","b=2"],"x-bad":"ab"}`
	if got := asJSON(t, res.Headers); got != want {
		t.Errorf("headers of a page that is not HTML = %s, want %s", got, want)
	}
	if res.JSONLD != nil {
		t.Errorf("jsonld of a PDF: %v", res.JSONLD)
	}
	pdf := &Result{}
	resp.Header.Set("X-Robots-Tag", "noindex")
	extractInto(pdf, resp, nil, Limits{}, Extras{RobotsMeta: true})
	if asJSON(t, pdf.RobotsMeta) != `{"header":["noindex"]}` {
		t.Errorf("robots_meta of a PDF with X-Robots-Tag: %s", asJSON(t, pdf.RobotsMeta))
	}
}

func TestResponseData(t *testing.T) {
	body := []byte("abc")
	resp := &Response{URL: "https://example.com/", FinalURL: "https://example.com/", Status: 200, Body: body,
		Header: http.Header{"Etag": {`W/"abc"`}, "Last-Modified": {"Tue, 01 Dec 2026 10:00:00 GMT"}}}
	res := NewResult(Request{URL: "https://example.com/"}, resp, nil, time.Time{})
	const sum = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad" // SHA-256 of "abc" (FIPS 180-2)
	if res.ContentHash != sum || res.ETag != `W/"abc"` || res.LastModified != "Tue, 01 Dec 2026 10:00:00 GMT" {
		t.Errorf("content_hash %q etag %q last_modified %q", res.ContentHash, res.ETag, res.LastModified)
	}
	resp.Body = nil
	tooLarge := NewResult(Request{URL: "https://example.com/"}, resp, newError(KindTooLarge, "", errTooLarge), time.Time{})
	if tooLarge.ContentHash != "" {
		t.Errorf("content_hash of a body that did not come whole: %q", tooLarge.ContentHash)
	}
}

// TestStructuredGolden extracts every opt-in field from the pages in
// testdata/structdata and compares with NAME.golden.json (-update
// rewrites them).
func TestStructuredGolden(t *testing.T) {
	pages, _ := filepath.Glob(filepath.Join("testdata", "structdata", "*.html"))
	if len(pages) == 0 {
		t.Fatal("no pages in testdata/structdata")
	}
	for _, page := range pages {
		name := strings.TrimSuffix(filepath.Base(page), ".html")
		t.Run(name, func(t *testing.T) {
			body, err := os.ReadFile(page)
			if err != nil {
				t.Fatal(err)
			}
			resp := &Response{URL: "https://example.com/" + name, FinalURL: "https://example.com/" + name, Status: 200, Body: body,
				Header: http.Header{"Content-Type": {"text/html; charset=utf-8"}, "X-Robots-Tag": {"noarchive"}}}
			res := NewResult(Request{URL: resp.URL}, resp, nil, time.Time{})
			extractInto(res, resp, nil, Limits{}, Extras{JSONLD: true, OpenGraph: true, Meta: true, Images: true, RobotsMeta: true})
			got, err := json.MarshalIndent(res.PageData, "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			golden := strings.TrimSuffix(page, ".html") + ".golden.json"
			if *update {
				if err := os.WriteFile(golden, append(got, '\n'), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(append(got, '\n'), want) {
				t.Errorf("%s differs from %s:\n%s", name, golden, got)
			}
		})
	}
}

func TestDefaultFieldsComputeNoExtras(t *testing.T) {
	body := []byte(`<html><head><meta property="og:title" content="T"><script type="application/ld+json">{"a":1}</script></head><body><img src="x.png"></body></html>`)
	resp := &Response{URL: "https://example.com/", FinalURL: "https://example.com/", Status: 200, Body: body,
		Header: http.Header{"Content-Type": {"text/html"}}}
	res := &Result{}
	extractInto(res, resp, nil, Limits{}, Extras{})
	res.ContentHash = ""
	if !reflect.DeepEqual(res.PageData, PageData{}) {
		t.Errorf("opt-in fields computed without being asked for: %+v", res.PageData)
	}
}

// TestStructuredDataDeepPage: a page nested deeper than the HTML parser
// allows still gives its structured data, from the tree cut at cutDepth
// levels, as --select does.
func TestStructuredDataDeepPage(t *testing.T) {
	body := `<html><head><meta property="og:title" content="Deep"><script type="application/ld+json">{"@type":"Thing"}</script></head><body>` +
		strings.Repeat("<div>", 700) + `<img src="/deep.png">` + strings.Repeat("</div>", 700) + `</body></html>`
	resp := &Response{URL: "https://example.com/", FinalURL: "https://example.com/", Status: 200, Body: []byte(body),
		Header: http.Header{"Content-Type": {"text/html"}}}
	res := &Result{}
	extractInto(res, resp, nil, Limits{}, Extras{JSONLD: true, OpenGraph: true, Images: true})
	if asJSON(t, res.JSONLD) != `[{"@type":"Thing"}]` || res.OpenGraph["og:title"] != "Deep" || !reflect.DeepEqual(res.Images, []string{"https://example.com/deep.png"}) {
		t.Errorf("deep page: jsonld %s, opengraph %v, images %v", asJSON(t, res.JSONLD), res.OpenGraph, res.Images)
	}
}
