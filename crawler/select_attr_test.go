package crawler

import (
	"reflect"
	"strings"
	"testing"
)

// TestSelectAttrValues: URL attributes come out absolute and normalised,
// resolved against the page (its <base href> included) like links; @html
// gives the inner HTML; an attribute no element has gives [].
func TestSelectAttrValues(t *testing.T) {
	const page = `<html><head><base href="/shop/"></head><body>
<a href="../About%7e/./x.html#top">a</a>
<img src="img/p.png"><img src="HTTP://Example.COM:80/i.png"><img src="data:image/png;base64,AAA">
<form action="buy?id=1"></form><video poster="//cdn.example.org/v.jpg"></video>
<object data="o.swf"></object><a href="mailto:x@example.com">m</a>
<div class="d"><b>bold</b> &amp; text</div>
<p data-id="7">p</p></body></html>`
	base, _ := ParseURL("https://shop.example/dir/page.html")
	sel := func(spec string) Selector {
		s, err := ParseSelector(spec)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	tests := []struct {
		spec string
		want []string
	}{
		{"v=a@href", []string{"https://shop.example/About~/x.html", "mailto:x@example.com"}},
		{"v=img@src", []string{"https://shop.example/shop/img/p.png", "http://example.com/i.png", "data:image/png;base64,AAA"}},
		{"v=form@action", []string{"https://shop.example/shop/buy?id=1"}},
		{"v=video@poster", []string{"https://cdn.example.org/v.jpg"}},
		{"v=object@data", []string{"https://shop.example/shop/o.swf"}},
		{"v=div.d@html", []string{"<b>bold</b> &amp; text"}},
		{"v=p@data-id", []string{"7"}},
		{"v=p@nosuch", []string{}},
	}
	for _, tt := range tests {
		p, err := Extract(strings.NewReader(page), base, []Selector{sel(tt.spec)})
		if err != nil {
			t.Fatalf("%s: %v", tt.spec, err)
		}
		if got := p.Fields["v"]; !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%s: got %q, want %q", tt.spec, got, tt.want)
		}
	}
}
