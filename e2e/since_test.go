package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
)

// sincePage is one page of a sinceSite: its body and validators, and how
// the server treats a conditional request for it.
type sincePage struct {
	body         string
	etag         string
	lastModified string
	ignoreCond   bool // answers 200 whatever the validators say
	status       int  // 0: 200
	location     string
}

// sinceSite is a site whose pages change between runs. It records the
// conditional headers of every request.
type sinceSite struct {
	*httptest.Server
	mu    sync.Mutex
	pages map[string]sincePage
	inm   map[string][]string // If-None-Match received, by path
	ims   map[string][]string // If-Modified-Since received, by path
	hits  map[string]int      // 200s with a body, by path
	order []string            // the paths requested, in order
	// hold, when set, holds the requests for holdPath until it is
	// closed; arrived gets one value for each such request.
	holdPath string
	hold     chan struct{}
	arrived  chan struct{}
}

func newSinceSite(t *testing.T, pages map[string]sincePage) *sinceSite {
	s := &sinceSite{pages: pages, inm: map[string][]string{}, ims: map[string][]string{}, hits: map[string]int{}}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.Close)
	return s
}

// interruptAt runs trawl with args, holds its request for path, sends
// SIGINT once it came and fails t unless trawl exits 130; then it lets
// held requests go and holds no more. It returns trawl's stderr.
func (s *sinceSite) interruptAt(t *testing.T, ctx context.Context, path string, args ...string) string {
	t.Helper()
	s.mu.Lock()
	s.holdPath, s.hold, s.arrived = path, make(chan struct{}), make(chan struct{}, 4)
	s.mu.Unlock()
	p := startTrawl(t, ctx, nil, args...)
	select {
	case <-s.arrived:
	case <-ctx.Done():
		t.Fatalf("the held request for %s never came", path)
	}
	p.signal(os.Interrupt)
	if code := p.wait(); code != 130 {
		t.Fatalf("interrupted run: exit %d, want 130: %s", code, p.stderr.String())
	}
	s.mu.Lock()
	close(s.hold)
	s.hold = nil
	s.mu.Unlock()
	return p.stderr.String()
}

func (s *sinceSite) serve(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	if hold := s.hold; hold != nil && r.URL.Path == s.holdPath {
		s.mu.Unlock()
		s.arrived <- struct{}{}
		select {
		case <-hold:
		case <-r.Context().Done():
			return
		}
		s.mu.Lock()
	}
	defer s.mu.Unlock()
	p, ok := s.pages[r.URL.Path]
	inm, ims := r.Header.Get("If-None-Match"), r.Header.Get("If-Modified-Since")
	s.inm[r.URL.Path] = append(s.inm[r.URL.Path], inm)
	s.order = append(s.order, r.URL.Path)
	s.ims[r.URL.Path] = append(s.ims[r.URL.Path], ims)
	if !ok {
		http.NotFound(w, r)
		return
	}
	if p.etag != "" {
		w.Header().Set("ETag", p.etag)
	}
	if p.lastModified != "" {
		w.Header().Set("Last-Modified", p.lastModified)
	}
	if p.status != 0 {
		if p.location != "" {
			w.Header().Set("Location", p.location)
		}
		w.WriteHeader(p.status)
		return
	}
	if !p.ignoreCond {
		// Weak comparison for If-None-Match, exact match for
		// If-Modified-Since (nginx's default).
		weak := func(e string) string { return strings.TrimPrefix(e, "W/") }
		if (inm != "" && p.etag != "" && weak(inm) == weak(p.etag)) ||
			(inm == "" && ims != "" && ims == p.lastModified) {
			w.WriteHeader(http.StatusNotModified)
			return
		}
	}
	s.hits[r.URL.Path]++
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	fmt.Fprint(w, p.body)
}

// set replaces the pages (nil deletes one).
func (s *sinceSite) set(path string, p *sincePage) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if p == nil {
		delete(s.pages, path)
		return
	}
	s.pages[path] = *p
}

// lastHeaders returns the last If-None-Match and If-Modified-Since sent
// for path.
func (s *sinceSite) lastHeaders(path string) (inm, ims string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := len(s.inm[path])
	if n == 0 {
		return "", ""
	}
	return s.inm[path][n-1], s.ims[path][n-1]
}

// sinceRecord is a record with the fields of --since.
type sinceRecord struct {
	URL               string   `json:"url"`
	Status            int      `json:"status"`
	Title             string   `json:"title"`
	Links             []string `json:"links"`
	ContentHash       string   `json:"content_hash"`
	ETag              string   `json:"etag"`
	FetchedAt         string   `json:"fetched_at"`
	Change            string   `json:"change"`
	PreviousFetchedAt string   `json:"previous_fetched_at"`
	Via               string   `json:"via"`
	Error             *struct {
		Kind string `json:"kind"`
	} `json:"error"`
}

func readSinceRecords(t *testing.T, path string) map[string]sinceRecord {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]sinceRecord{}
	for i, line := range strings.Split(strings.TrimSuffix(string(b), "\n"), "\n") {
		if line == "" {
			continue
		}
		var r sinceRecord
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			t.Fatalf("%s line %d: %v", path, i+1, err)
		}
		if _, dup := m[r.URL]; dup {
			t.Errorf("%s: %s twice", path, r.URL)
		}
		m[r.URL] = r
	}
	return m
}

const lmDate = "Mon, 02 Jan 2026 15:04:05 GMT"

func sincePages() map[string]sincePage {
	html := func(title string) string {
		return "<html><head><title>" + title + "</title></head><body><a href=\"/etag\">e</a></body></html>"
	}
	return map[string]sincePage{
		"/etag":      {body: html("etag"), etag: `"e1"`},
		"/etag-edit": {body: html("edit 1"), etag: `"x1"`},
		"/lm":        {body: html("lm"), lastModified: lmDate},
		"/none":      {body: html("none")},
		"/none-edit": {body: html("none 1")},
		"/ignore":    {body: html("ignore"), etag: `"i1"`, ignoreCond: true},
		"/weak":      {body: html("weak"), etag: `W/"w1"`},
		"/back":      {body: html("back 1"), lastModified: lmDate},
		"/deleted":   {body: html("deleted"), etag: `"d1"`},
		"/flaky":     {status: http.StatusServiceUnavailable},
	}
}

// TestSinceChanges: a run, changes on the server, a run with --since:
// every page gets the right change, 304s carry the previous fields, the
// validators are sent, and a page that failed with a 503 is fetched
// whole.
func TestSinceChanges(t *testing.T) {
	t.Parallel()
	ctx := testContext(t)
	s := newSinceSite(t, sincePages())
	dir := t.TempDir()
	paths := []string{"/etag", "/etag-edit", "/lm", "/none", "/none-edit", "/ignore", "/weak", "/back", "/deleted", "/flaky"}
	urls := s.urlsOf(paths...)
	first := filepath.Join(dir, "first.jsonl")
	res := runTrawl(t, ctx, nil, args("fetch", "-q", "-o", first, urlFile(t, urls))...)
	if res.code != 0 {
		t.Fatalf("run 1: exit %d: %s", res.code, res.stderr)
	}
	before := readSinceRecords(t, first)
	for _, r := range before {
		if r.Change != "" {
			t.Errorf("run 1 without --since: %s has change %q", r.URL, r.Change)
		}
	}

	html := func(title string) string { return "<html><head><title>" + title + "</title></head></html>" }
	s.set("/etag-edit", &sincePage{body: html("edit 2"), etag: `"x2"`})
	s.set("/none-edit", &sincePage{body: html("none 2")})
	s.set("/back", &sincePage{body: html("back 2"), lastModified: "Sun, 01 Jan 2026 00:00:00 GMT"})
	s.set("/deleted", nil)
	s.set("/flaky", &sincePage{body: html("flaky")})
	s.set("/added", &sincePage{body: html("added"), etag: `"a1"`})

	second := filepath.Join(dir, "second.jsonl")
	res = runTrawl(t, ctx, nil, args("fetch", "--since", first, "-o", second, urlFile(t, append(urls, s.URL+"/added")))...)
	if res.code != 0 {
		t.Fatalf("run 2: exit %d: %s", res.code, res.stderr)
	}
	if want := "by change: changed 3, gone 1, new 2, unchanged 5\n"; !strings.Contains(res.stderr, want) {
		t.Errorf("run 2: summary %q, want %q", res.stderr, want)
	}
	after := readSinceRecords(t, second)
	want := map[string]struct {
		change string
		status int
	}{
		"/etag": {"unchanged", 304}, "/etag-edit": {"changed", 200}, "/lm": {"unchanged", 304},
		"/none": {"unchanged", 200}, "/none-edit": {"changed", 200}, "/ignore": {"unchanged", 200},
		"/weak": {"unchanged", 304}, "/back": {"changed", 200}, "/deleted": {"gone", 404},
		"/flaky": {"new", 200}, "/added": {"new", 200},
	}
	if len(after) != len(want) {
		t.Errorf("run 2: %d records, want %d", len(after), len(want))
	}
	for path, w := range want {
		r, ok := after[s.URL+path]
		if !ok {
			t.Errorf("run 2: no record of %s", path)
			continue
		}
		if r.Change != w.change || r.Status != w.status {
			t.Errorf("%s: change %q status %d, want %q %d", path, r.Change, r.Status, w.change, w.status)
		}
	}
	// A 304 carries the previous record's fields, fetched now.
	for _, path := range []string{"/etag", "/lm", "/weak"} {
		prev, now := before[s.URL+path], after[s.URL+path]
		if now.Title != prev.Title || now.ContentHash != prev.ContentHash || now.ContentHash == "" ||
			strings.Join(now.Links, " ") != strings.Join(prev.Links, " ") || len(now.Links) != 1 {
			t.Errorf("%s: 304 record %+v does not carry the previous %+v", path, now, prev)
		}
		if now.PreviousFetchedAt != prev.FetchedAt || now.FetchedAt == prev.FetchedAt {
			t.Errorf("%s: fetched_at %s previous_fetched_at %s, want now and %s", path, now.FetchedAt, now.PreviousFetchedAt, prev.FetchedAt)
		}
	}
	// The validators went out; none for the page that failed.
	for path, want := range map[string][2]string{
		"/etag": {`"e1"`, ""}, "/lm": {"", lmDate}, "/weak": {`W/"w1"`, ""}, "/ignore": {`"i1"`, ""},
		"/none": {"", ""}, "/flaky": {"", ""}, "/back": {"", lmDate},
	} {
		if inm, ims := s.lastHeaders(path); inm != want[0] || ims != want[1] {
			t.Errorf("%s: If-None-Match %q If-Modified-Since %q, want %q %q", path, inm, ims, want[0], want[1])
		}
	}

	// --changed-only against the second run: only what changed since.
	s.set("/etag-edit", &sincePage{body: html("edit 3"), etag: `"x3"`})
	third := filepath.Join(dir, "third.jsonl")
	sum := filepath.Join(dir, "sum.json")
	res = runTrawl(t, ctx, nil, args("fetch", "-q", "--since", second, "--changed-only", "--summary-json", sum, "-o", third, urlFile(t, append(urls, s.URL+"/added")))...)
	if res.code != 0 {
		t.Fatalf("run 3: exit %d: %s", res.code, res.stderr)
	}
	got := readSinceRecords(t, third)
	if len(got) != 1 || got[s.URL+"/etag-edit"].Change != "changed" {
		t.Errorf("--changed-only wrote %v, want only /etag-edit changed", got)
	}
	b, err := os.ReadFile(sum)
	if err != nil {
		t.Fatal(err)
	}
	var summary struct {
		URLs     int            `json:"urls"`
		ByChange map[string]int `json:"by_change"`
	}
	if err := json.Unmarshal(b, &summary); err != nil || summary.URLs != len(want) {
		t.Errorf("--changed-only summary counts %d URLs (%v), want %d: %s", summary.URLs, err, len(want), b)
	}
	if fmt.Sprint(summary.ByChange) != "map[changed:1 unchanged:10]" {
		t.Errorf("--changed-only summary by_change %v, want changed 1, unchanged 10 (the 404 again)", summary.ByChange)
	}
}

// urlsOf returns the URLs of paths on s.
func (s *sinceSite) urlsOf(paths ...string) []string {
	var out []string
	for _, p := range paths {
		out = append(out, s.URL+p)
	}
	return out
}

// TestSinceBadInput: a --since file that is not trawl's output is a usage
// error naming the file and the line; a torn last line is ignored; an
// output that is a --since file and --changed-only without --since are
// refused.
func TestSinceBadInput(t *testing.T) {
	t.Parallel()
	ctx := testContext(t)
	s := newSinceSite(t, map[string]sincePage{"/a": {body: "<title>a</title>", etag: `"a"`}})
	in := urlFile(t, []string{s.URL + "/a"})
	dir := t.TempDir()
	good := fmt.Sprintf(`{"url":%q,"status":200,"links":[],"etag":"\"a\"","content_hash":"x","fetched_at":"2026-01-01T00:00:00.000Z"}`+"\n", s.URL+"/a")
	for _, c := range []struct {
		name, prev, want string
	}{
		{"not json", good + "hello\n", "line 2"},
		{"wrong type", good + `{"url":"http://x/","status":"200"}` + "\n", "line 2"},
		{"bad time", `{"url":"http://x/","status":200,"fetched_at":"yesterday"}` + "\n" + good, "line 1"},
		{"links not a list", good + good + `{"url":"http://x/","links":"a"}` + "\n", "line 3"},
	} {
		prev := filepath.Join(dir, strings.ReplaceAll(c.name, " ", "-")+".jsonl")
		if err := os.WriteFile(prev, []byte(c.prev), 0o644); err != nil {
			t.Fatal(err)
		}
		res := runTrawl(t, ctx, nil, args("fetch", "--since", prev, "-o", filepath.Join(dir, "out.jsonl"), in)...)
		if res.code != 2 || !strings.Contains(res.stderr, prev+" "+c.want) {
			t.Errorf("%s: exit %d, stderr %q; want 2 naming %s %s", c.name, res.code, res.stderr, prev, c.want)
		}
	}

	torn := filepath.Join(dir, "torn.jsonl")
	if err := os.WriteFile(torn, []byte(good+`{"url":"http://x/","sta`), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "torn-out.jsonl")
	res := runTrawl(t, ctx, nil, args("fetch", "-q", "--since", torn, "-o", out, in)...)
	if res.code != 0 {
		t.Fatalf("torn last line: exit %d: %s", res.code, res.stderr)
	}
	if r := readSinceRecords(t, out)[s.URL+"/a"]; r.Change != "unchanged" || r.Status != 304 {
		t.Errorf("torn last line: record %+v, want a 304 unchanged", r)
	}
	if after, _ := os.ReadFile(torn); !strings.HasSuffix(string(after), `"sta`) {
		t.Errorf("--since changed its file: %q", after)
	}

	missing := filepath.Join(dir, "missing.jsonl")
	res = runTrawl(t, ctx, nil, args("fetch", "--since", missing, "-o", filepath.Join(dir, "m.jsonl"), in)...)
	if res.code != 0 || !strings.Contains(res.stderr, missing+": no such file") {
		t.Errorf("missing --since: exit %d, stderr %q; want 0 and a warning", res.code, res.stderr)
	}
	if r := readSinceRecords(t, filepath.Join(dir, "m.jsonl"))[s.URL+"/a"]; r.Change != "new" {
		t.Errorf("missing --since: change %q, want new", r.Change)
	}

	for _, c := range []struct {
		name string
		args []string
		want string
	}{
		{"output is since", []string{"--since", torn, "-o", torn}, "same file as the input"},
		{"changed-only alone", []string{"--changed-only", "-o", filepath.Join(dir, "o.jsonl")}, "--changed-only needs --since"},
	} {
		res := runTrawl(t, ctx, nil, args("fetch", append(c.args, in)...)...)
		if res.code != 2 || !strings.Contains(res.stderr, c.want) {
			t.Errorf("%s: exit %d, stderr %q; want 2 and %q", c.name, res.code, res.stderr, c.want)
		}
	}
}

// crawledRing serves a ring of four pages with ETags (/ → /a → /b → /c
// → /), crawls it once into DIR/1.jsonl, and returns the site, DIR and
// that output.
func crawledRing(t *testing.T, ctx context.Context) (s *sinceSite, dir, first string) {
	t.Helper()
	page := func(title, link string) sincePage {
		return sincePage{body: `<title>` + title + `</title><a href="` + link + `">next</a>`, etag: `"` + title + `"`}
	}
	s = newSinceSite(t, map[string]sincePage{"/": page("home", "/a"), "/a": page("a", "/b"), "/b": page("b", "/c"), "/c": page("c", "/")})
	dir = t.TempDir()
	first = filepath.Join(dir, "1.jsonl")
	if res := runTrawl(t, ctx, nil, args("crawl", "-q", "-o", first, s.URL+"/")...); res.code != 0 {
		t.Fatalf("run 1: exit %d: %s", res.code, res.stderr)
	}
	return s, dir, first
}

// TestSinceCrawl: a re-crawl with --since walks the whole site through
// unchanged pages (304s whose links come from the previous records) and
// downloads only the page that changed.
func TestSinceCrawl(t *testing.T) {
	t.Parallel()
	ctx := testContext(t)
	s, dir, first := crawledRing(t, ctx)
	second := filepath.Join(dir, "2.jsonl")
	s.set("/c", &sincePage{body: `<title>c2</title><a href="/">home</a>`, etag: `"c2"`})
	if res := runTrawl(t, ctx, nil, args("crawl", "-q", "--since", first, "-o", second, s.URL+"/")...); res.code != 0 {
		t.Fatalf("run 2: exit %d: %s", res.code, res.stderr)
	}
	got := readSinceRecords(t, second)
	want := map[string]string{"/": "unchanged", "/a": "unchanged", "/b": "unchanged", "/c": "changed"}
	if len(got) != len(want) {
		t.Errorf("re-crawl: %d records, want %d: %v", len(got), len(want), got)
	}
	for path, change := range want {
		if r := got[s.URL+path]; r.Change != change {
			t.Errorf("re-crawl %s: change %q status %d, want %q", path, r.Change, r.Status, change)
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, path := range []string{"/", "/a", "/b"} {
		if s.hits[path] != 1 {
			t.Errorf("%s downloaded %d times, want once (run 1 only)", path, s.hits[path])
		}
	}
}

// TestSinceCronRecipe runs the README's --since cron line three times
// with changes on the site in between: each run leaves the newest
// complete output in last.jsonl with the right changes.
func TestSinceCronRecipe(t *testing.T) {
	t.Parallel()
	needTools(t, "bash")
	ctx := testContext(t)
	s, dir, script := cronRecipe(t)
	run := func(n int, want map[string]string) {
		t.Helper()
		cmd := trawlShell(ctx, dir, script)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("run %d: %v\n%s\n%s", n, err, script, out)
		}
		if _, err := os.Stat(filepath.Join(dir, "run.jsonl")); !os.IsNotExist(err) {
			t.Errorf("run %d: run.jsonl left behind (%v)", n, err)
		}
		got := readSinceRecords(t, filepath.Join(dir, "last.jsonl"))
		for path, change := range want {
			if r := got[s.URL+path]; r.Change != change {
				t.Errorf("run %d: %s change %q status %d, want %q", n, path, r.Change, r.Status, change)
			}
		}
		if len(got) != len(want) {
			t.Errorf("run %d: %d records, want %d", n, len(got), len(want))
		}
	}
	run(1, map[string]string{"/a": "new", "/b": "new", "/c": "new"})
	s.set("/a", &sincePage{body: "<title>a2</title>", etag: `"a2"`})
	run(2, map[string]string{"/a": "changed", "/b": "unchanged", "/c": "unchanged"})
	s.set("/c", nil)
	run(3, map[string]string{"/a": "unchanged", "/b": "unchanged", "/c": "gone"})
	// The third run's 304 for /b carries the first run's title through
	// the second run's 304 record.
	if r := readSinceRecords(t, filepath.Join(dir, "last.jsonl"))[s.URL+"/b"]; r.Title != "b" || r.Status != 304 {
		t.Errorf("run 3: /b is %+v, want a 304 with the title carried forward", r)
	}
}

// trawlShell is a bash running script in dir.
func trawlShell(ctx context.Context, dir, script string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, "bash", "-e", "-o", "pipefail", "-c", script)
	cmd.Dir = dir
	return cmd
}

// TestSinceChangedOnlyResume: a --changed-only run interrupted, then
// resumed: the unchanged URLs it left out of -o are listed beside it and
// not fetched again, every changed URL is in -o exactly once, and the
// list is removed once the run completes.
func TestSinceChangedOnlyResume(t *testing.T) {
	t.Parallel()
	ctx := testContext(t)
	pages := map[string]sincePage{}
	var paths []string
	for i := range 6 {
		p := fmt.Sprintf("/p%d", i)
		pages[p] = sincePage{body: "<title>" + p + "</title>", etag: `"` + p + `"`}
		paths = append(paths, p)
	}
	s := newSinceSite(t, pages)
	dir := t.TempDir()
	in := urlFile(t, s.urlsOf(paths...))
	prev, out := filepath.Join(dir, "prev.jsonl"), filepath.Join(dir, "out.jsonl")
	if res := runTrawl(t, ctx, nil, args("fetch", "-q", "-o", prev, in)...); res.code != 0 {
		t.Fatalf("run 1: exit %d: %s", res.code, res.stderr)
	}
	s.set("/p1", &sincePage{body: "<title>p1 new</title>", etag: `"p1b"`})
	s.set("/p5", &sincePage{body: "<title>p5 new</title>", etag: `"p5b"`})
	a := args("fetch", "-q", "-c", "1", "--per-host", "1", "--grace", "0", "--since", prev, "--changed-only", "-o", out, in)
	s.interruptAt(t, ctx, "/p5", a...)
	listed, err := os.ReadFile(out + ".unchanged")
	if err != nil || strings.Count(string(listed), "\n") != 4 {
		t.Fatalf("unchanged list %q (%v), want the 4 unchanged URLs", listed, err)
	}
	s.mu.Lock()
	before := len(s.inm["/p0"])
	s.mu.Unlock()
	if res := runTrawl(t, ctx, nil, append(a, "--resume")...); res.code != 0 {
		t.Fatalf("resumed run: exit %d: %s", res.code, res.stderr)
	}
	got := readSinceRecords(t, out)
	if len(got) != 2 || got[s.URL+"/p1"].Change != "changed" || got[s.URL+"/p5"].Change != "changed" {
		t.Errorf("resumed --changed-only output %v, want /p1 and /p5 changed, once each", got)
	}
	s.mu.Lock()
	if after := len(s.inm["/p0"]); after != before {
		t.Errorf("/p0, unchanged and listed, was fetched again by the resumed run")
	}
	s.mu.Unlock()
	if _, err := os.Stat(out + ".unchanged"); !os.IsNotExist(err) {
		t.Errorf("the unchanged list is left after a complete run (%v)", err)
	}
}

// TestSinceAfterFailure: of several --since files the newest record of a
// URL wins; when it is a transient failure, the URL is fetched whole
// (no validators) and compared with the last success.
func TestSinceAfterFailure(t *testing.T) {
	t.Parallel()
	ctx := testContext(t)
	s := newSinceSite(t, map[string]sincePage{
		"/same": {body: "<title>same</title>", etag: `"s"`},
		"/edit": {body: "<title>edit</title>", etag: `"e"`},
	})
	dir := t.TempDir()
	in := urlFile(t, s.urlsOf("/same", "/edit"))
	first := filepath.Join(dir, "first.jsonl")
	if res := runTrawl(t, ctx, nil, args("fetch", "-q", "-o", first, in)...); res.code != 0 {
		t.Fatalf("run 1: exit %d: %s", res.code, res.stderr)
	}
	// A later run in which both failed to connect, and an older one in
	// which /same had other content: neither wins over what they should.
	failed := filepath.Join(dir, "failed.jsonl")
	older := filepath.Join(dir, "older.jsonl")
	var fb, ob strings.Builder
	for _, u := range s.urlsOf("/same", "/edit") {
		fmt.Fprintf(&fb, `{"url":%q,"status":0,"links":[],"error":{"kind":"connect","message":"refused"},"fetched_at":"2099-01-01T00:00:00.000Z"}`+"\n", u)
		fmt.Fprintf(&ob, `{"url":%q,"status":200,"links":[],"etag":"\"old\"","content_hash":"%064d","fetched_at":"2000-01-01T00:00:00.000Z"}`+"\n", u, 0)
	}
	for p, c := range map[string]string{failed: fb.String(), older: ob.String()} {
		if err := os.WriteFile(p, []byte(c), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	s.set("/edit", &sincePage{body: "<title>edit 2</title>", etag: `"e2"`})
	out := filepath.Join(dir, "out.jsonl")
	if res := runTrawl(t, ctx, nil, args("fetch", "-q", "--since", failed, "--since", first, "--since", older, "-o", out, in)...); res.code != 0 {
		t.Fatalf("run 2: exit %d: %s", res.code, res.stderr)
	}
	got := readSinceRecords(t, out)
	for path, change := range map[string]string{"/same": "unchanged", "/edit": "changed"} {
		r := got[s.URL+path]
		if r.Change != change || r.Status != 200 {
			t.Errorf("%s: change %q status %d, want %q 200", path, r.Change, r.Status, change)
		}
		if inm, ims := s.lastHeaders(path); inm != "" || ims != "" {
			t.Errorf("%s after a connect failure: sent If-None-Match %q If-Modified-Since %q, want none", path, inm, ims)
		}
	}
}

// TestSinceBadCarriedRecord: a previous record whose fields are of the
// wrong type, found only when a 304 carries it forward, stops the run
// with an error naming the file and the record's place.
func TestSinceBadCarriedRecord(t *testing.T) {
	t.Parallel()
	ctx := testContext(t)
	s := newSinceSite(t, map[string]sincePage{"/a": {body: "<title>a</title>", etag: `"a"`}})
	prev := writeFile(t, "prev.jsonl", fmt.Sprintf(`{"url":%q,"status":200,"title":5,"links":[],"etag":"\"a\"","fetched_at":"2026-01-01T00:00:00.000Z"}`+"\n", s.URL+"/a"))
	res := runTrawl(t, ctx, nil, args("fetch", "-q", "--since", prev, "-o", filepath.Join(t.TempDir(), "o.jsonl"), s.URL+"/a")...)
	if res.code == 0 || !strings.Contains(res.stderr, prev+" at byte 0") {
		t.Errorf("exit %d, stderr %q; want a failure naming %s at byte 0", res.code, res.stderr, prev)
	}
}

// TestSinceChangedOnlyResumeCrawl: a crawl with --changed-only
// interrupted and resumed does not fetch again the unchanged pages its
// journal queued (they are not in -o but in its unchanged list).
func TestSinceChangedOnlyResumeCrawl(t *testing.T) {
	t.Parallel()
	ctx := testContext(t)
	s, dir, prev := crawledRing(t, ctx)
	out := filepath.Join(dir, "out.jsonl")
	s.set("/c", &sincePage{body: `<title>c2</title><a href="/">home</a>`, etag: `"c2"`})
	a := args("crawl", "-q", "-c", "1", "--per-host", "1", "--grace", "0", "--since", prev, "--changed-only", "-o", out, s.URL+"/")
	s.interruptAt(t, ctx, "/c", a...)
	counts := func() map[string]int {
		s.mu.Lock()
		defer s.mu.Unlock()
		m := map[string]int{}
		for _, path := range []string{"/", "/a", "/b"} {
			m[path] = len(s.inm[path])
		}
		return m
	}
	before := counts()
	if res := runTrawl(t, ctx, nil, append(a, "--resume")...); res.code != 0 {
		t.Fatalf("resumed crawl: exit %d: %s", res.code, res.stderr)
	}
	if after := counts(); fmt.Sprint(after) != fmt.Sprint(before) {
		t.Errorf("requests for the unchanged pages went from %v to %v: fetched again", before, after)
	}
	got := readSinceRecords(t, out)
	if len(got) != 1 || got[s.URL+"/c"].Change != "changed" {
		t.Errorf("resumed --changed-only crawl wrote %v, want /c changed only", got)
	}
}

// cronRecipe returns a site of three pages (one with an ETag, one with a
// Last-Modified, one with neither), a directory holding their urls.txt,
// and the README's --since cron line made to run there with the binary
// under test.
func cronRecipe(t *testing.T) (s *sinceSite, dir, script string) {
	t.Helper()
	var line string
	for _, b := range readmeBlocks(t) {
		if b.lang == "cron" && strings.Contains(b.text, "--since") {
			line = strings.Join(strings.Fields(b.text)[5:], " ")
		}
	}
	if line == "" {
		t.Fatal("README.md has no cron example with --since")
	}
	s = newSinceSite(t, map[string]sincePage{
		"/a": {body: "<title>a</title>", etag: `"a1"`},
		"/b": {body: "<title>b</title>", lastModified: lmDate},
		"/c": {body: "<title>c</title>"},
	})
	dir = t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "urls.txt"), []byte(strings.Join(s.urlsOf("/a", "/b", "/c"), "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	script = strings.NewReplacer("/data/", dir+"/", "/tmp/trawl.lock", dir+"/trawl.lock", "trawl ", trawlBin+" ").Replace(line)
	return s, dir, script
}

// TestSinceChangedOnlyKillCrawl: a --changed-only crawl where every page
// is unchanged (the output gets nothing) is killed with -9 while a page
// is in flight: the list of unchanged pages names the pages done, and
// the journal must hold the links they queued, so that --resume fetches
// the page in flight. The journal used to be synced only when the output
// had records to write, so it was empty and the crawl ended without it.
func TestSinceChangedOnlyKillCrawl(t *testing.T) {
	t.Parallel()
	ctx := testContext(t)
	s, dir, prev := crawledRing(t, ctx)
	out := filepath.Join(dir, "out.jsonl")
	s.mu.Lock()
	s.holdPath, s.hold, s.arrived = "/c", make(chan struct{}), make(chan struct{}, 4)
	s.mu.Unlock()
	a := args("crawl", "-q", "-c", "1", "--per-host", "1", "--since", prev, "--changed-only", "-o", out, s.URL+"/")
	p := startTrawl(t, ctx, nil, a...)
	select {
	case <-s.arrived:
	case <-ctx.Done():
		t.Fatal("the held request for /c never came")
	}
	if err := waitFile(ctx, dir, out+".unchanged", lines(3)); err != nil { // /, /a, /b
		t.Fatal(err)
	}
	p.signal(syscall.SIGKILL)
	if code := p.wait(); code != -1 {
		t.Fatalf("killed run: exit %d", code)
	}
	// Requests for /c are no longer held; the killed run's stays held
	// until its connection's end ends it, unrecorded.
	s.mu.Lock()
	held := s.hold
	s.hold = nil
	before := len(s.inm["/c"])
	s.mu.Unlock()
	defer close(held)
	sum := filepath.Join(dir, "summary.json")
	if res := runTrawl(t, ctx, nil, append(a, "--resume", "--summary-json", sum)...); res.code != 0 {
		t.Fatalf("resumed crawl: exit %d: %s", res.code, res.stderr)
	}
	s.mu.Lock()
	after := len(s.inm["/c"])
	s.mu.Unlock()
	if after != before+1 {
		t.Errorf("/c requested %d times by the resumed crawl, want once: its link was lost", after-before)
	}
	b, err := os.ReadFile(sum)
	if err != nil {
		t.Fatal(err)
	}
	var summary struct {
		ByChange map[string]int `json:"by_change"`
	}
	if err := json.Unmarshal(b, &summary); err != nil || summary.ByChange["unchanged"] != 1 {
		t.Errorf("resumed crawl summary by_change %v (%v), want unchanged 1 (/c)", summary.ByChange, err)
	}
}
