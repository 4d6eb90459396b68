// Command benchsite writes a deterministic static web site for
// scripts/bench.sh: N HTML pages of 10–30 KB, each with 20–40 internal
// links and a few external ones, as files under a directory, so that
// nginx (or a Go file server) can serve it without generating anything
// per request. The same seed and page count always give the same bytes.
//
//	go run ./scripts/benchsite -pages 20000 -dir /tmp/site
//
// Page 0 is /index.html (served as "/"); page i is /page/<i>.html. The
// index links to pages 1..39, and page i links to page i+1 (wrapping), so
// a crawl from "/" reaches every page; the other links are random pages.
// External links point to https://example.org/ and must not be crawled.
package main

import (
	"bufio"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

var words = strings.Fields("the of net page link crawl fetch robots scope depth queue host rate limit stream task group cancel shield deadline body header status title harbour frontier lantern archive meadow signal ledger compass orchard")

func main() {
	pages := flag.Int("pages", 20000, "number of pages, the index included")
	seed := flag.Uint64("seed", 1, "seed of the site")
	dir := flag.String("dir", "", "directory to write the site to (required)")
	flag.Parse()
	if *dir == "" || *pages < 2 {
		fmt.Fprintln(os.Stderr, "benchsite: -dir is required and -pages must be at least 2")
		os.Exit(2)
	}
	if err := write(*dir, *pages, *seed); err != nil {
		fmt.Fprintln(os.Stderr, "benchsite:", err)
		os.Exit(1)
	}
}

// path returns the URL path of page i.
func path(i int) string {
	if i == 0 {
		return "/"
	}
	return "/page/" + strconv.Itoa(i) + ".html"
}

// write writes every page and a permissive robots.txt under dir.
func write(dir string, pages int, seed uint64) error {
	if err := os.MkdirAll(filepath.Join(dir, "page"), 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "robots.txt"), []byte("User-agent: *\nAllow: /\n"), 0o644); err != nil {
		return err
	}
	for i := range pages {
		name := filepath.Join(dir, "page", strconv.Itoa(i)+".html")
		if i == 0 {
			name = filepath.Join(dir, "index.html")
		}
		if err := writePage(name, i, pages, seed); err != nil {
			return err
		}
	}
	return nil
}

// links returns the pages page i links to.
func links(r *rand.Rand, i, pages int) []int {
	n := 20 + r.IntN(21)
	out := make([]int, 0, n)
	if i == 0 {
		for j := 1; j < pages && len(out) < n; j++ {
			out = append(out, j)
		}
		return out
	}
	out = append(out, i%(pages-1)+1) // the next page, wrapping to 1
	for len(out) < n {
		out = append(out, r.IntN(pages))
	}
	return out
}

// writePage renders page i into the file name.
func writePage(name string, i, pages int, seed uint64) error {
	f, err := os.Create(name)
	if err != nil {
		return err
	}
	w := bufio.NewWriter(f)
	r := rand.New(rand.NewPCG(seed, uint64(i)))
	size := 10*1024 + r.IntN(19*1024) // 10–29 KiB of text, 30 KB at most with markup
	fmt.Fprintf(w, "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n<title>Bench page %d</title>\n", i)
	fmt.Fprintf(w, "<meta name=\"description\" content=\"Benchmark page %d of %d\">\n</head><body>\n<h1>Bench page %d</h1>\n<ul>\n", i, pages, i)
	written := 200
	for _, j := range links(r, i, pages) {
		n, _ := fmt.Fprintf(w, "<li><a href=\"%s\">page %d</a></li>\n", path(j), j)
		written += n
	}
	for k := range 3 {
		n, _ := fmt.Fprintf(w, "<li><a href=\"https://example.org/ext/%d/%d\">elsewhere</a></li>\n", i, k)
		written += n
	}
	w.WriteString("</ul>\n")
	for written < size {
		w.WriteString("<p>")
		for range 40 {
			s := words[r.IntN(len(words))]
			w.WriteString(s)
			w.WriteByte(' ')
			written += len(s) + 1
		}
		w.WriteString("</p>\n")
		written += 8
	}
	w.WriteString("</body></html>\n")
	if err := w.Flush(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
