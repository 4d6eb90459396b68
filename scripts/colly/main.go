// Command colly-bench does trawl's two benchmark jobs with colly v2, the
// way a colly user would write them, for scripts/bench.sh:
//
//	colly-bench -mode list  -c 64 -urls urls.txt   # visit every URL of the file
//	colly-bench -mode crawl -c 64 -url http://127.0.0.1:PORT/
//
// Both use an async collector with a LimitRule of parallelism c, and write
// one JSON line (url, status, title) per page to stdout, so the caller can
// count pages. It lives in its own module so that colly is never a
// dependency of trawl.
package main

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"sync"
	"time"

	"github.com/gocolly/colly/v2"
)

type record struct {
	URL    string `json:"url"`
	Status int    `json:"status"`
	Title  string `json:"title"`
	Error  string `json:"error,omitempty"`
}

func main() {
	mode := flag.String("mode", "list", "list or crawl")
	conc := flag.Int("c", 16, "parallelism")
	urls := flag.String("urls", "", "file of URLs (list mode)")
	start := flag.String("url", "", "start URL (crawl mode)")
	flag.Parse()

	out := bufio.NewWriterSize(os.Stdout, 64<<10)
	var mu sync.Mutex
	emit := func(r record) {
		b, _ := json.Marshal(r)
		mu.Lock()
		out.Write(b)
		out.WriteByte('\n')
		mu.Unlock()
	}

	c := colly.NewCollector(colly.Async(true))
	c.SetRequestTimeout(30 * time.Second)
	// The only tuning: keep as many idle connections as requests in flight,
	// so that loopback ports are not exhausted by TIME_WAIT sockets.
	c.WithTransport(&http.Transport{
		Proxy:               http.ProxyFromEnvironment,
		DialContext:         (&net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:        1024,
		MaxIdleConnsPerHost: *conc,
		IdleConnTimeout:     90 * time.Second,
	})
	if err := c.Limit(&colly.LimitRule{DomainGlob: "*", Parallelism: *conc}); err != nil {
		fatal(err)
	}
	c.OnHTML("title", func(e *colly.HTMLElement) {
		if e.Request.Ctx.Get("title") == "" {
			e.Request.Ctx.Put("title", e.Text)
		}
	})
	c.OnScraped(func(r *colly.Response) {
		emit(record{URL: r.Request.URL.String(), Status: r.StatusCode, Title: r.Ctx.Get("title")})
	})
	c.OnError(func(r *colly.Response, err error) {
		emit(record{URL: r.Request.URL.String(), Status: r.StatusCode, Error: err.Error()})
	})

	switch *mode {
	case "list":
		visitAll(c, *urls)
	case "crawl":
		u, err := url.Parse(*start)
		if err != nil {
			fatal(err)
		}
		c.AllowedDomains = []string{u.Hostname()}
		c.OnHTML("a[href]", func(e *colly.HTMLElement) {
			// c.Visit, not e.Request.Visit: the latter shares the parent's Ctx,
			// so the title stored in it would leak into the child's record.
			c.Visit(e.Request.AbsoluteURL(e.Attr("href")))
		})
		if err := c.Visit(*start); err != nil {
			fatal(err)
		}
	default:
		fatal(fmt.Errorf("unknown mode %q", *mode))
	}
	c.Wait()
	mu.Lock()
	defer mu.Unlock()
	if err := out.Flush(); err != nil {
		fatal(err)
	}
}

// visitAll visits every line of the file name.
func visitAll(c *colly.Collector, name string) {
	f, err := os.Open(name)
	if err != nil {
		fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if line := sc.Text(); line != "" {
			c.Visit(line)
		}
	}
	if err := sc.Err(); err != nil {
		fatal(err)
	}
}

func fatal(err error) {
	fmt.Fprintln(os.Stderr, "colly-bench:", err)
	os.Exit(1)
}
