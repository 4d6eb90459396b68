package render

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/trawl-dev/trawl/crawler"
)

// TestRenderBusyPage: a page whose script never yields is cut off at the
// cap and its document taken as it is, and the next page of the same
// site still renders.
func TestRenderBusyPage(t *testing.T) {
	mux := http.NewServeMux()
	mux.Handle("/busy", htmlPage(`<html><head><title>busy</title></head><body><script>while (true) {}</script></body></html>`))
	mux.Handle("/ok", htmlPage(`<html><head><title>x</title></head><body><script>document.title = "fine"</script></body></html>`))
	srv := httptest.NewServer(mux)
	defer srv.Close()
	withRenderer(t, crawler.Config{IgnoreRobots: true}, Config{Timeout: 2 * time.Second}, func(ctx context.Context, f *crawler.Fetcher, r *Renderer) {
		out, err := r.Render(ctx, fetchPage(ctx, t, f, srv.URL+"/busy"))
		if err != nil {
			t.Fatalf("busy page: %v", err)
		}
		if !out.TimedOut || out.Elapsed > 2*time.Second+cdpTimeout {
			t.Errorf("busy page: timed out %v after %v, want true within the cap", out.TimedOut, out.Elapsed)
		}
		mustContain(t, string(out.HTML), "<title>busy</title>")
		out = renderURL(ctx, t, f, r, srv.URL+"/ok")
		mustContain(t, string(out.HTML), "<title>fine</title>")
	})
}
