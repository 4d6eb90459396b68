//go:build unix

package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

// rawRecords parses JSON Lines output into generic objects, keeping which
// keys each record has.
func rawRecords(t *testing.T, out string) []map[string]any {
	t.Helper()
	parseJSONL(t, out) // whole lines, each an object
	var recs []map[string]any
	for _, line := range strings.Split(strings.TrimSuffix(out, "\n"), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatal(err)
		}
		recs = append(recs, m)
	}
	return recs
}

// TestRecordInputAndHost: a record carries the input line as written
// and the host, so results join back to the source table; a duplicate
// line is fetched once and counted in the summary.
func TestRecordInputAndHost(t *testing.T) {
	t.Parallel()
	ctx := testContext(t)
	s := newSite(t, numberedPages(2), -1)
	host := strings.TrimPrefix(s.URL, "http://")
	lines := []string{s.URL + "/p/0", "  " + s.URL + "/p/./1  ", s.URL + "/p/0", "not a url"}
	res := runTrawl(t, ctx, nil, args("fetch", writeFile(t, "urls.txt", strings.Join(lines, "\n")+"\n"))...)
	if res.code != 0 {
		t.Fatalf("exit code %d, want 0; stderr:\n%s", res.code, res.stderr)
	}
	recs := rawRecords(t, res.stdout)
	if len(recs) != 3 {
		t.Fatalf("%d records, want 3 (two pages and the bad line):\n%s", len(recs), res.stdout)
	}
	want := map[string][2]string{
		s.URL + "/p/0": {s.URL + "/p/0", host},
		s.URL + "/p/1": {s.URL + "/p/./1", host},
		"not a url":    {"not a url", ""},
	}
	for _, r := range recs {
		w, ok := want[fmt.Sprint(r["url"])]
		if !ok {
			t.Errorf("unexpected record %v", r)
			continue
		}
		if r["input"] != w[0] {
			t.Errorf("%s: input %v, want %q", r["url"], r["input"], w[0])
		}
		if got, _ := r["host"].(string); got != w[1] {
			t.Errorf("%s: host %q, want %q", r["url"], got, w[1])
		}
	}
	if !strings.Contains(res.stderr, "4 lines read, 1 duplicates skipped") {
		t.Errorf("the summary does not count the duplicate line:\n%s", res.stderr)
	}
}

// TestRecordShapeWithFields: --fields picks fields out of the record
// without changing it: a field the full record leaves out (an empty
// description) is left out too, not null, and --select values stay under
// "fields". --fields ” is a usage error, and the help lists the names.
func TestRecordShapeWithFields(t *testing.T) {
	t.Parallel()
	ctx := testContext(t)
	s := newSite(t, map[string]page{"/shop": htmlPage("Shop", `<p class="price">1.50</p>`)}, -1)
	full := runTrawl(t, ctx, nil, args("fetch", "--select", "price=.price", s.URL+"/shop")...)
	picked := runTrawl(t, ctx, nil, args("fetch", "--select", "price=.price", "--fields", "url,description,price,status", s.URL+"/shop")...)
	if full.code != 0 || picked.code != 0 {
		t.Fatalf("exit codes %d, %d, want 0; stderr:\n%s\n%s", full.code, picked.code, full.stderr, picked.stderr)
	}
	f, p := rawRecords(t, full.stdout)[0], rawRecords(t, picked.stdout)[0]
	if _, ok := f["description"]; ok {
		t.Fatalf("the full record has a description: %v", f)
	}
	want := map[string]any{"url": f["url"], "status": f["status"], "fields": f["fields"]}
	if !reflect.DeepEqual(p, want) {
		t.Errorf("with --fields: %v\nwant the same values as the full record: %v", p, want)
	}
	if !strings.HasPrefix(strings.TrimSpace(picked.stdout), `{"url":`) || !strings.Contains(picked.stdout, `"fields":{"price":["1.50"]},"status":`) {
		t.Errorf("with --fields, not in --fields order: %s", picked.stdout)
	}
	empty := runTrawl(t, ctx, nil, args("fetch", "--fields", "", s.URL+"/shop")...)
	if empty.code != 2 || !strings.Contains(empty.stderr, "--fields") || empty.stdout != "" {
		t.Errorf("--fields '': exit code %d, want 2 naming --fields; stderr:\n%s", empty.code, empty.stderr)
	}
	help := runTrawl(t, ctx, nil, "fetch", "--help")
	for _, name := range []string{"final_url", "canonical", "error_kind", "fields_truncated"} {
		if !strings.Contains(help.stdout, name) {
			t.Errorf("fetch --help does not list the field %s", name)
		}
	}
}

// TestSelectNameCollides: a --select named like a built-in field is a
// usage error, before anything is fetched (it used to make two CSV title
// columns and lose the h1).
func TestSelectNameCollides(t *testing.T) {
	t.Parallel()
	ctx := testContext(t)
	s := newSite(t, numberedPages(1), -1)
	for _, name := range []string{"title", "url", "error_kind", "fields"} {
		res := runTrawl(t, ctx, nil, args("fetch", "--select", name+"=h1", s.URL+"/p/0")...)
		if res.code != 2 || !strings.Contains(res.stderr, `"`+name+`"`) || !strings.Contains(res.stderr, "built-in") {
			t.Errorf("--select %s=h1: exit code %d, want 2 naming the clash; stderr:\n%s", name, res.code, res.stderr)
		}
	}
	if _, served := s.counts(); served != 0 {
		t.Errorf("refused runs fetched %d pages", served)
	}
}

// TestSelectURLAttributes: URL attributes come out absolute and
// normalised, resolved against the page and its <base href>; @html gives
// the inner HTML; an attribute no element has gives [].
func TestSelectURLAttributes(t *testing.T) {
	t.Parallel()
	ctx := testContext(t)
	s := newSite(t, map[string]page{"/dir/page": htmlPage("P", `<base href="/shop/">
<img src="img/a.png"><form action="../buy?x=1"></form><video poster="//cdn.example/v.jpg"></video>
<a href="HTTP://Example.COM:80/x">x</a><div id="d"><b>bold</b> text</div>`)}, -1)
	res := runTrawl(t, ctx, nil, args("fetch", "--select", "img=img@src", "--select", "form=form@action",
		"--select", "poster=video@poster", "--select", "a=a@href", "--select", "d=#d@html", "--select", "none=div@nosuch",
		s.URL+"/dir/page")...)
	if res.code != 0 {
		t.Fatalf("exit code %d, want 0; stderr:\n%s", res.code, res.stderr)
	}
	got := parseJSONL(t, res.stdout)[0].Fields
	want := map[string][]string{
		"img":    {s.URL + "/shop/img/a.png"},
		"form":   {s.URL + "/buy?x=1"},
		"poster": {"http://cdn.example/v.jpg"},
		"a":      {"http://example.com/x"},
		"d":      {"<b>bold</b> text"},
		"none":   {},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("fields:\n got %q\nwant %q", got, want)
	}
}

// TestOutputFileFormat: -o out.csv writes CSV; a --format that
// contradicts the extension is a usage error; /dev/null and /dev/stdout
// work; --resume without url among --fields is refused.
func TestOutputFileFormat(t *testing.T) {
	t.Parallel()
	ctx := testContext(t)
	s := newSite(t, numberedPages(1), -1)
	dir := t.TempDir()
	csvOut := filepath.Join(dir, "out.csv")
	res := runTrawl(t, ctx, nil, args("fetch", "-o", csvOut, s.URL+"/p/0")...)
	b, _ := os.ReadFile(csvOut)
	if res.code != 0 || !strings.HasPrefix(string(b), "url,input,host,") {
		t.Errorf("-o out.csv: exit code %d, file:\n%s\nwant CSV; stderr:\n%s", res.code, b, res.stderr)
	}
	jsonlAsCSV := runTrawl(t, ctx, nil, args("fetch", "--format", "jsonl", "-o", csvOut, s.URL+"/p/0")...)
	if jsonlAsCSV.code != 2 || !strings.Contains(jsonlAsCSV.stderr, "--format") {
		t.Errorf("--format jsonl -o out.csv: exit code %d, want 2; stderr:\n%s", jsonlAsCSV.code, jsonlAsCSV.stderr)
	}
	forced := filepath.Join(dir, "out.txt")
	if res := runTrawl(t, ctx, nil, args("fetch", "--format", "csv", "-o", forced, s.URL+"/p/0")...); res.code != 0 {
		t.Errorf("--format csv -o out.txt: exit code %d; stderr:\n%s", res.code, res.stderr)
	}
	if b, _ := os.ReadFile(forced); !strings.HasPrefix(string(b), "url,") {
		t.Errorf("--format csv -o out.txt wrote:\n%s", b)
	}
	null := runTrawl(t, ctx, nil, args("fetch", "-o", "/dev/null", s.URL+"/p/0")...)
	if null.code != 0 || null.stdout != "" {
		t.Errorf("-o /dev/null: exit code %d, stdout %q; stderr:\n%s", null.code, null.stdout, null.stderr)
	}
	stdout := runTrawl(t, ctx, nil, args("fetch", "-o", "/dev/stdout", s.URL+"/p/0")...)
	if recs := parseJSONL(t, stdout.stdout); stdout.code != 0 || len(recs) != 1 || recs[0].Status != 200 {
		t.Errorf("-o /dev/stdout: exit code %d, stdout %q; stderr:\n%s", stdout.code, stdout.stdout, stdout.stderr)
	}
	// CSV into a pipe: its header is not read back (that waited for ever).
	pipeCSV := runTrawl(t, ctx, nil, args("fetch", "-o", "/dev/stdout", "--format", "csv", s.URL+"/p/0")...)
	if pipeCSV.code != 0 || !strings.HasPrefix(pipeCSV.stdout, "url,") || strings.Count(pipeCSV.stdout, "\n") != 2 {
		t.Errorf("-o /dev/stdout --format csv: exit code %d, stdout %q; stderr:\n%s", pipeCSV.code, pipeCSV.stdout, pipeCSV.stderr)
	}
	// "-" is standard output, as for the inputs, not a file named "-".
	dash := trawlCmd(ctx, args("fetch", "-o", "-", s.URL+"/p/0")...)
	dash.Dir = dir
	out, err := dash.Output()
	if recs := parseJSONL(t, string(out)); err != nil || len(recs) != 1 || recs[0].Status != 200 {
		t.Errorf("-o -: %v, stdout %q", err, out)
	}
	if _, err := os.Stat(filepath.Join(dir, "-")); err == nil {
		t.Errorf("-o - wrote a file named -")
	}
	noURL := runTrawl(t, ctx, nil, args("fetch", "--resume", "--fields", "status,title", "-o", filepath.Join(dir, "r.jsonl"), s.URL+"/p/0")...)
	if noURL.code != 2 || !strings.Contains(noURL.stderr, "url") {
		t.Errorf("--resume --fields status,title: exit code %d, want 2; stderr:\n%s", noURL.code, noURL.stderr)
	}
}

// TestOutputFileLocked: two runs writing one -o FILE: the second is
// refused with exit 3 naming the file and the holder, and FILE keeps
// the first run's records; a completed crawl removes FILE.journal.
func TestOutputFileLocked(t *testing.T) {
	t.Parallel()
	ctx := testContext(t)
	s := newSite(t, numberedPages(2), 0)
	out := filepath.Join(t.TempDir(), "out.jsonl")
	first := startTrawl(t, ctx, nil, args("fetch", "-o", out, s.URL+"/p/0")...)
	if err := s.waitHeld(ctx, 1); err != nil {
		t.Fatal(err, "\nstderr of the first run:\n", first.stderr)
	}
	second := runTrawl(t, ctx, nil, args("fetch", "-o", out, s.URL+"/p/1")...)
	if second.code != 3 || !strings.Contains(second.stderr, out) || !strings.Contains(second.stderr, fmt.Sprint(first.cmd.Process.Pid)) {
		t.Errorf("second run on the same -o: exit code %d, want 3 naming %s and pid %d; stderr:\n%s", second.code, out, first.cmd.Process.Pid, second.stderr)
	}
	s.release()
	if code := first.wait(); code != 0 {
		t.Fatalf("first run: exit code %d; stderr:\n%s", code, first.stderr)
	}
	b, _ := os.ReadFile(out)
	if recs := parseJSONL(t, string(b)); len(recs) != 1 || recs[0].URL != s.URL+"/p/0" {
		t.Errorf("%s after both runs:\n%s\nwant the first run's record", out, b)
	}

	crawlOut := filepath.Join(t.TempDir(), "site.jsonl")
	site := newSite(t, map[string]page{"/": htmlPage("Home", `<a href="/p/0">0</a>`), "/p/0": htmlPage("P", "")}, -1)
	res := runTrawl(t, ctx, nil, args("crawl", "-o", crawlOut, site.URL+"/")...)
	if res.code != 0 {
		t.Fatalf("crawl: exit code %d; stderr:\n%s", res.code, res.stderr)
	}
	if _, err := os.Stat(crawlOut + ".journal"); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("%s.journal after a completed crawl: %v, want it removed", crawlOut, err)
	}
	if _, err := os.Stat(crawlOut + ".pid"); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("%s.pid after the crawl: %v, want it removed", crawlOut, err)
	}
}

// TestErrorMessages: --max-body on a 200 page keeps the status and names
// the limit; a refused connection is reported about the host asked for,
// not a nested robots.txt request; a robots.txt answering 5xx is
// robots_unavailable and names --no-robots.
func TestErrorMessages(t *testing.T) {
	t.Parallel()
	ctx := testContext(t)
	s := newSite(t, map[string]page{"/big": htmlPage("big", strings.Repeat("x", 1000))}, -1)
	res := runTrawl(t, ctx, nil, args("fetch", "--max-body", "100", s.URL+"/big")...)
	r := parseJSONL(t, res.stdout)[0]
	if r.Status != 200 || r.Error == nil || r.Error.Kind != "too_large" || r.Error.Message != "body larger than --max-body (100 B)" {
		t.Errorf("--max-body 100: record %+v, want status 200, too_large, \"body larger than --max-body (100 B)\"", r)
	}

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens there now
	res = runTrawl(t, ctx, nil, "fetch", "--retries", "0", "http://"+addr+"/")
	r = parseJSONL(t, res.stdout)[0]
	if r.Error == nil || r.Error.Kind != "connect" || !strings.HasPrefix(r.Error.Message, "connect "+addr+": connection refused") ||
		strings.Contains(r.Error.Message, `Get "`) || strings.Contains(r.Error.Message, "dial tcp") {
		t.Errorf("refused connection: error %+v, want \"connect %s: connection refused\"", r.Error, addr)
	}

	down := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/robots.txt" {
			http.Error(w, "down", http.StatusServiceUnavailable)
			return
		}
		fmt.Fprint(w, "<title>ok</title>")
	}))
	t.Cleanup(down.Close)
	res = runTrawl(t, ctx, nil, "fetch", "--retries", "0", down.URL+"/")
	r = parseJSONL(t, res.stdout)[0]
	if r.Error == nil || r.Error.Kind != "robots_unavailable" || !strings.Contains(r.Error.Message, "--no-robots") || !strings.Contains(r.Error.Message, "503") {
		t.Errorf("robots.txt 503: error %+v, want robots_unavailable naming 503 and --no-robots", r.Error)
	}
}

// TestSummaryJSON: --summary-json writes the final counters for cron and
// workflow wrappers; it clashes with the other outputs like any output.
func TestSummaryJSON(t *testing.T) {
	t.Parallel()
	ctx := testContext(t)
	s := newSite(t, numberedPages(2), -1)
	dir := t.TempDir()
	sum := filepath.Join(dir, "summary.json")
	in := writeFile(t, "urls.txt", strings.Join(s.urls("/p/0", "/p/1", "/missing", "/p/0"), "\n")+"\n")
	res := runTrawl(t, ctx, nil, args("fetch", "--summary-json", sum, "-o", filepath.Join(dir, "out.jsonl"), in)...)
	if res.code != 0 {
		t.Fatalf("exit code %d; stderr:\n%s", res.code, res.stderr)
	}
	b, err := os.ReadFile(sum)
	if err != nil {
		t.Fatal(err)
	}
	var got struct {
		Complete       bool           `json:"complete"`
		ExitCode       int            `json:"exit_code"`
		URLs           int            `json:"urls"`
		Failed         int            `json:"failed"`
		ByStatus       map[string]int `json:"by_status"`
		ByError        map[string]int `json:"by_error"`
		InputLines     int            `json:"input_lines"`
		Duplicates     int            `json:"duplicates"`
		Bytes          int64          `json:"bytes"`
		DurationMS     *int64         `json:"duration_ms"`
		PagesPerSecond *float64       `json:"pages_per_second"`
	}
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatalf("%s: %v\n%s", sum, err, b)
	}
	if !got.Complete || got.ExitCode != 0 || got.URLs != 3 || got.Failed != 1 || got.InputLines != 4 || got.Duplicates != 1 ||
		!reflect.DeepEqual(got.ByStatus, map[string]int{"2xx": 2, "4xx": 1}) || !reflect.DeepEqual(got.ByError, map[string]int{"http": 1}) ||
		got.Bytes <= 0 || got.DurationMS == nil || got.PagesPerSecond == nil {
		t.Errorf("summary:\n%s", b)
	}
	clash := runTrawl(t, ctx, nil, args("fetch", "--summary-json", sum, "-o", sum, s.URL+"/p/0")...)
	if clash.code != 2 || !strings.Contains(clash.stderr, "--summary-json") {
		t.Errorf("--summary-json FILE -o FILE: exit code %d, want 2; stderr:\n%s", clash.code, clash.stderr)
	}
	if clash.stdout != "" {
		t.Errorf("the refused run wrote records:\n%s", clash.stdout)
	}
}

// TestProgressTotalCountsUniqueURLs: the progress bar's total leaves out
// the duplicate lines, which are not fetched.
func TestProgressTotalCountsUniqueURLs(t *testing.T) {
	t.Parallel()
	ctx := testContext(t)
	s := newSite(t, numberedPages(2), 0) // holds every request until released
	in := writeFile(t, "urls.txt", strings.Join(s.urls("/p/0", "/p/1", "/p/0"), "\n")+"\n")
	p := startTrawl(t, ctx, nil, args("fetch", "--progress", "always", "-c", "1", in)...)
	quick, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	if err := p.stderr.waitFor(quick, contains("0/2")); err != nil {
		t.Error(err)
	}
	s.release()
	if code := p.wait(); code != 0 {
		t.Errorf("exit code %d; stderr:\n%s", code, p.stderr)
	}
}
