//go:build unix

package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestVersionFlag: --version and -V print what trawl version prints.
func TestVersionFlag(t *testing.T) {
	t.Parallel()
	ctx := testContext(t)
	want := runTrawl(t, ctx, nil, "version")
	if want.code != 0 || !strings.HasPrefix(want.stdout, "trawl ") {
		t.Fatalf("trawl version: exit %d, stdout %q", want.code, want.stdout)
	}
	for _, flag := range []string{"--version", "-V"} {
		res := runTrawl(t, ctx, nil, flag)
		if res.code != 0 || res.stdout != want.stdout {
			t.Errorf("trawl %s: exit %d, stdout %q; want 0 and %q (stderr %q)", flag, res.code, res.stdout, want.stdout, res.stderr)
		}
	}
}

// TestDurationsInSeconds: a bare number given to a duration flag is a
// number of seconds: --timeout 5 lets a quick page through (5ns would
// not), and every duration flag takes one.
func TestDurationsInSeconds(t *testing.T) {
	t.Parallel()
	ctx := testContext(t)
	s := newSite(t, numberedPages(1), -1)
	res := runTrawl(t, ctx, nil, "fetch", "--timeout", "5", "--max-time", "60", "--grace", "0.5", "--max-retry-after", "30", s.URL+"/p/0")
	if res.code != 0 {
		t.Fatalf("exit code %d, want 0; stderr:\n%s", res.code, res.stderr)
	}
	recs := parseJSONL(t, res.stdout)
	if len(recs) != 1 || recs[0].Status != 200 {
		t.Errorf("want one 200 record, got:\n%s", res.stdout)
	}
	bad := runTrawl(t, ctx, nil, "fetch", "--timeout", "NaN", s.URL+"/p/0")
	if bad.code != 2 || !strings.Contains(bad.stderr, "--timeout") {
		t.Errorf("--timeout NaN: exit %d, want 2 naming the flag; stderr:\n%s", bad.code, bad.stderr)
	}
}

// TestBareHostsAndCleanLines: inputs as people paste them work: a host
// without a scheme (as an argument or a line) is tried over https and,
// as the test site speaks only http, fetched over http, the record's url
// saying so; a byte order mark, quotes from a CSV column and a trailing
// " # comment" are dropped; a misspelt scheme gets a suggestion. A
// resumed run fetches none of them again, and --no-fallback-http stays
// on https.
func TestBareHostsAndCleanLines(t *testing.T) {
	t.Parallel()
	ctx := testContext(t)
	s := newSite(t, numberedPages(6), -1)
	host := strings.TrimPrefix(s.URL, "http://")
	dir := t.TempDir()
	urls := writeFile(t, "urls.txt", "\ufeff"+host+"/p/0\n"+
		`"`+s.URL+`/p/1"`+"\n"+
		s.URL+"/p/2 # the third\n"+
		host+"/p/0\n"+ // a duplicate
		"htp://"+host+"/p/5\n")
	out := filepath.Join(dir, "out.jsonl")
	res := runTrawl(t, ctx, nil, "fetch", "-o", out, urls, host+"/p/4")
	if res.code != 0 { // the htp:// line failed, and has its record: completed
		t.Errorf("exit code %d, want 0; stderr:\n%s", res.code, res.stderr)
	}
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	recs := byURL(t, parseJSONL(t, string(data)))
	for _, p := range []string{"/p/0", "/p/1", "/p/2", "/p/4"} {
		if r, ok := recs[s.URL+p]; !ok || r.Status != 200 {
			t.Errorf("%s: want a 200 record under http://, got %+v (all: %s)", p, r, data)
		}
	}
	bad, ok := recs["htp://"+host+"/p/5"]
	if !ok || bad.Error == nil || bad.Error.Message != fmt.Sprintf(`%s line 5: unsupported scheme "htp"; did you mean https://%s/p/5?`, urls, host) {
		t.Errorf("misspelt scheme: record %+v", bad)
	}
	if len(recs) != 5 {
		t.Errorf("%d records, want 5:\n%s", len(recs), data)
	}
	_, before := s.counts()
	res = runTrawl(t, ctx, nil, "fetch", "--resume", "-o", out, urls, host+"/p/4")
	if _, after := s.counts(); after != before {
		t.Errorf("--resume fetched %d pages again; stderr:\n%s", after-before, res.stderr)
	}
	res = runTrawl(t, ctx, nil, "fetch", "--no-fallback-http", "--retries", "0", host+"/p/3")
	recs = byURL(t, parseJSONL(t, res.stdout))
	if r, ok := recs["https://"+host+"/p/3"]; !ok || r.Error == nil || (r.Error.Kind != "tls" && r.Error.Kind != "connect") {
		t.Errorf("--no-fallback-http: want a tls or connect error for https://%s/p/3, got:\n%s", host, res.stdout)
	}
}

// TestCrawlBareHost: a crawl seeded with a bare host that answers only
// over http follows its links there.
func TestCrawlBareHost(t *testing.T) {
	t.Parallel()
	ctx := testContext(t)
	pages := numberedPages(2)
	pages["/"] = htmlPage("Home", `<a href="/p/0">0</a> <a href="/p/1">1</a>`)
	s := newSite(t, pages, -1)
	res := runTrawl(t, ctx, nil, "crawl", strings.TrimPrefix(s.URL, "http://"))
	if res.code != 0 {
		t.Errorf("exit code %d, want 0; stderr:\n%s", res.code, res.stderr)
	}
	recs := byURL(t, parseJSONL(t, res.stdout))
	for _, p := range []string{"/", "/p/0", "/p/1"} {
		if r, ok := recs[s.URL+p]; !ok || r.Status != 200 {
			t.Errorf("%s not crawled over http:\n%s", p, res.stdout)
		}
	}
}

// TestEmptyInputWarns: an input without a URL gets a warning naming it,
// even under -q: in cron, an empty export is a broken job.
func TestEmptyInputWarns(t *testing.T) {
	t.Parallel()
	ctx := testContext(t)
	empty := writeFile(t, "urls.txt", "\ufeff# exported 0 rows\n\n")
	res := runTrawl(t, ctx, nil, "fetch", "-q", empty)
	if !strings.Contains(res.stderr, empty+": no URLs") {
		t.Errorf("empty file: stderr %q does not warn", res.stderr)
	}
	res = runTrawl(t, ctx, strings.NewReader(""), "fetch", "-q", "-")
	if !strings.Contains(res.stderr, "standard input: no URLs") {
		t.Errorf("empty stdin: stderr %q does not warn", res.stderr)
	}
}

// TestUnknownFlagSuggests: a mistyped flag gets the closest one and
// where the flags are listed.
func TestUnknownFlagSuggests(t *testing.T) {
	t.Parallel()
	ctx := testContext(t)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"fetch", "--concurency", "3", "http://127.0.0.1/"}, "unknown flag: --concurency; did you mean --concurrency? (trawl fetch --help lists the flags)"},
		{[]string{"crawl", "--scop", "host", "http://127.0.0.1/"}, "did you mean --scope?"},
		{[]string{"fetch", "--frobnicate", "http://127.0.0.1/"}, "unknown flag: --frobnicate (trawl fetch --help lists the flags)"},
		// cobra's suggestion spans lines: kept as lines, not escaped.
		{[]string{"fecth", "http://127.0.0.1/"}, "unknown command \"fecth\" for \"trawl\"\n\nDid you mean this?\n  fetch\n"},
	} {
		res := runTrawl(t, ctx, nil, tc.args...)
		if res.code != 2 || !strings.Contains(res.stderr, tc.want) {
			t.Errorf("trawl %q: exit %d, stderr %q; want 2 and %q", tc.args, res.code, res.stderr, tc.want)
		}
	}
}

// TestHelpGroupsAndCompletion: the flags of fetch and crawl are listed
// by purpose, and the shell completes the values of --format,
// --progress, --scope and the names of --fields.
func TestHelpGroupsAndCompletion(t *testing.T) {
	t.Parallel()
	ctx := testContext(t)
	help := runTrawl(t, ctx, nil, "crawl", "--help").stdout
	last := -1
	for _, want := range []string{"\nInput (", "\nOutput:\n  -o, --output", "\nRequests:\n", "\nPoliteness:\n  -c, --concurrency", "--per-host of them", "\nCrawl:\n      --scope", "\nCron & resume:\n      --resume", "\nShared run ("} {
		i := strings.Index(help, want)
		if i < 0 || i < last {
			t.Errorf("crawl --help: %q missing or out of order:\n%s", want, help)
		}
		last = i
	}
	for _, tc := range []struct {
		args []string
		want []string
	}{
		{[]string{"fetch", "--format", ""}, []string{"jsonl", "csv"}},
		{[]string{"fetch", "--progress", ""}, []string{"auto", "always", "never"}},
		{[]string{"crawl", "--scope", ""}, []string{"host", "domain", "prefix", "any"}},
		{[]string{"fetch", "--fields", "url,st"}, []string{"url,status"}},
	} {
		res := runTrawl(t, ctx, nil, append([]string{"__complete"}, tc.args...)...)
		got := strings.Split(strings.TrimSpace(res.stdout), "\n")
		for _, w := range tc.want {
			if !slices.Contains(got, w) {
				t.Errorf("completion of %q: %q missing from %q", tc.args, w, got)
			}
		}
	}
}

// TestInputLinesCleaned: a file saved with a byte order mark, a column
// pasted from CSV with its quotes and lines with a trailing comment are
// read as the URLs they hold.
func TestInputLinesCleaned(t *testing.T) {
	t.Parallel()
	ctx := testContext(t)
	s := newSite(t, numberedPages(3), -1)
	urls := writeFile(t, "urls.txt", "\ufeff"+s.URL+"/p/0\n\""+s.URL+"/p/1\"\n"+s.URL+"/p/2\t# the last one\n")
	res := runTrawl(t, ctx, nil, "fetch", urls)
	if res.code != 0 {
		t.Errorf("exit code %d, want 0; stderr:\n%s", res.code, res.stderr)
	}
	recs := byURL(t, parseJSONL(t, res.stdout))
	for i := range 3 {
		if r, ok := recs[fmt.Sprintf("%s/p/%d", s.URL, i)]; !ok || r.Status != 200 {
			t.Errorf("/p/%d: no 200 record:\n%s", i, res.stdout)
		}
	}
}
