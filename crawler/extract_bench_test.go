package crawler

import (
	"bytes"
	"fmt"
	"io"
	"net/url"
	"strings"
	"testing"
)

// benchPage returns a realistic page of about 30 KB: a head, navigation,
// paragraphs of text and about 100 links of every sort, the same bytes on
// every call.
func benchPage() []byte {
	var b strings.Builder
	b.WriteString(`<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">
<title>Benchmark page — Example News</title>
<meta name="description" content="A page for measuring extraction.">
<link rel="canonical" href="/news/2026/benchmark.html">
<link rel="stylesheet" href="/css/site.css"><script src="/js/app.js"></script>
<style>body{font-family:sans-serif} .nav a{margin:0 1em}</style>
</head><body><header><nav class="nav">`)
	for i := range 20 {
		fmt.Fprintf(&b, `<a href="/section/%d/">Section %d</a>`, i, i)
	}
	b.WriteString(`</nav></header><main><article><h1>Benchmark <em>page</em></h1>`)
	for i := range 40 {
		fmt.Fprintf(&b, `<p class="para">Paragraph %d of the article, with enough ordinary words to look like
running text that a reader would skim, because measuring extraction on a page without text would
flatter the parser, which spends much of its time on text nodes and entities &amp; such, including a link to <a href="../story/%d.html?ref=p%d">story %d</a>`, i, i, i, i)
		switch i % 4 {
		case 0:
			fmt.Fprintf(&b, ` and <a href="https://other%d.example.org/path/%d">a partner site</a>`, i%5, i)
		case 1:
			b.WriteString(` and <a href="javascript:void(0)">a button</a>`)
		case 2:
			fmt.Fprintf(&b, ` and <a href="/section/%d/#top">a section again</a>`, i%20)
		case 3:
			fmt.Fprintf(&b, ` and <a href="/tag/caf%%C3%%A9-%d">a tag</a>`, i)
		}
		b.WriteString(`. More text follows here so that the page carries some weight, as real pages do, with <b>bold</b> and <i>italic</i> words. A last sentence closes the paragraph and gives it the length of the paragraphs in a news story.</p>` + "\n")
	}
	b.WriteString(`</article><aside><ul>`)
	for i := range 20 {
		fmt.Fprintf(&b, `<li><a href="/popular/%d">Popular %d</a> <span class="count">%d</span></li>`, i, i, i*7)
	}
	b.WriteString(`</ul></aside></main><footer><a href="mailto:news@example.com">Mail</a> <a href="/about">About</a></footer></body></html>`)
	return []byte(b.String())
}

func BenchmarkExtract(b *testing.B) {
	page := benchPage()
	base, err := url.Parse("https://example.com/news/2026/page.html")
	if err != nil {
		b.Fatal(err)
	}
	var sels []Selector
	for _, spec := range []string{"para=p.para", "count=.count", "popular=aside a@href"} {
		s, err := ParseSelector(spec)
		if err != nil {
			b.Fatal(err)
		}
		sels = append(sels, s)
	}
	for _, bc := range []struct {
		name        string
		sels        []Selector
		contentType string
	}{
		{"plain", nil, "text/html; charset=utf-8"},
		{"selectors", sels, "text/html; charset=utf-8"},
		// No charset in the header: the encoding is tentative and the
		// whole body is looked at for a later <meta charset>.
		{"nocharset", nil, "text/html"},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.SetBytes(int64(len(page)))
			b.ReportAllocs()
			var p Page
			for b.Loop() {
				// DecodeBytes, as the pipeline does: the body is in memory.
				body := DecodeBytes(page, bc.contentType)
				var err error
				if p, err = Extract(body.Reader, base, bc.sels); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(len(p.Links)), "links")
		})
	}
}

func BenchmarkResolveLink(b *testing.B) {
	base, err := url.Parse("https://example.com/news/2026/page.html")
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		ResolveLink(base, "../story/12.html?ref=p12")
	}
}

func BenchmarkNormalize(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Normalize("HTTPS://Example.COM:443/a/./b/../c%7e?q=1#frag"); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDecodeBody measures choosing the encoding and reading the
// decoded page, with the charset certain from the header and tentative
// without it (where the whole page is looked at for a late <meta>).
func BenchmarkDecodeBody(b *testing.B) {
	page := benchPage()
	for _, ct := range []string{"text/html; charset=utf-8", "text/html"} {
		b.Run(ct, func(b *testing.B) {
			b.SetBytes(int64(len(page)))
			b.ReportAllocs()
			for b.Loop() {
				body, err := DecodeBody(bytes.NewReader(page), ct)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := io.Copy(io.Discard, body); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkDecodeBytes is BenchmarkDecodeBody for the pipeline's path,
// which holds the body in memory.
func BenchmarkDecodeBytes(b *testing.B) {
	page := benchPage()
	for _, ct := range []string{"text/html; charset=utf-8", "text/html"} {
		b.Run(ct, func(b *testing.B) {
			b.SetBytes(int64(len(page)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := io.Copy(io.Discard, DecodeBytes(page, ct)); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkParseURL parses URLs as the crawl does for every discovered
// link (scope check) and fetch: already normalised, on a few hosts.
func BenchmarkParseURL(b *testing.B) {
	urls := []string{
		"http://127.0.0.1:39459/page/1234.html",
		"https://www.example.com/news/2026/story-12.html?ref=p12",
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if _, err := ParseURL(urls[i%len(urls)]); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

// BenchmarkCleanText cleans a title and a link that need no change.
func BenchmarkCleanText(b *testing.B) {
	s := []string{"Benchmark page — Example News, all the stories of the day", "https://www.example.com/news/2026/story-12.html?ref=p12"}
	b.ReportAllocs()
	for b.Loop() {
		CleanText(s[0])
		CleanText(s[1])
	}
}
