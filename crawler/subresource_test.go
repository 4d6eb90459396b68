package crawler

import (
	"compress/gzip"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
)

func TestSubresource(t *testing.T) {
	var private atomic.Int32
	mux := http.NewServeMux()
	mux.HandleFunc("/robots.txt", func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "User-agent: *\nDisallow: /private\n") })
	mux.HandleFunc("/private", func(w http.ResponseWriter, r *http.Request) { private.Add(1) })
	mux.HandleFunc("/moved", func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, "/elsewhere", http.StatusFound) })
	mux.HandleFunc("/big", func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, strings.Repeat("x", 2000)) })
	mux.HandleFunc("/gz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Encoding", "gzip")
		zw := gzip.NewWriter(w)
		fmt.Fprint(zw, "decoded")
		zw.Close()
	})
	mux.HandleFunc("/echo", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "%s %s ua=%s x=%s", r.Method, r.Header.Get("Content-Type"), r.Header.Get("User-Agent"), r.Header.Get("X-Page"))
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()
	f, err := NewFetcher(Config{MaxBody: 1000, UserAgent: "trawl-test"})
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	ctx := context.Background()
	get := func(path string, h http.Header) (*Response, error) {
		return f.Subresource(ctx, http.MethodGet, srv.URL+path, h, nil)
	}
	if _, err := get("/private", nil); KindOf(err) != KindRobotsDisallowed || private.Load() != 0 {
		t.Errorf("disallowed path: kind %q, %d hits", KindOf(err), private.Load())
	}
	if resp, err := get("/moved", nil); err != nil || resp.Status != http.StatusFound || resp.Header.Get("Location") != "/elsewhere" {
		t.Errorf("redirect: %v %+v", err, resp)
	}
	if _, err := get("/big", nil); KindOf(err) != KindTooLarge {
		t.Errorf("body over MaxBody: kind %q", KindOf(err))
	}
	if resp, err := get("/gz", nil); err != nil || string(resp.Body) != "decoded" || resp.Header.Get("Content-Encoding") != "" {
		t.Errorf("gzip: %v %q %q", err, resp.Body, resp.Header.Get("Content-Encoding"))
	}
	h := http.Header{"X-Page": {"1"}, "User-Agent": {"Chromium"}, "Proxy-Connection": {"keep-alive"}, "Content-Type": {"text/plain"}}
	resp, err := f.Subresource(ctx, http.MethodPost, srv.URL+"/echo", h, strings.NewReader("body"))
	if err != nil || string(resp.Body) != "POST text/plain ua=trawl-test x=1" {
		t.Errorf("echo: %v %q", err, resp.Body)
	}
	deny, err := NewFetcher(Config{DenyPrivate: true, IgnoreRobots: true})
	if err != nil {
		t.Fatal(err)
	}
	defer deny.Close()
	if _, err := deny.Subresource(ctx, http.MethodGet, srv.URL+"/big", nil, nil); KindOf(err) != KindDeniedPrivate {
		t.Errorf("deny-private: kind %q", KindOf(err))
	}
}
