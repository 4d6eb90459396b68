package crawler

import (
	"bytes"
	"fmt"
	"net/http"
	"strings"
	"testing"
)

// sharedTreePage is a page of a few thousand elements with a price list,
// a JSON-LD block and OpenGraph properties.
func sharedTreePage() *Response {
	var b strings.Builder
	b.WriteString(`<html><head><title>Shop</title><meta property="og:title" content="Shop">`)
	b.WriteString(`<script type="application/ld+json">{"@type":"Product","name":"Kettle"}</script></head><body>`)
	for i := range 600 {
		fmt.Fprintf(&b, `<div class="item"><a href="/p/%d">Item %d</a> <span class="price">%d.50</span></div>`, i, i, i)
	}
	b.WriteString(`</body></html>`)
	return &Response{
		URL: "https://shop.example/", FinalURL: "https://shop.example/", Status: 200,
		Header: http.Header{"Content-Type": {"text/html; charset=utf-8"}}, Body: []byte(b.String()),
	}
}

// TestSelectAndStructuredShareTree checks that a page asked for both
// --select fields and structured data (jsonld, opengraph) is parsed into
// a tree once: the structured data adds to the cost of the selectors
// much less than a parse of the page would.
func TestSelectAndStructuredShareTree(t *testing.T) {
	resp := sharedTreePage()
	sel, err := ParseSelector("price=.price")
	if err != nil {
		t.Fatal(err)
	}
	sels := []Selector{sel}
	structured := Extras{JSONLD: true, OpenGraph: true}
	var res Result
	extractInto(&res, resp, sels, Limits{}, structured)
	if len(res.Fields["price"]) != 600 || len(res.JSONLD) != 1 || res.OpenGraph["og:title"] == nil {
		t.Fatalf("record: %d prices, jsonld %v, opengraph %v", len(res.Fields["price"]), res.JSONLD, res.OpenGraph)
	}
	parse := testing.AllocsPerRun(5, func() {
		if _, _, err := parseTree(bytes.NewReader(resp.Body)); err != nil {
			t.Fatal(err)
		}
	})
	selectOnly := testing.AllocsPerRun(5, func() { extractInto(&Result{}, resp, sels, Limits{}, Extras{}) })
	both := testing.AllocsPerRun(5, func() { extractInto(&Result{}, resp, sels, Limits{}, structured) })
	if both-selectOnly > parse/2 {
		t.Errorf("--select and structured data: %.0f allocations, --select alone %.0f: the structured data added %.0f, a parse of the page makes %.0f: parsed twice?",
			both, selectOnly, both-selectOnly, parse)
	}
}

// BenchmarkSelectAndStructured measures a page asked for both --select
// fields and structured data (one tree for both).
func BenchmarkSelectAndStructured(b *testing.B) {
	resp := sharedTreePage()
	sel, err := ParseSelector("price=.price")
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.SetBytes(int64(len(resp.Body)))
	for b.Loop() {
		extractInto(&Result{}, resp, []Selector{sel}, Limits{}, Extras{JSONLD: true, OpenGraph: true})
	}
}
