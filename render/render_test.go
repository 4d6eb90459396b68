package render

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/trawl-dev/trawl/crawler"
)

// withRenderer runs fn with a Renderer on a fetcher of fcfg.
func withRenderer(t *testing.T, fcfg crawler.Config, cfg Config, fn func(ctx context.Context, f *crawler.Fetcher, r *Renderer)) {
	t.Helper()
	needChrome(t)
	f, err := crawler.NewFetcher(fcfg)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	cfg.Fetcher = f
	if cfg.Mode == Never {
		cfg.Mode = Always
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	err = Run(ctx, cfg, func(ctx context.Context, r *Renderer) error {
		fn(ctx, f, r)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// renderURL fetches u with f and renders it with r.
func renderURL(ctx context.Context, t *testing.T, f *crawler.Fetcher, r *Renderer, u string) *crawler.Rendered {
	t.Helper()
	resp, err := f.Fetch(ctx, u)
	if err != nil {
		t.Fatalf("fetch %s: %v", u, err)
	}
	out, err := r.Render(ctx, resp)
	if err != nil {
		t.Fatalf("render %s: %v", u, err)
	}
	return out
}

func htmlPage(body string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprint(w, body)
	}
}

func TestRenderScriptInjectedContent(t *testing.T) {
	mux := http.NewServeMux()
	mux.Handle("/", htmlPage(`<!doctype html><html><head><title>shell</title></head><body><div id="root"></div>
<script>
document.title = "Injected title";
var a = document.createElement("a"); a.href = "/next"; a.textContent = "next";
document.getElementById("root").appendChild(a);
var p = document.createElement("p"); p.textContent = "injected text"; document.body.appendChild(p);
</script></body></html>`))
	srv := httptest.NewServer(mux)
	defer srv.Close()
	withRenderer(t, crawler.Config{IgnoreRobots: true}, Config{}, func(ctx context.Context, f *crawler.Fetcher, r *Renderer) {
		out := renderURL(ctx, t, f, r, srv.URL+"/")
		html := string(out.HTML)
		for _, want := range []string{"<title>Injected title</title>", `<a href="/next">next</a>`, "injected text", "<!DOCTYPE html>"} {
			if !strings.Contains(html, want) {
				t.Errorf("rendered document lacks %q:\n%s", want, html)
			}
		}
		if out.TimedOut {
			t.Error("render timed out")
		}
	})
}
