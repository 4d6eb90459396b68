// Package demosite generates a deterministic sample web site and serves it
// on loopback, for `trawl demo`, tests and benchmarks. The same seed and
// size always give the same pages and links, so outputs can be compared.
package demosite

import (
	"context"
	"errors"
	"fmt"
	"html"
	"math/rand/v2"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Site is a generated site of Pages HTML pages: "/" links into the rest,
// and every page links to a few others, so a crawl from "/" reaches all.
//
// With Broken set, the index also links to the pages of [BrokenPaths]: a
// missing page, a server error, a redirect, a redirect loop, a page of
// broken HTML, a Latin-1 page and a PDF, so a demo shows how trawl records
// each of them.
type Site struct {
	Pages  int    // number of pages, including the index "/"
	Seed   uint64 // the same seed gives the same site
	Broken bool   // add the deliberately broken pages
}

// BrokenPaths are the extra pages of a Site with Broken set.
var BrokenPaths = []string{
	"/missing.html", "/error.html", "/moved.html", "/loop-a.html",
	"/broken.html", "/latin1.html", "/report.pdf",
}

// Path returns the path of page i: "/" for 0, "/page/<i>.html" otherwise.
func (s Site) Path(i int) string {
	if i == 0 {
		return "/"
	}
	return "/page/" + strconv.Itoa(i) + ".html"
}

// Paths returns the path of every page, index first.
func (s Site) Paths() []string {
	paths := make([]string, s.Pages)
	for i := range paths {
		paths[i] = s.Path(i)
	}
	return paths
}

// Title returns the title of page i.
func (s Site) Title(i int) string {
	if i == 0 {
		return "Sample site"
	}
	r := s.rand(i)
	return fmt.Sprintf("Page %d: %s %s", i, pick(r, adjectives), pick(r, nouns))
}

var (
	adjectives = []string{"Quiet", "Rapid", "Hostile", "Polite", "Tangled", "Patient", "Brittle", "Sturdy", "Curious", "Lazy"}
	nouns      = []string{"harbour", "frontier", "crawler", "lantern", "archive", "meadow", "signal", "ledger", "compass", "orchard"}
	words      = strings.Fields("the of net page link crawl fetch robots scope depth queue host rate limit stream task group cancel shield deadline body header status title")
)

func pick(r *rand.Rand, list []string) string { return list[r.IntN(len(list))] }

func (s Site) rand(i int) *rand.Rand {
	return rand.New(rand.NewPCG(s.Seed, uint64(i)))
}

// links returns the pages page i links to. The index links to every page in
// a chain-free way (pages 1..9 and a "next" chain); each page links to the
// next one, so every page is reachable from "/", plus a few random others.
func (s Site) links(i int) []int {
	if s.Pages <= 1 {
		return nil
	}
	var out []int
	if i == 0 {
		for j := 1; j < s.Pages && j < 10; j++ {
			out = append(out, j)
		}
		return out
	}
	out = append(out, (i%(s.Pages-1))+1) // next page, wrapping to 1
	r := s.rand(i)
	for range 4 {
		out = append(out, r.IntN(s.Pages))
	}
	return out
}

// Page renders page i.
func (s Site) Page(i int) []byte {
	var b strings.Builder
	title := html.EscapeString(s.Title(i))
	fmt.Fprintf(&b, "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n<title>%s</title>\n", title)
	fmt.Fprintf(&b, "<meta name=\"description\" content=\"Sample page %d of %d\">\n", i, s.Pages)
	fmt.Fprintf(&b, "<link rel=\"canonical\" href=\"%s\">\n</head><body>\n<h1>%s</h1>\n", s.Path(i), title)
	r := s.rand(i)
	for range 3 {
		b.WriteString("<p>")
		for range 20 + r.IntN(20) {
			b.WriteString(pick(r, words))
			b.WriteByte(' ')
		}
		b.WriteString("</p>\n")
	}
	b.WriteString("<ul>\n")
	for _, j := range s.links(i) {
		fmt.Fprintf(&b, "<li><a href=\"%s\">%s</a></li>\n", s.Path(j), html.EscapeString(s.Title(j)))
	}
	if i == 0 && s.Broken {
		for _, p := range BrokenPaths {
			fmt.Fprintf(&b, "<li><a href=\"%s\">%s</a></li>\n", p, p)
		}
	}
	b.WriteString("</ul>\n</body></html>\n")
	return []byte(b.String())
}

// index returns the page number for path, or -1.
func (s Site) index(path string) int {
	if path == "/" {
		return 0
	}
	rest, ok := strings.CutPrefix(path, "/page/")
	if !ok {
		return -1
	}
	rest, ok = strings.CutSuffix(rest, ".html")
	if !ok {
		return -1
	}
	i, err := strconv.Atoi(rest)
	if err != nil || i <= 0 || i >= s.Pages || strconv.Itoa(i) != rest {
		return -1
	}
	return i
}

// ServeHTTP serves the site's pages and a permissive robots.txt; anything
// else is 404.
func (s Site) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == "/robots.txt" {
		w.Header().Set("Content-Type", "text/plain")
		fmt.Fprint(w, "User-agent: *\nAllow: /\n")
		return
	}
	if s.Broken && s.serveBroken(w, r) {
		return
	}
	i := s.index(r.URL.Path)
	if i < 0 {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Write(s.Page(i))
}

// serveBroken serves the broken pages and reports whether it did.
func (s Site) serveBroken(w http.ResponseWriter, r *http.Request) bool {
	switch r.URL.Path {
	case "/error.html":
		http.Error(w, "the demo server fails here on purpose", http.StatusInternalServerError)
	case "/moved.html":
		http.Redirect(w, r, s.Path(1), http.StatusMovedPermanently)
	case "/loop-a.html":
		http.Redirect(w, r, "/loop-b.html", http.StatusFound)
	case "/loop-b.html":
		http.Redirect(w, r, "/loop-a.html", http.StatusFound)
	case "/broken.html":
		w.Header().Set("Content-Type", "text/html")
		fmt.Fprint(w, "<html><head><title>Broken <b>markup</title><body><h1>Unclosed<p><a href='/page/1.html'>one<div></table>")
	case "/latin1.html":
		w.Header().Set("Content-Type", "text/html; charset=iso-8859-1")
		w.Write([]byte("<html><head><title>Caf\xe9 cr\xe8me</title></head><body><h1>Na\xefve</h1></body></html>"))
	case "/report.pdf":
		w.Header().Set("Content-Type", "application/pdf")
		fmt.Fprint(w, "%PDF-1.4\n% not really a PDF, but not HTML either\n")
	default:
		return false
	}
	return true
}

// Serve serves handler on 127.0.0.1 on a free port until ctx is done. It
// calls ready with the base URL ("http://127.0.0.1:PORT") once listening,
// which fits [structured.Start]. It returns nil after a clean shutdown.
func Serve(ctx context.Context, handler http.Handler, ready func(baseURL string)) error {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return fmt.Errorf("demo site: listen on loopback: %w", err)
	}
	srv := &http.Server{Handler: handler, ReadHeaderTimeout: 5 * time.Second}
	shutdownDone := make(chan struct{})
	stop := context.AfterFunc(ctx, func() {
		defer close(shutdownDone)
		shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
		defer cancel()
		if srv.Shutdown(shutdownCtx) != nil {
			srv.Close()
		}
	})
	ready("http://" + ln.Addr().String())
	err = srv.Serve(ln)
	if !stop() {
		<-shutdownDone // Serve returned because of Shutdown: let it finish
	}
	if !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("demo site: %w", err)
	}
	return nil
}
