package crawler

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha1"
	"crypto/x509"
	"encoding/base32"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/andybalholm/brotli"

	"github.com/trawl-dev/trawl/warc"
)

// sha1B32 is a payload digest computed here, independently of package warc.
func sha1B32(b []byte) string {
	s := sha1.Sum(b)
	return "sha1:" + base32.StdEncoding.EncodeToString(s[:])
}

func gzipped(s string) []byte {
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	zw.Write([]byte(s))
	zw.Close()
	return b.Bytes()
}

func brotlied(s string) []byte {
	var b bytes.Buffer
	bw := brotli.NewWriter(&b)
	bw.Write([]byte(s))
	bw.Close()
	return b.Bytes()
}

// captureSite serves the cases of the capture tests.
func captureSite() http.Handler {
	gz, br := gzipped("<title>gzip</title>"), brotlied("<title>brotli</title>")
	mux := http.NewServeMux()
	mux.HandleFunc("/robots.txt", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "User-agent: *\nAllow: /\n") })
	mux.HandleFunc("/chunked", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		io.WriteString(w, "<title>chunked</title>")
		w.(http.Flusher).Flush() // no Content-Length: chunked
		io.WriteString(w, "<p>second chunk</p>")
	})
	mux.HandleFunc("/gzip", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Encoding", "gzip")
		w.Header().Set("Content-Type", "text/html")
		w.Write(gz)
	})
	mux.HandleFunc("/br", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Encoding", "br")
		w.Header().Set("Content-Type", "text/html")
		w.(http.Flusher).Flush() // chunked and brotli
		w.Write(br)
	})
	mux.HandleFunc("/r1", func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, "/r2", http.StatusFound) })
	mux.HandleFunc("/r2", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/gzip", http.StatusMovedPermanently)
	})
	mux.HandleFunc("/big", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "65536")
		w.Write(bytes.Repeat([]byte("x"), 65536))
	})
	return mux
}

// archiveOne fetches url under capture, archives what was fetched, and
// returns the response, the fetch error and the records read back.
func archiveOne(t *testing.T, f *Fetcher, url string) (*Response, error, []*warc.ReadRecord) {
	t.Helper()
	ctx, take := WithCapture(t.Context())
	resp, ferr := f.Fetch(ctx, url)
	res := &Result{URL: url}
	if resp != nil {
		res.FinalURL, res.Status = RedactURL(resp.FinalURL), resp.Status // as NewResult does
	}
	prefix := filepath.Join(t.TempDir(), "t")
	w, err := warc.NewWriter(warc.Options{Prefix: prefix})
	if err != nil {
		t.Fatal(err)
	}
	a := NewArchive(w)
	prepared, err := a.Prepare(ctx, res, take())
	if err != nil {
		t.Fatal(err)
	}
	place, err := a.Write(ctx, prepared)
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Close(ctx); err != nil {
		t.Fatal(err)
	}
	files, _ := warc.Files(prefix)
	if len(files) != 1 {
		t.Fatalf("%d files, want 1", len(files))
	}
	fh, err := os.Open(files[0].Path)
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	rd := warc.NewReader(fh)
	var recs []*warc.ReadRecord
	for {
		r, err := rd.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if err := r.Verify(); err != nil {
			t.Error(err)
		}
		recs = append(recs, r)
	}
	if place != nil {
		var found bool
		for _, r := range recs {
			found = found || r.Offset == place.Offset && r.Length == place.Length && r.Type() == warc.TypeResponse
		}
		if !found {
			t.Errorf("placement %+v names no response record", place)
		}
	}
	return resp, ferr, recs
}

// ofType returns the records of type typ.
func ofType(recs []*warc.ReadRecord, typ string) []*warc.ReadRecord {
	var out []*warc.ReadRecord
	for _, r := range recs {
		if r.Type() == typ {
			out = append(out, r)
		}
	}
	return out
}

// TestCaptureRecords: chunked, gzip and brotli responses are archived as
// sent, with payload digests over the entity body as sent (chunking
// removed, content coding kept), computed here.
func TestCaptureRecords(t *testing.T) {
	srv := httptest.NewServer(captureSite())
	t.Cleanup(srv.Close)
	f, err := NewFetcher(Config{Capture: true, IgnoreRobots: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(f.Close)
	for _, c := range []struct {
		path, te string
		payload  []byte
	}{
		{"/chunked", "chunked", []byte("<title>chunked</title><p>second chunk</p>")},
		{"/gzip", "", gzipped("<title>gzip</title>")},
		{"/br", "chunked", brotlied("<title>brotli</title>")},
	} {
		t.Run(c.path, func(t *testing.T) {
			resp, err, recs := archiveOne(t, f, srv.URL+c.path)
			if err != nil {
				t.Fatal(err)
			}
			if resp.Proto != "HTTP/1.1" {
				t.Errorf("proto %s, want HTTP/1.1", resp.Proto)
			}
			reqs, resps := ofType(recs, warc.TypeRequest), ofType(recs, warc.TypeResponse)
			if len(reqs) != 1 || len(resps) != 1 || len(ofType(recs, warc.TypeMetadata)) != 1 {
				t.Fatalf("records %v, want a request, a response and a metadata", types(recs))
			}
			if want := "GET " + c.path + " HTTP/1.1\r\n"; !strings.HasPrefix(string(reqs[0].Block), want) {
				t.Errorf("request block %q, want it to start with %q", reqs[0].Block, want)
			}
			r := resps[0]
			if got := r.Header.Get("WARC-Target-URI"); got != srv.URL+c.path {
				t.Errorf("target %s", got)
			}
			if got := r.Header.Get("WARC-IP-Address"); got != "127.0.0.1" {
				t.Errorf("ip %q", got)
			}
			head, _, _ := warc.SplitHTTP(r.Block)
			if c.te != "" && !strings.Contains(strings.ToLower(string(head)), "transfer-encoding: "+c.te) {
				t.Errorf("response head without transfer-encoding %s:\n%s", c.te, head)
			}
			if got, want := r.Header.Get("WARC-Payload-Digest"), sha1B32(c.payload); got != want {
				t.Errorf("payload digest %s, want %s (over %q)", got, want, c.payload)
			}
			if got, want := r.Header.Get("WARC-Block-Digest"), sha1B32(r.Block); got != want {
				t.Errorf("block digest %s, want %s", got, want)
			}
			if reqs[0].Header.Get("WARC-Concurrent-To") != r.ID() || ofType(recs, warc.TypeMetadata)[0].Header.Get("WARC-Concurrent-To") != r.ID() {
				t.Errorf("request and metadata not concurrent to the response %s", r.ID())
			}
		})
	}
}

func types(recs []*warc.ReadRecord) []string {
	var out []string
	for _, r := range recs {
		out = append(out, r.Type()+" "+r.Header.Get("WARC-Target-URI"))
	}
	return out
}

// TestCaptureRedirectsAndRobots: robots.txt and every hop of a redirect
// chain get their request and response records, in order.
func TestCaptureRedirectsAndRobots(t *testing.T) {
	srv := httptest.NewServer(captureSite())
	t.Cleanup(srv.Close)
	f, err := NewFetcher(Config{Capture: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(f.Close)
	resp, err, recs := archiveOne(t, f, srv.URL+"/r1")
	if err != nil || resp.FinalURL != srv.URL+"/gzip" {
		t.Fatalf("fetch: %v, %+v", err, resp)
	}
	var got []string
	for _, r := range ofType(recs, warc.TypeResponse) {
		h, _ := warc.ParseHTTPResponse(must(warc.SplitHTTP(r.Block)))
		got = append(got, fmt.Sprintf("%s %d", strings.TrimPrefix(r.Header.Get("WARC-Target-URI"), srv.URL), h.Status))
	}
	want := []string{"/robots.txt 200", "/r1 302", "/r2 301", "/gzip 200"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("responses %v, want %v", got, want)
	}
	if m := ofType(recs, warc.TypeMetadata); len(m) != 1 || m[0].Header.Get("WARC-Target-URI") != srv.URL+"/gzip" {
		t.Errorf("metadata records %v, want one for the final URL", types(m))
	}
}

func must(head, _ []byte, err error) []byte {
	if err != nil {
		panic(err)
	}
	return head
}

// TestCaptureTruncated: a body cut by the body limit is archived as far
// as it came, with WARC-Truncated: length.
func TestCaptureTruncated(t *testing.T) {
	srv := httptest.NewServer(captureSite())
	t.Cleanup(srv.Close)
	f, err := NewFetcher(Config{Capture: true, IgnoreRobots: true, MaxBody: 1024, Retries: -1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(f.Close)
	_, err, recs := archiveOne(t, f, srv.URL+"/big")
	wantKind(t, err, KindTooLarge)
	resps := ofType(recs, warc.TypeResponse)
	if len(resps) != 1 {
		t.Fatalf("records %v, want one response", types(recs))
	}
	r := resps[0]
	if got := r.Header.Get("WARC-Truncated"); got != "length" {
		t.Errorf("WARC-Truncated %q, want length", got)
	}
	_, body, _ := warc.SplitHTTP(r.Block)
	if len(body) < 1024 || len(body) >= 65536 {
		t.Errorf("%d body bytes archived, want what came before the cut (at least the 1024 read, not all 65536)", len(body))
	}
	if got, want := r.Header.Get("WARC-Payload-Digest"), sha1B32(body); got != want {
		t.Errorf("payload digest %s, want %s", got, want)
	}
}

// TestCaptureKeepAlive: requests that share a kept-alive connection each
// get only their own bytes.
func TestCaptureKeepAlive(t *testing.T) {
	srv := httptest.NewServer(captureSite())
	t.Cleanup(srv.Close)
	f, err := NewFetcher(Config{Capture: true, IgnoreRobots: true, PerHost: 1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(f.Close)
	for _, p := range []string{"/gzip", "/chunked", "/br", "/gzip"} {
		ctx, take := WithCapture(t.Context())
		resp, err := f.Fetch(ctx, srv.URL+p)
		if err != nil {
			t.Fatal(err)
		}
		ex := take()
		if len(ex) != 1 {
			t.Fatalf("%s: %d exchanges, want 1", p, len(ex))
		}
		if n := bytes.Count(ex[0].Request, []byte("GET ")); n != 1 || !bytes.HasPrefix(ex[0].Request, []byte("GET "+p+" ")) {
			t.Errorf("%s: request %q", p, ex[0].Request)
		}
		if n := bytes.Count(ex[0].Response, []byte("HTTP/1.1 ")); n != 1 {
			t.Errorf("%s: %d status lines in %q", p, n, ex[0].Response)
		}
		_ = resp
	}
}

// TestCaptureTLSForcesHTTP1: over TLS to a server that speaks HTTP/2,
// a capturing fetcher speaks HTTP/1.1 and archives the bytes above TLS.
func TestCaptureTLSForcesHTTP1(t *testing.T) {
	srv := httptest.NewUnstartedServer(captureSite())
	srv.EnableHTTP2 = true
	srv.StartTLS()
	t.Cleanup(srv.Close)
	roots := x509.NewCertPool()
	roots.AddCert(srv.Certificate())

	plain, err := NewFetcher(Config{IgnoreRobots: true, rootCAs: roots})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(plain.Close)
	resp, err := plain.Fetch(t.Context(), srv.URL+"/gzip")
	if err != nil {
		t.Fatal(err)
	}
	if resp.Proto != "HTTP/2.0" {
		t.Fatalf("without capture: proto %s, want HTTP/2.0 (the server must offer h2 for this test to mean something)", resp.Proto)
	}

	f, err := NewFetcher(Config{Capture: true, IgnoreRobots: true, rootCAs: roots})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(f.Close)
	resp, err, recs := archiveOne(t, f, srv.URL+"/chunked")
	if err != nil {
		t.Fatal(err)
	}
	if resp.Proto != "HTTP/1.1" || resp.TLSVersion == "" {
		t.Errorf("with capture: proto %s, TLS %q; want HTTP/1.1 over TLS", resp.Proto, resp.TLSVersion)
	}
	resps := ofType(recs, warc.TypeResponse)
	if len(resps) != 1 || !bytes.HasPrefix(resps[0].Block, []byte("HTTP/1.1 200 OK\r\n")) {
		t.Fatalf("records %v; want one plain-text HTTP/1.1 response", types(recs))
	}
	if got, want := resps[0].Header.Get("WARC-Payload-Digest"), sha1B32([]byte("<title>chunked</title><p>second chunk</p>")); got != want {
		t.Errorf("payload digest %s, want %s", got, want)
	}
}

// TestCaptureKeepsDenyPrivate: the capturing dialers still refuse
// loopback with DenyPrivate, over http and https.
func TestCaptureKeepsDenyPrivate(t *testing.T) {
	srv := httptest.NewServer(captureSite())
	t.Cleanup(srv.Close)
	tsrv := httptest.NewTLSServer(captureSite())
	t.Cleanup(tsrv.Close)
	f, err := NewFetcher(Config{Capture: true, IgnoreRobots: true, DenyPrivate: true, Retries: -1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(f.Close)
	for _, u := range []string{srv.URL + "/gzip", tsrv.URL + "/gzip"} {
		ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
		_, err := f.Fetch(ctx, u)
		cancel()
		wantKind(t, err, KindDeniedPrivate)
	}
}

// TestCaptureRedactsPassword: the records name a URL with its password
// redacted, as the output does, and the page still gets its metadata
// record.
func TestCaptureRedactsPassword(t *testing.T) {
	srv := httptest.NewServer(captureSite())
	t.Cleanup(srv.Close)
	f, err := NewFetcher(Config{Capture: true, IgnoreRobots: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(f.Close)
	u := strings.Replace(srv.URL, "http://", "http://user:secret@", 1) + "/gzip"
	_, err, recs := archiveOne(t, f, u)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range recs {
		if strings.Contains(r.Header.Get("WARC-Target-URI"), "secret") {
			t.Errorf("%s record names %s", r.Type(), r.Header.Get("WARC-Target-URI"))
		}
	}
	if len(ofType(recs, warc.TypeMetadata)) != 1 {
		t.Errorf("records %v, want a metadata record", types(recs))
	}
}

// TestCaptureRedactsCredentials: the request record keeps the request as
// sent but for the values of the sensitive headers (Authorization from
// user:pass@ or -H, Cookie, a --sensitive-header), recorded as ***, and
// its block digest is that of the record; the server got the real values.
// CaptureCredentials keeps them.
func TestCaptureRedactsCredentials(t *testing.T) {
	got := make(chan http.Header, 4)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got <- r.Header.Clone()
		io.WriteString(w, "<title>t</title>")
	}))
	t.Cleanup(srv.Close)
	u := strings.Replace(srv.URL, "http://", "http://user:pw-secret@", 1) + "/"
	for _, keep := range []bool{false, true} {
		f, err := NewFetcher(Config{Capture: true, CaptureCredentials: keep, IgnoreRobots: true,
			Headers:          http.Header{"Cookie": {"sid=cookie-secret"}, "X-Api-Key": {"key-secret"}, "X-Plain": {"plain-value"}},
			SensitiveHeaders: []string{"x-api-key"}})
		if err != nil {
			t.Fatal(err)
		}
		_, err, recs := archiveOne(t, f, u)
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
		if h := <-got; h.Get("Authorization") == "" || h.Get("Cookie") != "sid=cookie-secret" || h.Get("X-Api-Key") != "key-secret" {
			t.Errorf("keep %v: the server got %v", keep, h)
		}
		reqs := ofType(recs, warc.TypeRequest)
		if len(reqs) != 1 {
			t.Fatalf("keep %v: records %v, want one request", keep, types(recs))
		}
		block := string(reqs[0].Block)
		if got, want := reqs[0].Header.Get("WARC-Block-Digest"), sha1B32(reqs[0].Block); got != want {
			t.Errorf("keep %v: block digest %s, want %s", keep, got, want)
		}
		if !strings.Contains(block, "X-Plain: plain-value\r\n") {
			t.Errorf("keep %v: a plain header is not recorded as sent:\n%s", keep, block)
		}
		if strings.Contains(block, "pw-secret") {
			t.Errorf("keep %v: the password in clear in the request record:\n%s", keep, block)
		}
		for _, secret := range []string{base64.StdEncoding.EncodeToString([]byte("user:pw-secret")), "cookie-secret", "key-secret"} {
			if strings.Contains(block, secret) != keep {
				t.Errorf("keep %v: %q in the request record: %v\n%s", keep, secret, !keep, block)
			}
		}
		if !keep {
			for _, line := range []string{"Authorization: ***\r\n", "Cookie: ***\r\n", "X-Api-Key: ***\r\n"} {
				if !strings.Contains(block, line) {
					t.Errorf("the request record has no %q:\n%s", line, block)
				}
			}
		}
	}
}

// TestCaptureTimeout: a body cut by the timeout is archived as far as it
// came, with WARC-Truncated: time.
func TestCaptureTimeout(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "100000")
		io.WriteString(w, "<title>slow</title>")
		w.(http.Flusher).Flush()
		<-r.Context().Done() // the rest never comes
	}))
	t.Cleanup(srv.Close)
	f, err := NewFetcher(Config{Capture: true, IgnoreRobots: true, Timeout: 300 * time.Millisecond, Retries: -1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(f.Close)
	_, err, recs := archiveOne(t, f, srv.URL+"/slow")
	wantKind(t, err, KindTimeout)
	resps := ofType(recs, warc.TypeResponse)
	if len(resps) != 1 {
		t.Fatalf("records %v, want one response", types(recs))
	}
	if got := resps[0].Header.Get("WARC-Truncated"); got != "time" {
		t.Errorf("WARC-Truncated %q, want time", got)
	}
	if !bytes.HasSuffix(resps[0].Block, []byte("\r\n\r\n<title>slow</title>")) {
		t.Errorf("block %q, want the part that came", resps[0].Block)
	}
}
