// Command reportgen writes a synthetic crawl output of N records, shaped
// like `trawl crawl` output of a large site (links, titles, descriptions,
// content hashes, a few broken pages, redirects and duplicates), for
// scripts/bench-report.sh.
//
//	go run ./scripts/reportgen -n 1000000 > big.jsonl
package main

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"time"
)

type record struct {
	URL         string   `json:"url"`
	Referrer    string   `json:"referrer,omitempty"`
	Host        string   `json:"host"`
	FinalURL    string   `json:"final_url"`
	Status      int      `json:"status"`
	ContentType string   `json:"content_type"`
	Title       string   `json:"title,omitempty"`
	Description string   `json:"description,omitempty"`
	Canonical   string   `json:"canonical,omitempty"`
	H1          string   `json:"h1,omitempty"`
	Links       []string `json:"links"`
	Bytes       int      `json:"bytes"`
	ElapsedMS   int      `json:"elapsed_ms"`
	FetchedAt   string   `json:"fetched_at"`
	Depth       int      `json:"depth"`
	Redirects   []string `json:"redirects"`
	ContentHash string   `json:"content_hash,omitempty"`
	Error       *struct {
		Kind    string `json:"kind"`
		Message string `json:"message"`
	} `json:"error,omitempty"`
}

func main() {
	n := flag.Int("n", 1_000_000, "number of records")
	links := flag.Int("links", 12, "links per page")
	flag.Parse()
	w := bufio.NewWriterSize(os.Stdout, 1<<20)
	defer w.Flush()
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	const base = "https://www.example.com"
	page := func(i int) string {
		if i == 0 {
			return base + "/"
		}
		return fmt.Sprintf("%s/section/%d/page-%d.html", base, i%97, i)
	}
	r := rand.New(rand.NewPCG(1, 2))
	start := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	for i := range *n {
		rec := record{URL: page(i), Host: "www.example.com", Status: 200, ContentType: "text/html; charset=utf-8",
			Depth: depthOf(i), Redirects: []string{}, ElapsedMS: int(r.ExpFloat64() * 120), Bytes: 2000 + r.IntN(80_000),
			FetchedAt: start.Add(time.Duration(i) * time.Millisecond).Format("2006-01-02T15:04:05.000Z")}
		rec.FinalURL = rec.URL
		if i > 0 {
			rec.Referrer = page((i - 1) / 8)
		}
		rec.Title = fmt.Sprintf("Page %d of the example catalogue", i)
		if i%1000 == 7 {
			rec.Title = "Untitled document" // duplicated
		}
		rec.Description = fmt.Sprintf("Everything about item %d: prices, reviews and availability.", i)
		if i%500 == 3 {
			rec.Description = ""
		}
		rec.H1 = fmt.Sprintf("Item %d", i)
		sum := sha256.Sum256([]byte(rec.URL))
		if i%2000 == 11 {
			sum = sha256.Sum256([]byte("same body"))
		}
		rec.ContentHash = hex.EncodeToString(sum[:])
		rec.Links = make([]string, 0, *links)
		for k := range *links {
			j := (i*8 + 1 + k) % *n
			if k >= 8 {
				j = r.IntN(*n)
			}
			rec.Links = append(rec.Links, page(j))
		}
		switch {
		case i%997 == 5:
			rec.Status, rec.Title, rec.Description, rec.H1, rec.Links = 404, "", "", "", []string{}
			rec.Error = &struct {
				Kind    string `json:"kind"`
				Message string `json:"message"`
			}{"http", "404 Not Found"}
		case i%1500 == 9:
			rec.Redirects = []string{rec.URL + "?a=1", page((i + 1) % *n)}
			rec.FinalURL = page((i + 1) % *n)
		case i%3000 == 13:
			rec.Canonical = page((i + 5) % *n)
		}
		if err := enc.Encode(rec); err != nil {
			fmt.Fprintln(os.Stderr, "reportgen:", err)
			os.Exit(1)
		}
	}
}

// depthOf is the depth of page i in a tree where every page has 8
// children.
func depthOf(i int) int {
	d, first, width := 0, 0, 1
	for i >= first+width {
		first += width
		width *= 8
		d++
	}
	return d
}
