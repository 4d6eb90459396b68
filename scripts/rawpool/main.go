// Command rawpool does trawl's two benchmark jobs with nothing but
// net/http, goquery and a pool of goroutines: the hand-written ceiling
// scripts/bench.sh compares trawl against. No retries, robots.txt, rate
// limits or resumable output; one JSON line (url, status, title) per page
// on stdout.
//
//	rawpool -mode list  -c 64 -urls urls.txt
//	rawpool -mode crawl -c 64 -url http://127.0.0.1:PORT/
//
// It is a module of its own so that its plain `go` statements and goquery
// stay out of trawl's module.
package main

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"sync"
	"time"

	"github.com/PuerkitoBio/goquery"
)

type record struct {
	URL    string `json:"url"`
	Status int    `json:"status"`
	Title  string `json:"title"`
	Error  string `json:"error,omitempty"`
}

// queue is an unbounded FIFO of URLs that knows how much work is pending
// (queued or in flight), so that a crawl ends when nothing is left.
type queue struct {
	mu      sync.Mutex
	cond    *sync.Cond
	items   []string
	pending int
	closed  bool
}

func newQueue() *queue {
	q := &queue{}
	q.cond = sync.NewCond(&q.mu)
	return q
}

func (q *queue) push(u string) {
	q.mu.Lock()
	q.items = append(q.items, u)
	q.pending++
	q.mu.Unlock()
	q.cond.Signal()
}

// pop returns the next URL, or false once the queue is closed and empty.
func (q *queue) pop() (string, bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	for len(q.items) == 0 && !q.closed {
		q.cond.Wait()
	}
	if len(q.items) == 0 {
		return "", false
	}
	u := q.items[0]
	q.items = q.items[1:]
	return u, true
}

// done marks one popped URL finished; the last one closes the queue.
func (q *queue) done() {
	q.mu.Lock()
	q.pending--
	if q.pending == 0 {
		q.closed = true
		q.cond.Broadcast()
	}
	q.mu.Unlock()
}

func main() {
	mode := flag.String("mode", "list", "list or crawl")
	conc := flag.Int("c", 16, "workers")
	urls := flag.String("urls", "", "file of URLs (list mode)")
	start := flag.String("url", "", "start URL (crawl mode)")
	flag.Parse()

	client := &http.Client{
		Timeout: 30 * time.Second,
		Transport: &http.Transport{
			MaxIdleConns:        1024,
			MaxIdleConnsPerHost: *conc,
			IdleConnTimeout:     90 * time.Second,
		},
	}
	out := bufio.NewWriterSize(os.Stdout, 64<<10)
	var mu sync.Mutex
	emit := func(r record) {
		b, _ := json.Marshal(r)
		mu.Lock()
		out.Write(b)
		out.WriteByte('\n')
		mu.Unlock()
	}

	var wg sync.WaitGroup
	switch *mode {
	case "list":
		ch := make(chan string, *conc)
		for range *conc {
			wg.Go(func() {
				for u := range ch {
					emit(fetch(client, u, nil))
				}
			})
		}
		feed(*urls, ch)
		close(ch)
	case "crawl":
		base, err := url.Parse(*start)
		if err != nil {
			fatal(err)
		}
		q := newQueue()
		var seenMu sync.Mutex
		seen := map[string]bool{*start: true}
		follow := func(link string) {
			seenMu.Lock()
			fresh := !seen[link]
			seen[link] = true
			seenMu.Unlock()
			if fresh {
				q.push(link)
			}
		}
		q.push(*start)
		for range *conc {
			wg.Go(func() {
				for {
					u, ok := q.pop()
					if !ok {
						return
					}
					emit(fetch(client, u, func(doc *goquery.Document, page *url.URL) {
						doc.Find("a[href]").Each(func(_ int, s *goquery.Selection) {
							if l := resolve(page, s.AttrOr("href", ""), base.Host); l != "" {
								follow(l)
							}
						})
					}))
					q.done()
				}
			})
		}
	default:
		fatal(fmt.Errorf("unknown mode %q", *mode))
	}
	wg.Wait()
	if err := out.Flush(); err != nil {
		fatal(err)
	}
}

// resolve returns href resolved against page, without fragment, when it
// is on host; "" otherwise.
func resolve(page *url.URL, href, host string) string {
	u, err := page.Parse(href)
	if err != nil || u.Host != host || (u.Scheme != "http" && u.Scheme != "https") {
		return ""
	}
	u.Fragment = ""
	return u.String()
}

// fetch gets u, parses it and calls links with the document when it is given.
func fetch(client *http.Client, u string, links func(*goquery.Document, *url.URL)) record {
	resp, err := client.Get(u)
	if err != nil {
		return record{URL: u, Error: err.Error()}
	}
	defer resp.Body.Close()
	rec := record{URL: u, Status: resp.StatusCode}
	doc, err := goquery.NewDocumentFromReader(io.LimitReader(resp.Body, 10<<20))
	if err != nil {
		rec.Error = err.Error()
		return rec
	}
	rec.Title = doc.Find("title").First().Text()
	if links != nil {
		links(doc, resp.Request.URL)
	}
	return rec
}

// feed sends every non-empty line of the file name to ch.
func feed(name string, ch chan<- string) {
	f, err := os.Open(name)
	if err != nil {
		fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if line := sc.Text(); line != "" {
			ch <- line
		}
	}
	if err := sc.Err(); err != nil {
		fatal(err)
	}
}

func fatal(err error) {
	fmt.Fprintln(os.Stderr, "rawpool:", err)
	os.Exit(1)
}
