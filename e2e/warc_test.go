//go:build linux

package e2e

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/trawl-dev/trawl/warc"
)

// warcSite serves n pages /p/0 ... /p/n-1, each linking to its two
// children in a binary tree, so that a crawl of /p/0 finds them all: pages
// divisible by 3 gzip-encoded, even pages chunked, odd ones with a
// Content-Length; every page has an ETag and answers a matching
// If-None-Match with 304. /p/0 also links to /redir, a redirect to /p/1.
// delay slows every page down, so that a kill lands mid-crawl.
func warcSite(t *testing.T, n int, delay time.Duration) *httptest.Server {
	mux := http.NewServeMux()
	mux.HandleFunc("/robots.txt", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "User-agent: *\nAllow: /\n") })
	mux.HandleFunc("/redir", func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, "/p/1", http.StatusFound) })
	mux.HandleFunc("/p/{i}", func(w http.ResponseWriter, r *http.Request) {
		var i int
		if _, err := fmt.Sscan(r.PathValue("i"), &i); err != nil || i >= n {
			http.NotFound(w, r)
			return
		}
		if delay > 0 && !serverLatency(r, delay) {
			return
		}
		etag := fmt.Sprintf(`"v1-%d"`, i)
		w.Header().Set("ETag", etag)
		if r.Header.Get("If-None-Match") == etag {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		var b strings.Builder
		fmt.Fprintf(&b, "<html><head><title>Page %d</title></head><body><h1>Page %d</h1>", i, i)
		for _, c := range []int{2*i + 1, 2*i + 2} {
			if c < n {
				fmt.Fprintf(&b, `<a href="/p/%d">%d</a> `, c, c)
			}
		}
		if i == 0 {
			b.WriteString(`<a href="/redir">redirect</a>`)
		}
		b.WriteString(strings.Repeat("<p>filler text for the archive</p>", 5) + "</body></html>")
		body := []byte(b.String())
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		if i%3 == 0 && strings.Contains(r.Header.Get("Accept-Encoding"), "gzip") {
			var z bytes.Buffer
			zw := gzip.NewWriter(&z)
			zw.Write(body)
			zw.Close()
			body = z.Bytes()
			w.Header().Set("Content-Encoding", "gzip")
		}
		if i%2 == 0 {
			w.Write(body[:len(body)/2])
			w.(http.Flusher).Flush() // chunked
			w.Write(body[len(body)/2:])
			return
		}
		w.Header().Set("Content-Length", fmt.Sprint(len(body)))
		w.Write(body)
	})
	s := httptest.NewServer(mux)
	t.Cleanup(s.Close)
	return s
}

// warcLine is what the WARC tests read of an output record.
type warcLine struct {
	URL      string           `json:"url"`
	FinalURL string           `json:"final_url"`
	Status   int              `json:"status"`
	Proto    string           `json:"proto"`
	Change   string           `json:"change"`
	Warc     *warc.Placement  `json:"warc"`
	Error    *json.RawMessage `json:"error"`
}

func readWarcLines(t *testing.T, path string) []warcLine {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out []warcLine
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var l warcLine
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			t.Fatalf("%s: %v: %s", path, err, sc.Bytes())
		}
		out = append(out, l)
	}
	return out
}

// archived is every record of every WARC file of a prefix, read back.
type archived struct {
	files []string
	recs  []*warc.ReadRecord
	file  map[*warc.ReadRecord]string
}

// readArchive reads every file of prefix with the validating reader:
// every record whole and its digests right, warcinfo first in each file,
// no file left .open.
func readArchive(t *testing.T, prefix string) archived {
	t.Helper()
	files, err := warc.Files(prefix)
	if err != nil {
		t.Fatal(err)
	}
	a := archived{file: map[*warc.ReadRecord]string{}}
	for _, f := range files {
		if f.Open {
			t.Errorf("%s left open", f.Path)
			continue
		}
		a.files = append(a.files, f.Path)
		fh, err := os.Open(f.Path)
		if err != nil {
			t.Fatal(err)
		}
		rd := warc.NewReader(fh)
		for i := 0; ; i++ {
			r, err := rd.Next()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Errorf("%s: unreadable: %v", f.Path, err)
				break
			}
			if err := r.Verify(); err != nil {
				t.Errorf("%s: %v", f.Path, err)
			}
			if (i == 0) != (r.Type() == warc.TypeWarcinfo) {
				t.Errorf("%s: record %d is %s; want warcinfo first and only first", f.Path, i, r.Type())
			}
			a.recs = append(a.recs, r)
			a.file[r] = f.Path
		}
		fh.Close()
	}
	return a
}

// checkPages checks the output against the archive: every record has
// warc pointing at a response (or revisit) record of its final URL, and
// every page has exactly one metadata record across the files, concurrent
// to that response record (a page's URL may have more responses: as the
// target of a redirect too).
func checkPages(t *testing.T, lines []warcLine, a archived) {
	t.Helper()
	byPlace := map[string]*warc.ReadRecord{}
	count := map[string]int{}
	concurrent := map[string]string{} // page URL: the response its metadata names
	for _, r := range a.recs {
		byPlace[fmt.Sprintf("%s@%d+%d", a.file[r], r.Offset, r.Length)] = r
		if r.Type() == warc.TypeMetadata {
			var page warcLine
			json.Unmarshal(r.Block, &page)
			count[page.URL]++
			concurrent[page.URL] = r.Header.Get("WARC-Concurrent-To")
		}
	}
	for _, l := range lines {
		if l.Warc == nil {
			t.Errorf("%s: no warc field", l.URL)
			continue
		}
		r := byPlace[fmt.Sprintf("%s@%d+%d", l.Warc.File, l.Warc.Offset, l.Warc.Length)]
		if r == nil {
			t.Errorf("%s: warc %+v names no record", l.URL, *l.Warc)
			continue
		}
		if (r.Type() != warc.TypeResponse && r.Type() != warc.TypeRevisit) || r.Header.Get("WARC-Target-URI") != l.FinalURL {
			t.Errorf("%s: warc names a %s record of %s, want the response of %s", l.URL, r.Type(), r.Header.Get("WARC-Target-URI"), l.FinalURL)
		}
		if count[l.URL] != 1 || concurrent[l.URL] != r.ID() {
			t.Errorf("%s: %d metadata records across the files, want exactly 1, concurrent to %s", l.URL, count[l.URL], r.ID())
		}
	}
}

// TestWarcCrawl: a crawl with --warc: robots.txt, the sitemap, a redirect chain and
// every page archived as sent, digests right, warcinfo with the
// --warc-header, metadata records, CDXJ indexes sorted and pointing at
// the records, and warcio (another implementation) reads every file
// with the same digests.
func TestWarcCrawl(t *testing.T) {
	t.Parallel()
	ctx := testContext(t)
	const n = 20
	s := warcSite(t, n, 0)
	dir := t.TempDir()
	prefix, out := filepath.Join(dir, "arch", "site"), filepath.Join(dir, "out.jsonl")
	if err := os.Mkdir(filepath.Dir(prefix), 0o755); err != nil {
		t.Fatal(err)
	}
	res := runTrawl(t, ctx, nil, "crawl", "-q", "--timeout", "5s", "--sitemap", "--warc", prefix, "--warc-cdx",
		"--warc-header", "operator: Test Operator", "-o", out, s.URL+"/p/0")
	if res.code != 0 {
		t.Fatalf("exit %d; stderr:\n%s", res.code, res.stderr)
	}
	lines := readWarcLines(t, out)
	if len(lines) != n+1 { // the pages and /redir
		t.Fatalf("%d records, want %d", len(lines), n+1)
	}
	a := readArchive(t, prefix)
	if len(a.files) != 1 {
		t.Fatalf("files %v, want one", a.files)
	}
	checkPages(t, lines, a)
	info := string(a.recs[0].Block)
	for _, want := range []string{"software: trawl/", "format: WARC File Format 1.1", "robots: obey", "operator: Test Operator\r\n"} {
		if !strings.Contains(info, want) {
			t.Errorf("warcinfo %q lacks %q", info, want)
		}
	}
	var targets []string
	meta := 0
	for _, r := range a.recs {
		switch r.Type() {
		case warc.TypeResponse:
			targets = append(targets, strings.TrimPrefix(r.Header.Get("WARC-Target-URI"), s.URL))
			if !bytes.HasPrefix(r.Block, []byte("HTTP/1.1 ")) || r.Header.Get("WARC-IP-Address") != "127.0.0.1" {
				t.Errorf("response %s: block starts %q, ip %q", r.Header.Get("WARC-Target-URI"), r.Block[:min(20, len(r.Block))], r.Header.Get("WARC-IP-Address"))
			}
		case warc.TypeMetadata:
			meta++
			var page warcLine
			if err := json.Unmarshal(r.Block, &page); err != nil || page.URL == "" {
				t.Errorf("metadata block %q: %v", r.Block, err)
			}
		}
	}
	for _, want := range []string{"/robots.txt", "/sitemap.xml", "/redir", "/p/1", "/p/0"} {
		if !slices.Contains(targets, want) {
			t.Errorf("no response record of %s among %v", want, targets)
		}
	}
	if meta != n+1 {
		t.Errorf("%d metadata records, want %d", meta, n+1)
	}
	checkCDX(t, a)
	checkWithWarcio(t, a)
}

// checkCDX checks each file's CDXJ index: sorted, one line per response
// record, each naming the record at its offset.
func checkCDX(t *testing.T, a archived) {
	t.Helper()
	for _, f := range a.files {
		b, err := os.ReadFile(warc.CDXPath(f))
		if err != nil {
			t.Fatal(err)
		}
		var ls []string
		if len(b) > 0 {
			ls = strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
		}
		if !slices.IsSorted(ls) {
			t.Errorf("%s not sorted", warc.CDXPath(f))
		}
		n := 0
		for _, r := range a.recs {
			if a.file[r] == f && (r.Type() == warc.TypeResponse || r.Type() == warc.TypeRevisit) {
				n++
			}
		}
		if len(ls) != n {
			t.Errorf("%s: %d lines for %d response records", warc.CDXPath(f), len(ls), n)
		}
		for _, l := range ls {
			parts := strings.SplitN(l, " ", 3)
			var j struct{ URL, Offset, Length, Filename, Digest string }
			if len(parts) != 3 || len(parts[1]) != 14 || json.Unmarshal([]byte(parts[2]), &j) != nil {
				t.Errorf("cdx line %q", l)
				continue
			}
			var off int64
			fmt.Sscan(j.Offset, &off)
			r, err := warc.ReadAt(f, off)
			if err != nil || r.Header.Get("WARC-Target-URI") != j.URL || j.Filename != filepath.Base(f) || parts[0] != warc.SURT(j.URL) {
				t.Errorf("cdx line %q: record %v, %v", l, err, r)
			}
		}
	}
}

// warcioDir installs the warcio npm package once into the user's cache
// and returns its directory; the test is skipped when node or npm is
// missing or the install fails (failed under CI=true).
func warcioDir(t *testing.T) string {
	t.Helper()
	skip := func(format string, args ...any) {
		if os.Getenv("CI") == "true" {
			t.Fatalf(format, args...)
		}
		t.Skipf(format, args...)
	}
	if _, err := exec.LookPath("node"); err != nil {
		skip("warcio: no node: %v", err)
	}
	cache, err := os.UserCacheDir()
	if err != nil {
		cache = os.TempDir()
	}
	dir := filepath.Join(cache, "trawl-test-warcio")
	script, err := os.ReadFile(filepath.Join("testdata", "warcio-check.mjs"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "warcio", "package.json")); err != nil {
		if _, err := exec.LookPath("npm"); err != nil {
			skip("warcio: no npm: %v", err)
		}
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, "npm", "install", "--no-audit", "--no-fund", "--prefix", dir, "warcio@2")
		if b, err := cmd.CombinedOutput(); err != nil {
			skip("warcio: npm install failed: %v\n%s", err, b)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "warcio-check.mjs"), script, 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

// checkWithWarcio reads every file with warcio: `warcio index` without
// error and the same records, and the payload digests of the response
// records computed from warcio's de-chunked payload equal to ours.
func checkWithWarcio(t *testing.T, a archived) {
	t.Helper()
	dir := warcioDir(t)
	ctx := testContext(t)
	for _, f := range a.files {
		cmd := exec.CommandContext(ctx, "node", filepath.Join(dir, "node_modules", "warcio", "dist", "cli.js"), "index", f)
		b, err := cmd.Output()
		if err != nil {
			t.Fatalf("warcio index %s: %v", f, err)
		}
		n := 0
		for _, r := range a.recs {
			if a.file[r] == f {
				n++
			}
		}
		if got := strings.Count(string(b), "\n"); got != n {
			t.Errorf("warcio index %s: %d records, we read %d:\n%s", f, got, n, b)
		}
	}
	cmd := exec.CommandContext(ctx, "node", append([]string{filepath.Join(dir, "warcio-check.mjs")}, a.files...)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	b, err := cmd.Output()
	if err != nil {
		t.Fatalf("warcio check: %v\n%s", err, stderr.String())
	}
	ours := map[string]string{}
	for _, r := range a.recs {
		ours[fmt.Sprintf("%s@%d", a.file[r], r.Offset)] = r.Type()
	}
	seen := 0
	for _, l := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		var rec struct {
			File, Type string
			Offset     int64
			Digest     string
			DigestOK   *bool
			Computed   string
		}
		if err := json.Unmarshal([]byte(l), &rec); err != nil {
			t.Fatalf("warcio check line %q: %v", l, err)
		}
		seen++
		if ours[fmt.Sprintf("%s@%d", rec.File, rec.Offset)] != rec.Type {
			t.Errorf("warcio read a %s record at %s@%d, we did not", rec.Type, rec.File, rec.Offset)
		}
		if rec.Type == warc.TypeResponse && (rec.DigestOK == nil || !*rec.DigestOK) {
			t.Errorf("warcio: payload digest of the record at %d is %s, computed %s", rec.Offset, rec.Digest, rec.Computed)
		}
	}
	if seen != len(a.recs) {
		t.Errorf("warcio read %d records, we read %d", seen, len(a.recs))
	}
}

// TestWarcRotation: --warc-max-size starts new files, each readable and
// starting with its warcinfo, serials in order.
func TestWarcRotation(t *testing.T) {
	t.Parallel()
	ctx := testContext(t)
	const n = 30
	s := warcSite(t, n, 0)
	dir := t.TempDir()
	prefix, out := filepath.Join(dir, "rot"), filepath.Join(dir, "out.jsonl")
	res := runTrawl(t, ctx, nil, "crawl", "-q", "--warc", prefix, "--warc-max-size", "4KiB", "--warc-cdx", "-o", out, s.URL+"/p/0")
	if res.code != 0 {
		t.Fatalf("exit %d; stderr:\n%s", res.code, res.stderr)
	}
	a := readArchive(t, prefix)
	if len(a.files) < 4 {
		t.Fatalf("%d files with --warc-max-size 4KiB, want several", len(a.files))
	}
	for i, f := range a.files {
		if !strings.HasSuffix(f, fmt.Sprintf("-%05d.warc.gz", i)) {
			t.Errorf("file %d is %s", i, f)
		}
	}
	checkPages(t, readWarcLines(t, out), a)
	checkCDX(t, a)
}

// TestWarcKillResume: a crawl with --warc killed with SIGKILL at random
// points, resumed each time, and then to its end: no file left .open
// or unreadable, every page in the output exactly once, with exactly one
// response record across the files.
func TestWarcKillResume(t *testing.T) {
	t.Parallel()
	ctx := testContext(t)
	const n = 200
	s := warcSite(t, n, 10*time.Millisecond)
	dir := t.TempDir()
	prefix, out := filepath.Join(dir, "k"), filepath.Join(dir, "out.jsonl")
	a := []string{"crawl", "-q", "-c", "4", "--per-host", "4", "--timeout", "5s", "--warc", prefix, "--warc-max-size", "16KiB", "--warc-cdx", "-o", out, s.URL + "/p/0"}
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rnd := rand.New(rand.NewPCG(seed, 18))
	done := 0
	for kill := range 3 {
		args := a
		if kill > 0 {
			args = append(slices.Clone(a), "--resume")
		}
		p := startTrawl(t, ctx, nil, args...)
		at := done + 1 + rnd.IntN(40)
		if err := waitFile(ctx, dir, out, lines(at)); err != nil {
			t.Fatal(err, "\nstderr:\n", p.stderr)
		}
		p.cmd.Process.Signal(syscall.SIGKILL) // it may have just ended
		code := p.wait()
		if code == 0 {
			t.Logf("run %d ended before the kill", kill)
			break
		}
		if code != -1 {
			t.Fatalf("killed run %d: exit code %d", kill, code)
		}
		b, _ := os.ReadFile(out)
		done = strings.Count(string(b), "\n")
		t.Logf("killed run %d after %d records", kill, done)
	}
	res := runTrawl(t, ctx, nil, append(a, "--resume")...)
	if res.code != 0 {
		t.Fatalf("final --resume: exit %d; stderr:\n%s", res.code, res.stderr)
	}
	lines := readWarcLines(t, out)
	seen := map[string]int{}
	for _, l := range lines {
		seen[l.URL]++
	}
	for i := range n {
		if u := fmt.Sprintf("%s/p/%d", s.URL, i); seen[u] != 1 {
			t.Errorf("%s: %d records, want 1", u, seen[u])
		}
	}
	arch := readArchive(t, prefix)
	checkPages(t, lines, arch)
	checkCDX(t, arch)
}

// TestWarcSinceRevisit: with --since, an unchanged page (304) is a
// revisit record (server-not-modified) that refers to the response
// record of the previous run, which the previous output's warc names.
func TestWarcSinceRevisit(t *testing.T) {
	t.Parallel()
	ctx := testContext(t)
	const n = 5
	s := warcSite(t, n, 0)
	dir := t.TempDir()
	out1, out2 := filepath.Join(dir, "one.jsonl"), filepath.Join(dir, "two.jsonl")
	p1, p2 := filepath.Join(dir, "one"), filepath.Join(dir, "two")
	var urls []string
	for i := range n {
		urls = append(urls, fmt.Sprintf("%s/p/%d", s.URL, i))
	}
	if res := runTrawl(t, ctx, nil, append([]string{"fetch", "-q", "--warc", p1, "-o", out1}, urls...)...); res.code != 0 {
		t.Fatalf("first run: exit %d; stderr:\n%s", res.code, res.stderr)
	}
	if res := runTrawl(t, ctx, nil, append([]string{"fetch", "-q", "--since", out1, "--warc", p2, "--warc-cdx", "-o", out2}, urls...)...); res.code != 0 {
		t.Fatalf("second run: exit %d; stderr:\n%s", res.code, res.stderr)
	}
	first := map[string]warcLine{}
	for _, l := range readWarcLines(t, out1) {
		first[l.URL] = l
	}
	a := readArchive(t, p2)
	checkPages(t, readWarcLines(t, out2), a)
	for _, l := range readWarcLines(t, out2) {
		if l.Change != "unchanged" || l.Warc == nil {
			t.Errorf("%s: change %q, warc %v; want unchanged with a warc", l.URL, l.Change, l.Warc)
			continue
		}
		r, err := warc.ReadAt(l.Warc.File, l.Warc.Offset)
		if err != nil {
			t.Fatal(err)
		}
		prev, err := warc.ReadAt(first[l.URL].Warc.File, first[l.URL].Warc.Offset)
		if err != nil {
			t.Fatal(err)
		}
		if r.Type() != warc.TypeRevisit || r.Header.Get("WARC-Profile") != warc.ProfileServerNotModified ||
			r.Header.Get("WARC-Refers-To") != prev.ID() || r.Header.Get("WARC-Refers-To-Target-URI") != l.URL ||
			r.Header.Get("WARC-Refers-To-Date") != prev.Header.Get("WARC-Date") ||
			r.Header.Get("WARC-Payload-Digest") != prev.Header.Get("WARC-Payload-Digest") {
			t.Errorf("%s: record %v, want a revisit of %s %s", l.URL, r.Header, prev.ID(), prev.Header.Get("WARC-Date"))
		}
		if !bytes.HasPrefix(r.Block, []byte("HTTP/1.1 304 ")) {
			t.Errorf("%s: revisit block %q, want the 304 as sent", l.URL, r.Block)
		}
		// The metadata record holds the record as the output has it, the
		// fields carried forward from the first run included.
		var meta *warc.ReadRecord
		for _, m := range a.recs {
			if m.Type() == warc.TypeMetadata && m.Header.Get("WARC-Concurrent-To") == r.ID() {
				meta = m
			}
		}
		var got struct {
			Title  string `json:"title"`
			Change string `json:"change"`
		}
		if meta == nil || json.Unmarshal(meta.Block, &got) != nil || got.Title == "" || got.Change != "unchanged" {
			t.Errorf("%s: metadata record of the revisit %v, want the record with its carried title", l.URL, meta)
		}
	}
	checkCDX(t, a)
}

// TestWarcTLS: over TLS to a server that offers HTTP/2, --warc speaks
// HTTP/1.1 and archives the plain-text messages.
func TestWarcTLS(t *testing.T) {
	t.Parallel()
	ctx := testContext(t)
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		fmt.Fprintf(w, "<title>%s</title>", r.Proto)
	}))
	srv.EnableHTTP2 = true
	srv.StartTLS()
	t.Cleanup(srv.Close)
	dir := t.TempDir()
	ca := filepath.Join(dir, "ca.pem")
	if err := os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o644); err != nil {
		t.Fatal(err)
	}
	run := func(extra ...string) warcLine {
		out := filepath.Join(dir, fmt.Sprintf("out%d.jsonl", len(extra)))
		cmd := trawlCmd(ctx, append(append([]string{"fetch", "-q", "--no-robots", "-o", out}, extra...), srv.URL+"/")...)
		cmd.Env = append(cmd.Env, "SSL_CERT_FILE="+ca)
		if b, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("trawl %v: %v\n%s", extra, err, b)
		}
		ls := readWarcLines(t, out)
		if len(ls) != 1 || ls[0].Status != 200 {
			t.Fatalf("records %+v", ls)
		}
		return ls[0]
	}
	if l := run(); l.Proto != "HTTP/2.0" {
		t.Fatalf("without --warc: proto %s, want HTTP/2.0 (the server must offer h2 for this test to mean something)", l.Proto)
	}
	prefix := filepath.Join(dir, "tls")
	if l := run("--warc", prefix); l.Proto != "HTTP/1.1" {
		t.Errorf("with --warc: proto %s, want HTTP/1.1", l.Proto)
	}
	a := readArchive(t, prefix)
	var resp *warc.ReadRecord
	for _, r := range a.recs {
		if r.Type() == warc.TypeResponse {
			resp = r
		}
	}
	if resp == nil || !bytes.HasSuffix(resp.Block, []byte("<title>HTTP/1.1</title>")) || !bytes.HasPrefix(resp.Block, []byte("HTTP/1.1 200 OK\r\n")) {
		t.Errorf("response record %v, want the plain-text HTTP/1.1 response", resp)
	}
}

// TestWarcCredentials: the credentials trawl sends (user:pass@, -H Cookie)
// reach the server but are recorded as *** in the archive, whose digests
// hold; --warc-keep-credentials records them as sent.
func TestWarcCredentials(t *testing.T) {
	t.Parallel()
	ctx := testContext(t)
	var mu sync.Mutex
	var cookies []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		cookies = append(cookies, r.Header.Get("Cookie"))
		mu.Unlock()
		if _, pass, ok := r.BasicAuth(); !ok || pass != "pw-s3cret" {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		w.Header().Set("Content-Type", "text/html")
		io.WriteString(w, "<title>in</title>")
	}))
	t.Cleanup(srv.Close)
	dir := t.TempDir()
	u := strings.Replace(srv.URL, "http://", "http://me:pw-s3cret@", 1) + "/"
	basic := base64.StdEncoding.EncodeToString([]byte("me:pw-s3cret"))
	for _, keep := range []bool{false, true} {
		prefix := filepath.Join(dir, fmt.Sprint("keep-", keep))
		a := []string{"fetch", "-q", "--no-robots", "--warc", prefix, "-H", "Cookie: sid=c00kie", "-o", prefix + ".jsonl", u}
		if keep {
			a = append(a, "--warc-keep-credentials")
		}
		if res := runTrawl(t, ctx, nil, a...); res.code != 0 {
			t.Fatalf("keep %v: exit %d: %s", keep, res.code, res.stderr)
		}
		if ls := readWarcLines(t, prefix+".jsonl"); len(ls) != 1 || ls[0].Status != 200 {
			t.Fatalf("keep %v: records %+v, want one 200 (the server got the credentials)", keep, ls)
		}
		var reqs []string
		for _, r := range readArchive(t, prefix).recs { // digests verified
			if r.Type() == warc.TypeRequest {
				reqs = append(reqs, string(r.Block))
			}
		}
		if len(reqs) != 1 {
			t.Fatalf("keep %v: %d request records, want 1", keep, len(reqs))
		}
		for _, secret := range []string{basic, "c00kie"} {
			if strings.Contains(reqs[0], secret) != keep {
				t.Errorf("keep %v: %q in the request record is %v:\n%s", keep, secret, !keep, reqs[0])
			}
		}
		if !keep && (!strings.Contains(reqs[0], "Authorization: ***\r\n") || !strings.Contains(reqs[0], "Cookie: ***\r\n")) {
			t.Errorf("the request record does not show the credentials as ***:\n%s", reqs[0])
		}
	}
	mu.Lock()
	defer mu.Unlock()
	for _, c := range cookies {
		if c != "sid=c00kie" {
			t.Errorf("the server got Cookie %q", c)
		}
	}
}

// TestWarcCompress: --warc-compress normal, fast and none (and
// --warc-no-compress, the same as none) each write files that our
// validating reader and warcio read whole, with every page archived;
// pages of 20 KB of HTML take the fewest bytes with normal, more with
// fast (Huffman coding alone) and the most with none.
func TestWarcCompress(t *testing.T) {
	t.Parallel()
	ctx := testContext(t)
	words := strings.Fields("the of net page link crawl fetch robots scope depth queue host rate limit stream task")
	mux := http.NewServeMux()
	mux.HandleFunc("/p/{i}", func(w http.ResponseWriter, r *http.Request) {
		var b strings.Builder
		fmt.Fprintf(&b, "<html><head><title>Page %s</title></head><body>", r.PathValue("i"))
		for k := 0; b.Len() < 20000; k++ {
			fmt.Fprintf(&b, "<p><a href=\"/p/%d\">%s</a> %s %s</p>\n", k, words[k%len(words)], words[(k*7)%len(words)], words[(k*11)%len(words)])
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		io.WriteString(w, b.String()+"</body></html>")
	})
	s := httptest.NewServer(mux)
	t.Cleanup(s.Close)
	dir := t.TempDir()
	var urls strings.Builder
	const n = 10
	for i := range n {
		fmt.Fprintf(&urls, "%s/p/%d\n", s.URL, i)
	}
	list := filepath.Join(dir, "urls.txt")
	if err := os.WriteFile(list, []byte(urls.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	size := map[string]int64{}
	for _, mode := range [][]string{{"--warc-compress", "normal"}, {"--warc-compress", "fast"}, {"--warc-compress", "none"}, {"--warc-no-compress"}} {
		name := mode[len(mode)-1]
		prefix, out := filepath.Join(dir, name, "w"), filepath.Join(dir, name+".jsonl")
		args := append([]string{"fetch", "-q", "--no-robots", "--warc", prefix}, mode...)
		res := runTrawl(t, ctx, nil, append(args, "-o", out, list)...)
		if res.code != 0 {
			t.Fatalf("%v: exit %d; stderr:\n%s", mode, res.code, res.stderr)
		}
		lines := readWarcLines(t, out)
		if len(lines) != n {
			t.Fatalf("%v: %d records, want %d", mode, len(lines), n)
		}
		a := readArchive(t, prefix)
		checkPages(t, lines, a)
		checkWithWarcio(t, a)
		for _, f := range a.files {
			st, err := os.Stat(f)
			if err != nil {
				t.Fatal(err)
			}
			size[name] += st.Size()
		}
	}
	t.Logf("archive sizes: %v", size)
	// The runs' records differ by a few bytes (dates, elapsed_ms).
	if d := size["none"] - size["--warc-no-compress"]; !(size["normal"] < size["fast"] && size["fast"] < size["none"]) || d < -100 || d > 100 {
		t.Errorf("archive sizes %v: want normal < fast < none, and --warc-no-compress as none", size)
	}
}

// TestWarcFlagErrors: bad --warc flags are usage errors naming the flag.
func TestWarcFlagErrors(t *testing.T) {
	t.Parallel()
	ctx := testContext(t)
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--warc", "x", "--warc-digest", "md5"}, "--warc-digest"},
		{[]string{"--warc", "x", "--warc-max-size", "0"}, "--warc-max-size"},
		{[]string{"--warc", "x", "--warc-header", "no colon"}, "--warc-header"},
		{[]string{"--warc-cdx"}, "--warc-cdx needs --warc"},
		{[]string{"--warc-keep-credentials"}, "--warc-keep-credentials needs --warc"},
		{[]string{"--warc", "x", "--warc-compress", "best"}, `--warc-compress "best": want normal, fast or none`},
		{[]string{"--warc", "x", "--warc-compress", "fast", "--warc-no-compress"}, "--warc-no-compress contradicts --warc-compress fast"},
		{[]string{"--warc-compress", "fast"}, "--warc-compress needs --warc"},
		{[]string{"--warc-compress", "normal"}, "--warc-compress needs --warc"},
		{[]string{"--warc", "x", "--warc-compress="}, "want normal, fast or none"},
		{[]string{"--warc", "x", "--warc-header", "Trawl-Run: mine"}, "trawl-run is trawl's own field"},
		{[]string{"--warc", "x", "--warc-compress", "normal", "--warc-no-compress"}, "--warc-no-compress contradicts --warc-compress normal"},
		{[]string{"--warc", "dir/"}, "--warc"},
	} {
		res := runTrawl(t, ctx, nil, append(append([]string{"fetch"}, c.args...), "http://127.0.0.1:1/")...)
		if res.code != 2 || !strings.Contains(res.stderr, c.want) {
			t.Errorf("%v: exit %d, stderr %q; want 2 naming %s", c.args, res.code, res.stderr, c.want)
		}
	}
}

// TestWarcResumeBesideRunning: two processes archive into one --warc
// prefix (as the processes of a shared Redis run on one machine may).
// One is killed and resumed while the other still writes: the resumed
// one closes only its own crashed file, leaves the other's open file
// alone (with a warning), and the other goes on and closes it whole.
func TestWarcResumeBesideRunning(t *testing.T) {
	t.Parallel()
	ctx := testContext(t)
	gateA, gateB := newGate(), newGate()
	defer gateA.open()
	defer gateB.open()
	mux := http.NewServeMux()
	mux.HandleFunc("/p/{i}", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "<html><title>%s</title><p>%s</p></html>", r.PathValue("i"), strings.Repeat("filler ", 100))
	})
	mux.Handle("/gate/a", gateA)
	mux.Handle("/gate/b", gateB)
	s := httptest.NewServer(mux)
	t.Cleanup(s.Close)
	dir := t.TempDir()
	prefix := filepath.Join(dir, "shared")
	input := func(name string, urls ...string) string {
		path := filepath.Join(dir, name+".txt")
		if err := os.WriteFile(path, []byte(strings.Join(urls, "\n")+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		return path
	}
	outA, outB := filepath.Join(dir, "a.jsonl"), filepath.Join(dir, "b.jsonl")
	argsA := []string{"fetch", "-q", "--no-robots", "-c", "1", "--timeout", "60s", "--warc", prefix, "-o", outA,
		input("a", s.URL+"/p/a0", s.URL+"/gate/a")}
	argsB := []string{"fetch", "--no-robots", "-c", "1", "--timeout", "60s", "--warc", prefix, "-o", outB,
		input("b", s.URL+"/p/b0", s.URL+"/p/b1", s.URL+"/gate/b")}

	a := startTrawl(t, ctx, nil, argsA...)
	if err := waitFile(ctx, dir, outA, lines(1)); err != nil {
		t.Fatal(err, "\nstderr of a:\n", a.stderr)
	}
	b := startTrawl(t, ctx, nil, argsB...)
	if err := waitFile(ctx, dir, outB, lines(2)); err != nil {
		t.Fatal(err, "\nstderr of b:\n", b.stderr)
	}
	b.signal(syscall.SIGKILL)
	if code := b.wait(); code != -1 {
		t.Fatalf("b killed: exit %d", code)
	}
	gateB.open()
	res := runTrawl(t, ctx, nil, append(argsB, "--resume")...)
	if res.code != 0 {
		t.Fatalf("b --resume: exit %d; stderr:\n%s", res.code, res.stderr)
	}
	if !strings.Contains(res.stderr, "another running trawl is writing it") {
		t.Errorf("b --resume did not say it left a's file alone; stderr:\n%s", res.stderr)
	}
	gateA.open()
	if code := a.wait(); code != 0 {
		t.Fatalf("a: exit %d; stderr:\n%s", code, a.stderr)
	}
	linesA, linesB := readWarcLines(t, outA), readWarcLines(t, outB)
	if len(linesA) != 2 || len(linesB) != 3 {
		t.Fatalf("%d records of a, %d of b; want 2 and 3", len(linesA), len(linesB))
	}
	arch := readArchive(t, prefix)
	checkPages(t, append(linesA, linesB...), arch)
}

// TestWarcChangedOnlyResume: --since --changed-only --warc killed after
// archiving unchanged pages (revisit records) and a new page after them,
// with the crash before the list of unchanged pages was written: --resume
// keeps those records and counts their pages done (the file's records
// say so), so that every page has exactly one record across the files.
func TestWarcChangedOnlyResume(t *testing.T) {
	t.Parallel()
	ctx := testContext(t)
	const n = 20
	gate := newGate()
	defer gate.open()
	mux := http.NewServeMux()
	mux.HandleFunc("/p/{i}", func(w http.ResponseWriter, r *http.Request) {
		etag := fmt.Sprintf(`"v-%s"`, r.PathValue("i"))
		w.Header().Set("ETag", etag)
		if r.Header.Get("If-None-Match") == etag {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		fmt.Fprintf(w, "<html><title>Page %s</title><p>text</p></html>", r.PathValue("i"))
	})
	mux.HandleFunc("/new", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "<html><title>New</title></html>") })
	mux.Handle("/gate", gate)
	s := httptest.NewServer(mux)
	t.Cleanup(s.Close)
	dir := t.TempDir()
	var urls []string
	for i := range n {
		urls = append(urls, fmt.Sprintf("%s/p/%d", s.URL, i))
	}
	out1, out2, prefix := filepath.Join(dir, "one.jsonl"), filepath.Join(dir, "two.jsonl"), filepath.Join(dir, "two")
	if res := runTrawl(t, ctx, nil, append([]string{"fetch", "-q", "-o", out1}, urls...)...); res.code != 0 {
		t.Fatalf("first run: exit %d; stderr:\n%s", res.code, res.stderr)
	}
	args := append([]string{"fetch", "-q", "-c", "1", "--timeout", "60s", "--since", out1, "--changed-only", "--warc", prefix, "-o", out2},
		append(urls, s.URL+"/new", s.URL+"/gate")...)
	p := startTrawl(t, ctx, nil, args...)
	if err := waitFile(ctx, dir, out2, lines(1)); err != nil { // /new, after every unchanged page
		t.Fatal(err, "\nstderr:\n", p.stderr)
	}
	p.signal(syscall.SIGKILL)
	if code := p.wait(); code != -1 {
		t.Fatalf("killed run: exit %d", code)
	}
	// The crash came before the list of unchanged pages was written.
	if err := os.Truncate(out2+".unchanged", 0); err != nil {
		t.Fatal(err)
	}
	gate.open()
	res := runTrawl(t, ctx, nil, append(args, "--resume")...)
	if res.code != 0 {
		t.Fatalf("--resume: exit %d; stderr:\n%s", res.code, res.stderr)
	}
	lines := readWarcLines(t, out2)
	var got []string
	for _, l := range lines {
		got = append(got, strings.TrimPrefix(l.URL, s.URL))
	}
	if len(got) != 2 || got[0] != "/new" || got[1] != "/gate" {
		t.Errorf("output %v, want /new then /gate", got)
	}
	arch := readArchive(t, prefix)
	checkPages(t, lines, arch)
	metadata := map[string]int{}
	for _, r := range arch.recs {
		if r.Type() == warc.TypeMetadata {
			var page warcLine
			json.Unmarshal(r.Block, &page)
			metadata[page.URL]++
		}
	}
	for _, u := range urls {
		if metadata[u] != 1 {
			t.Errorf("%s: %d metadata records across the files, want 1", u, metadata[u])
		}
	}
	if _, err := os.Stat(out2 + ".unchanged"); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the list of unchanged pages outlived the completed run: %v", err)
	}
}

// TestWarcResumeOwnFilesOnly: two runs (two -o files) archive into one
// --warc prefix and are both killed; the --resume of one closes only its
// own files and leaves the other's (with a warning) for that run's own
// --resume, which knows which of its pages its output holds. Every page
// of both outputs then has exactly one record.
func TestWarcResumeOwnFilesOnly(t *testing.T) {
	t.Parallel()
	ctx := testContext(t)
	gate := newGate()
	defer gate.open()
	mux := http.NewServeMux()
	mux.HandleFunc("/p/{i}", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "<html><title>%s</title><p>%s</p></html>", r.PathValue("i"), strings.Repeat("filler ", 100))
	})
	mux.Handle("/gate/", gate)
	s := httptest.NewServer(mux)
	t.Cleanup(s.Close)
	dir := t.TempDir()
	prefix := filepath.Join(dir, "shared")
	argsOf := func(name string) []string {
		in := filepath.Join(dir, name+".txt")
		urls := s.URL + "/p/" + name + "0\n" + s.URL + "/p/" + name + "1\n" + s.URL + "/gate/" + name + "\n"
		if err := os.WriteFile(in, []byte(urls), 0o644); err != nil {
			t.Fatal(err)
		}
		return []string{"fetch", "--no-robots", "-c", "1", "--timeout", "60s", "--warc", prefix, "-o", filepath.Join(dir, name+".jsonl"), in}
	}
	a, b := argsOf("a"), argsOf("b")
	for _, args := range [][]string{a, b} {
		p := startTrawl(t, ctx, nil, args...)
		if err := waitFile(ctx, dir, args[len(args)-2], lines(2)); err != nil {
			t.Fatal(err, "\nstderr:\n", p.stderr)
		}
		p.signal(syscall.SIGKILL)
		if code := p.wait(); code != -1 {
			t.Fatalf("killed run: exit %d", code)
		}
	}
	gate.open()
	res := runTrawl(t, ctx, nil, append(a, "--resume")...)
	if res.code != 0 {
		t.Fatalf("a --resume: exit %d; stderr:\n%s", res.code, res.stderr)
	}
	if !strings.Contains(res.stderr, "another run wrote it") {
		t.Errorf("a --resume did not leave b's file; stderr:\n%s", res.stderr)
	}
	if res := runTrawl(t, ctx, nil, append(b, "--resume")...); res.code != 0 {
		t.Fatalf("b --resume: exit %d; stderr:\n%s", res.code, res.stderr)
	}
	arch := readArchive(t, prefix)
	for _, args := range [][]string{a, b} {
		if _, err := os.Stat(args[len(args)-2] + ".warc-run"); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("the run name of %s outlived its completed run: %v", args[len(args)-2], err)
		}
		lines := readWarcLines(t, args[len(args)-2])
		if len(lines) != 3 {
			t.Errorf("%s: %d records, want 3", args[len(args)-2], len(lines))
		}
		checkPages(t, lines, arch)
	}
}

// TestWarcOutputDevNull: --warc with -o /dev/null keeps only the archive:
// the run completes with its files closed, and keeps no run name next to
// a device (/dev/null.warc-run), which no --resume could read.
func TestWarcOutputDevNull(t *testing.T) {
	t.Parallel()
	ctx := testContext(t)
	s := warcSite(t, 2, 0)
	prefix := filepath.Join(t.TempDir(), "n")
	res := runTrawl(t, ctx, nil, "fetch", "-q", "--no-robots", "--warc", prefix, "-o", "/dev/null", s.URL+"/p/0", s.URL+"/p/1")
	if res.code != 0 {
		t.Fatalf("exit %d; stderr:\n%s", res.code, res.stderr)
	}
	files, err := warc.Files(prefix)
	if err != nil || len(files) != 1 || files[0].Open {
		t.Errorf("WARC files %+v (%v), want one, closed", files, err)
	}
	if _, err := os.Stat("/dev/null.warc-run"); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a run name next to /dev/null: %v", err)
	}

	// -o /dev/stdout with stdout a regular file: no file next to it either.
	dir := t.TempDir()
	f, err := os.Create(filepath.Join(dir, "out.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	cmd := trawlCmd(ctx, "fetch", "-q", "--no-robots", "--warc", filepath.Join(dir, "s"), "-o", "/dev/stdout", s.URL+"/p/0")
	cmd.Stdout = f
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("-o /dev/stdout into a file: %v; stderr:\n%s", err, stderr.String())
	}
	if _, err := os.Stat("/dev/stdout.warc-run"); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a run name next to /dev/stdout: %v", err)
	}
	if b, _ := os.ReadFile(f.Name()); !bytes.Contains(b, []byte(s.URL+"/p/0")) {
		t.Errorf("the record did not reach the file: %q", b)
	}
}

// TestWarcFreshOverKilled: a run started without --resume over the output
// of a killed run takes a new name and says that the killed run's .open
// files stay as they are (no --resume closes them now), and does not
// promise that a --resume will.
func TestWarcFreshOverKilled(t *testing.T) {
	t.Parallel()
	ctx := testContext(t)
	gate := newGate()
	defer gate.open()
	mux := http.NewServeMux()
	mux.HandleFunc("/p/{i}", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "<title>p</title>") })
	mux.Handle("/gate", gate)
	s := httptest.NewServer(mux)
	t.Cleanup(s.Close)
	dir := t.TempDir()
	prefix, out := filepath.Join(dir, "k"), filepath.Join(dir, "out.jsonl")
	args := []string{"fetch", "--no-robots", "-c", "1", "--timeout", "60s", "--warc", prefix, "-o", out, s.URL + "/p/0", s.URL + "/gate"}
	p := startTrawl(t, ctx, nil, args...)
	if err := waitFile(ctx, dir, out, lines(1)); err != nil {
		t.Fatal(err, "\nstderr:\n", p.stderr)
	}
	p.signal(syscall.SIGKILL)
	if code := p.wait(); code != -1 {
		t.Fatalf("killed run: exit %d", code)
	}
	files, _ := warc.Files(prefix)
	if len(files) != 1 || !files[0].Open {
		t.Fatalf("files of the killed run %+v, want one .open", files)
	}
	res := runTrawl(t, ctx, nil, append(args[:len(args)-1:len(args)-1], s.URL+"/p/1")...)
	if res.code != 0 {
		t.Fatalf("fresh run: exit %d; stderr:\n%s", res.code, res.stderr)
	}
	if !strings.Contains(res.stderr, files[0].Path+") stay as they are: without --resume this run starts afresh") {
		t.Errorf("the fresh run did not name the killed run's file as left; stderr:\n%s", res.stderr)
	}
	if strings.Contains(res.stderr, "--resume of the run that wrote them closes them") {
		t.Errorf("the fresh run promised a --resume would close the killed run's file; stderr:\n%s", res.stderr)
	}
}
