package crawler

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/iotest"
	"time"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// extractCases are the pages in testdata/extract; each NAME.html has its
// expected record in NAME.golden.json.
var extractCases = []struct {
	name, url, contentType string
	selectors              []string
}{
	{name: "normal", url: "https://example.com/shop/index.html", contentType: "text/html; charset=utf-8"},
	{name: "broken", url: "http://example.com/dir/page", contentType: "text/html"},
	{name: "basehref", url: "https://example.com/start/page.html", contentType: "text/html"},
	{name: "oddlinks", url: "http://example.com/dir/odd.html", contentType: "text/html; charset=utf-8"},
	{name: "latin1", url: "http://example.com/", contentType: "text/html"},
	{name: "empty", url: "http://example.com/empty", contentType: "text/html"},
	{name: "selectors", url: "https://shop.example/p/1", contentType: "text/html; charset=utf-8", selectors: []string{
		"name=.product .name",
		"price=span.price",
		"image=img@src",
		"sku=div.product@data-sku",
		"tags=ul.tags",
		"tags=ul.tags li",
		"desc=.product p",
		"jsonld=script[type=\"application/ld+json\"]",
		"missing=.no-such-class",
	}},
}

func TestExtractGolden(t *testing.T) {
	for _, tc := range extractCases {
		t.Run(tc.name, func(t *testing.T) {
			body, err := os.ReadFile(filepath.Join("testdata", "extract", tc.name+".html"))
			if err != nil {
				t.Fatal(err)
			}
			var sels []Selector
			for _, spec := range tc.selectors {
				s, err := ParseSelector(spec)
				if err != nil {
					t.Fatal(err)
				}
				sels = append(sels, s)
			}
			base, err := ParseURL(tc.url)
			if err != nil {
				t.Fatal(err)
			}
			dec, err := DecodeBody(bytes.NewReader(body), tc.contentType)
			if err != nil {
				t.Fatal(err)
			}
			page, err := Extract(dec, base, sels)
			if err != nil {
				t.Fatal(err)
			}
			r := Result{URL: tc.url, FinalURL: base.String(), Status: 200, ContentType: tc.contentType, Bytes: int64(len(body))}
			r.SetPage(page)
			var buf bytes.Buffer
			enc := json.NewEncoder(&buf)
			enc.SetEscapeHTML(false)
			enc.SetIndent("", "  ")
			if err := enc.Encode(r); err != nil {
				t.Fatal(err)
			}
			got := buf.Bytes()
			golden := filepath.Join("testdata", "extract", tc.name+".golden.json")
			if *update {
				if err := os.WriteFile(golden, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test -update to create it)", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("record differs from %s (go test -update rewrites it):\n got: %s\nwant: %s", golden, got, want)
			}
		})
	}
}

func TestParseSelector(t *testing.T) {
	tests := []struct {
		spec, name, css, attr, wantErr string
	}{
		{spec: "title=h1", name: "title", css: "h1"},
		{spec: " price = span.price ", name: "price", css: "span.price"},
		{spec: "img=img.hero@src", name: "img", css: "img.hero", attr: "src"},
		{spec: "x=a[href^=\"mailto:x@y\"]", name: "x", css: "a[href^=\"mailto:x@y\"]"},
		{spec: "x=a[href^=\"mailto:x@y\"]@href", name: "x", css: "a[href^=\"mailto:x@y\"]", attr: "href"},
		{spec: "q=a[title=\"a=b\"]@data-x", name: "q", css: "a[title=\"a=b\"]", attr: "data-x"},
		{spec: "n=svg@xlink:href", name: "n", css: "svg", attr: "xlink:href"},
		{spec: "h1", wantErr: `selector "h1": want name=css`},
		{spec: "=h1", wantErr: `selector "=h1": invalid name ""`},
		{spec: "my field=h1", wantErr: `invalid name "my field"`},
		{spec: "t=", wantErr: `selector "t=": empty css selector`},
		{spec: "t=@href", wantErr: "empty css selector"},
		{spec: "t=a@", wantErr: "empty attribute name"},
		{spec: "t=div[", wantErr: `selector "t=div[": invalid css selector "div["`},
		{spec: "t=p:nosuch", wantErr: "invalid css selector"},
	}
	for _, tt := range tests {
		s, err := ParseSelector(tt.spec)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("ParseSelector(%q) error = %v, want %q", tt.spec, err, tt.wantErr)
			}
			continue
		}
		if err != nil || s.Name != tt.name || s.CSS != tt.css || s.Attr != tt.attr || s.m == nil {
			t.Errorf("ParseSelector(%q) = %+v, %v; want %q %q %q", tt.spec, s, err, tt.name, tt.css, tt.attr)
		}
	}
}

func TestExtractSelectorLiteral(t *testing.T) {
	p, err := Extract(strings.NewReader("<p>a</p><p>b</p>"), nil, []Selector{{Name: "p", CSS: "p"}})
	if err != nil || strings.Join(p.Fields["p"], ",") != "a,b" {
		t.Errorf("literal selector: %v, %v", p.Fields, err)
	}
	if _, err := Extract(strings.NewReader("<p>"), nil, []Selector{{Name: "p", CSS: "p["}}); err == nil {
		t.Error("literal selector that does not compile: no error")
	}
}

func TestExtractNilBase(t *testing.T) {
	p, err := Extract(strings.NewReader(`<a href="/rel">r</a><a href="https://example.com/abs">a</a><base href="/x/">`), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(p.Links, " ") != "https://example.com/abs" {
		t.Errorf("links = %q, want only the absolute one", p.Links)
	}
}

func TestExtractReadError(t *testing.T) {
	base, _ := url.Parse("http://example.com/")
	typed := newError(KindTimeout, "http://example.com/", errors.New("body"))
	if _, err := Extract(iotest.ErrReader(typed), base, nil); err != typed {
		t.Errorf("typed error = %v, want it as is", err)
	}
	_, err := Extract(iotest.ErrReader(errors.New("boom")), base, nil)
	if KindOf(err) != KindDecode || !strings.Contains(err.Error(), "http://example.com/") {
		t.Errorf("untyped error = %v, want decode kind naming the URL", err)
	}
}

func TestTextCollapse(t *testing.T) {
	tests := []struct{ html, want string }{
		{"<h1>  a \n\t b  </h1>", "a b"},
		{"<h1>a<b>b</b> c</h1>", "ab c"},
		{"<h1>a<br>b</h1>", "a b"},
		{"<h1><div>a</div><div>b</div></h1>", "a b"},
		{"<h1>a<script>x</script><style>y</style>b</h1>", "ab"},
		{"<h1>\u00a0a\u00a0</h1>", "\u00a0a\u00a0"}, // non-breaking spaces are text
		{"<h1></h1>", ""},
	}
	for _, tt := range tests {
		p, err := Extract(strings.NewReader(tt.html), nil, nil)
		if err != nil || p.H1 != tt.want {
			t.Errorf("h1 of %q = %q, %v; want %q", tt.html, p.H1, err, tt.want)
		}
	}
}

// Both extraction paths count the page's <h1> elements, those the HTML
// parser makes: not text inside script, noscript, textarea or comments,
// nor SVG's.
func TestExtractH1Count(t *testing.T) {
	sel, _ := ParseSelector("x=p")
	for doc, want := range map[string]int{
		``:                                  0,
		`<h2>no</h2>`:                       0,
		`<h1>one</h1>`:                      1,
		`<h1>a</h1><main><H1>b</H1></main>`: 2,
		`<h1>a<h1>b</h1></h1><h1/>`:         3, // the parser closes the open one; <h1/> is a start tag
		`<h1>a</h1><script>document.write("<h1>s</h1>")</script><noscript><h1>n</h1></noscript>`: 1,
		`<h1>a</h1><textarea><h1>t</h1></textarea><!-- <h1>c</h1> --><title><h1></title>`:        1,
		`<table><tr><td><h1>cell</h1></td></tr></table><h1>b</h1><h1>c</h1>`:                     3,
		`<svg><h1>breaks out</h1></svg><h1>b</h1>`:                                               2,
	} {
		tok, err := Extract(strings.NewReader(doc), nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		tree, err := Extract(strings.NewReader(doc), nil, []Selector{sel})
		if err != nil {
			t.Fatal(err)
		}
		if tok.H1Count != want || tree.H1Count != want {
			t.Errorf("%q: h1 count %d (tokens), %d (tree), want %d", doc, tok.H1Count, tree.H1Count, want)
		}
	}
}

// h1_count is written only for two or more <h1>, in JSON and CSV alike.
func TestResultH1Count(t *testing.T) {
	for n, want := range map[int]string{0: "", 1: "", 2: "2", 7: "7"} {
		var r Result
		r.SetPage(Page{H1: "x", H1Count: n})
		b, err := json.Marshal(&r)
		if err != nil {
			t.Fatal(err)
		}
		has := strings.Contains(string(b), `"h1_count"`)
		if got := csvText(&r, "h1_count"); got != want || has != (want != "") {
			t.Errorf("h1 count %d: csv %q, in JSON %v (%s); want %q", n, got, has, b, want)
		}
		if want != "" && !strings.Contains(string(b), `"h1_count":`+want) {
			t.Errorf("h1 count %d: JSON %s", n, b)
		}
	}
}

func TestResultJSON(t *testing.T) {
	at := time.Date(2026, 1, 2, 15, 4, 5, 123456789, time.FixedZone("X", 3600))
	r := Result{URL: "http://example.com/", Status: 0, FetchedAt: Timestamp{at}, Error: ErrorFromErr(newError(KindDNS, "http://example.com/", errors.New("no such host")))}
	got, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"url":"http://example.com/","status":0,"links":[],"bytes":0,"elapsed_ms":0,"fetched_at":"2026-01-02T14:04:05.123Z","depth":0,"redirects":[],"error":{"kind":"dns","message":"no such host"}}`
	if string(got) != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	var back Result
	if err := json.Unmarshal(got, &back); err != nil || !back.FetchedAt.Equal(at.Truncate(time.Millisecond)) {
		t.Errorf("read back fetched_at %v, %v", back.FetchedAt, err)
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(Result{URL: "http://example.com/?a=1&b=<2>"}); err != nil || !strings.Contains(buf.String(), `"url":"http://example.com/?a=1&b=<2>"`) {
		t.Errorf("an encoder without HTML escaping wrote %s, %v", buf.Bytes(), err)
	}
	line, _ := json.Marshal(&Result{URL: "not a url", Line: 7, Error: &ResultError{Kind: KindInvalidURL, Message: "missing scheme"}})
	if want := `{"url":"not a url","status":0,"links":[],"bytes":0,"elapsed_ms":0,"depth":0,"redirects":[],"error":{"kind":"invalid_url","message":"missing scheme"},"line":7}`; string(line) != want {
		t.Errorf("got  %s\nwant %s", line, want)
	}
}

type timeoutErr struct{}

func (timeoutErr) Error() string { return "i/o timeout" }
func (timeoutErr) Timeout() bool { return true }

func TestErrorFromErr(t *testing.T) {
	tests := []struct {
		name    string
		err     error
		kind    Kind
		message string
		wantNil bool
	}{
		{name: "nil", err: nil, wantNil: true},
		{name: "typed", err: newError(KindTLS, "https://x/", errors.New("bad cert")), kind: KindTLS, message: "bad cert"},
		{name: "typed without detail", err: newError(KindRedirectLoop, "https://x/", nil), kind: KindRedirectLoop, message: "redirect_loop https://x/"},
		{name: "wrapped typed keeps context", err: errors.Join(errors.New("attempt 3"), newError(KindReset, "u", errors.New("eof"))), kind: KindReset, message: "attempt 3\nreset u: eof"},
		{name: "cancelled", err: context.Canceled, kind: KindCancelled, message: "context canceled"},
		{name: "deadline", err: context.DeadlineExceeded, kind: KindTimeout, message: "context deadline exceeded"},
		{name: "net timeout", err: timeoutErr{}, kind: KindTimeout, message: "i/o timeout"},
		{name: "unknown", err: errors.New("weird"), kind: KindOther, message: "weird"},
	}
	for _, tt := range tests {
		got := ErrorFromErr(tt.err)
		if tt.wantNil {
			if got != nil {
				t.Errorf("%s: got %+v, want nil", tt.name, got)
			}
			continue
		}
		if got == nil || got.Kind != tt.kind || got.Message != tt.message {
			t.Errorf("%s: got %+v, want kind %q message %q", tt.name, got, tt.kind, tt.message)
		}
	}
}
