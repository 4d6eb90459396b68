//go:build unix

package e2e

import (
	"context"
	"encoding/csv"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"
)

// quick are the flags of every fetch against a local site.
var quick = []string{"--no-robots", "--timeout", "5s", "--retries", "0"}

// args returns the arguments of trawl's command sub with the quick flags
// and extra.
func args(sub string, extra ...string) []string {
	return append(append([]string{sub}, quick...), extra...)
}

func TestFetchJSONLToPipe(t *testing.T) {
	t.Parallel()
	ctx := testContext(t)
	const n = 25
	s := newSite(t, numberedPages(n), -1)
	paths := numberedPaths(n)
	// A duplicate after normalisation is fetched and written once.
	in := append(s.urls(paths...), strings.Replace(s.URL, "http://", "HTTP://", 1)+"/p/3#frag")
	res := runTrawl(t, ctx, nil, args("fetch", urlFile(t, in))...)
	if res.code != 0 {
		t.Fatalf("exit code %d, want 0; stderr:\n%s", res.code, res.stderr)
	}
	got := byURL(t, parseJSONL(t, res.stdout))
	if len(got) != n {
		t.Errorf("%d records, want %d", len(got), n)
	}
	for i, u := range s.urls(paths...) {
		r, ok := got[u]
		switch {
		case !ok:
			t.Errorf("no record for %s", u)
		case r.Status != 200 || r.Title != fmt.Sprintf("Page %d", i) || r.Error != nil:
			t.Errorf("record for %s: status %d title %q error %v, want 200 %q none", u, r.Status, r.Title, r.Error, fmt.Sprintf("Page %d", i))
		}
	}
	hits, _ := s.counts()
	for _, p := range paths {
		if hits[p] != 1 {
			t.Errorf("%s fetched %d times, want once", p, hits[p])
		}
	}
	if !strings.Contains(res.stderr, fmt.Sprintf("%d URLs", n)) {
		t.Errorf("summary on stderr does not count %d URLs:\n%s", n, res.stderr)
	}
}

// TestFetchHTTPErrorCompletes: a 404 is a result, not a failure of the
// run: the run completes and exits 0 (so that `trawl ... && load` works
// on real sites), and says so; --strict makes it exit 4.
func TestFetchHTTPErrorCompletes(t *testing.T) {
	t.Parallel()
	ctx := testContext(t)
	s := newSite(t, numberedPages(3), -1)
	in := s.urls("/p/0", "/missing", "/p/1", "/p/2")
	res := runTrawl(t, ctx, nil, args("fetch", urlFile(t, in))...)
	if res.code != 0 {
		t.Fatalf("exit code %d, want 0 (the run completed); stderr:\n%s", res.code, res.stderr)
	}
	if !strings.Contains(res.stderr, "trawl: completed") {
		t.Errorf("the summary does not say the run completed:\n%s", res.stderr)
	}
	strict := runTrawl(t, ctx, nil, args("fetch", "--strict", urlFile(t, in))...)
	if strict.code != 4 {
		t.Errorf("--strict: exit code %d, want 4 (completed, a URL failed); stderr:\n%s", strict.code, strict.stderr)
	}
	clean := runTrawl(t, ctx, nil, args("fetch", "--strict", s.URL+"/p/0")...)
	if clean.code != 0 {
		t.Errorf("--strict without failures: exit code %d, want 0; stderr:\n%s", clean.code, clean.stderr)
	}
	got := byURL(t, parseJSONL(t, res.stdout))
	if len(got) != 4 {
		t.Errorf("%d records, want 4", len(got))
	}
	r := got[s.URL+"/missing"]
	if r.Status != 404 || r.Error == nil || r.Error.Kind != "http" {
		t.Errorf("record for /missing: status %d error %+v, want 404 with error.kind http", r.Status, r.Error)
	}
	if !strings.Contains(res.stderr, "1 failed") {
		t.Errorf("summary does not mention the failure:\n%s", res.stderr)
	}
}

func TestFetchMalformedLine(t *testing.T) {
	t.Parallel()
	ctx := testContext(t)
	s := newSite(t, numberedPages(3), -1)
	content := fmt.Sprintf("# a comment\n%s/p/0\n\nnot a url at all\n%s/p/1\n%s/p/2\n", s.URL, s.URL, s.URL)
	res := runTrawl(t, ctx, nil, args("fetch", writeFile(t, "urls.txt", content))...)
	if res.code != 0 {
		t.Fatalf("exit code %d, want 0 (the run completed); stderr:\n%s", res.code, res.stderr)
	}
	recs := parseJSONL(t, res.stdout)
	if len(recs) != 4 {
		t.Fatalf("%d records, want 4 (3 pages and the bad line):\n%s", len(recs), res.stdout)
	}
	var bad []record
	for _, r := range recs {
		if r.Error != nil {
			bad = append(bad, r)
		} else if r.Status != 200 {
			t.Errorf("record for %s: status %d, want 200", r.URL, r.Status)
		}
	}
	if len(bad) != 1 || bad[0].Error.Kind != "invalid_url" || bad[0].Line != 4 {
		t.Fatalf("want one invalid_url record with line 4, got %+v", bad)
	}
	if !strings.Contains(bad[0].Error.Message, "line 4") {
		t.Errorf("invalid_url message %q does not name line 4", bad[0].Error.Message)
	}
}

func TestFetchStdin(t *testing.T) {
	t.Parallel()
	ctx := testContext(t)
	s := newSite(t, numberedPages(5), -1)
	in := strings.Join(s.urls(numberedPaths(5)...), "\n") // no final line break
	res := runTrawl(t, ctx, strings.NewReader(in), args("fetch", "-")...)
	if res.code != 0 {
		t.Fatalf("exit code %d, want 0; stderr:\n%s", res.code, res.stderr)
	}
	got := byURL(t, parseJSONL(t, res.stdout))
	for _, u := range s.urls(numberedPaths(5)...) {
		if got[u].Status != 200 {
			t.Errorf("record for %s: %+v, want status 200", u, got[u])
		}
	}
	if len(got) != 5 {
		t.Errorf("%d records, want 5", len(got))
	}
}

func TestFetchCSV(t *testing.T) {
	t.Parallel()
	ctx := testContext(t)
	pages := numberedPages(2)
	pages["/q"] = htmlPage(`Hello, &quot;world&quot;`, "")
	s := newSite(t, pages, -1)
	res := runTrawl(t, ctx, nil, args("fetch", "--format", "csv", "--fields", "url,status,title",
		urlFile(t, s.urls("/p/0", "/q", "/p/1")))...)
	if res.code != 0 {
		t.Fatalf("exit code %d, want 0; stderr:\n%s", res.code, res.stderr)
	}
	rows, err := csv.NewReader(strings.NewReader(res.stdout)).ReadAll()
	if err != nil {
		t.Fatalf("output is not CSV: %v\n%s", err, res.stdout)
	}
	if len(rows) != 4 || !slices.Equal(rows[0], []string{"url", "status", "title"}) {
		t.Fatalf("want a header url,status,title and 3 rows, got %q", rows)
	}
	got := map[string][]string{}
	for _, row := range rows[1:] {
		got[row[0]] = row
	}
	if want := []string{s.URL + "/q", "200", `Hello, "world"`}; !slices.Equal(got[s.URL+"/q"], want) {
		t.Errorf("row for /q: %q, want %q", got[s.URL+"/q"], want)
	}
	if want := `,200,"Hello, ""world"""`; !strings.Contains(res.stdout, want+"\n") && !strings.Contains(res.stdout, want+"\r\n") {
		t.Errorf("title not quoted as RFC 4180 says (%s):\n%s", want, res.stdout)
	}
	if want := []string{s.URL + "/p/1", "200", "Page 1"}; !slices.Equal(got[s.URL+"/p/1"], want) {
		t.Errorf("row for /p/1: %q, want %q", got[s.URL+"/p/1"], want)
	}
}

func TestFetchSelect(t *testing.T) {
	t.Parallel()
	ctx := testContext(t)
	pages := map[string]page{
		"/shop": htmlPage("Shop", `<span class="price">1.50</span><div><span class="price"> 2 </span></div>
			<img src="/a.png"><img alt="none"><img src="https://cdn.example/b.png">`),
		"/empty": htmlPage("Empty", "<p>nothing</p>"),
	}
	s := newSite(t, pages, -1)
	res := runTrawl(t, ctx, nil, args("fetch", "--select", "price=.price", "--select", "img=img@src",
		s.URL+"/shop", s.URL+"/empty")...)
	if res.code != 0 {
		t.Fatalf("exit code %d, want 0; stderr:\n%s", res.code, res.stderr)
	}
	got := byURL(t, parseJSONL(t, res.stdout))
	shop := got[s.URL+"/shop"].Fields
	if want := []string{"1.50", "2"}; !slices.Equal(shop["price"], want) {
		t.Errorf("fields.price = %q, want %q", shop["price"], want)
	}
	if want := []string{s.URL + "/a.png", "https://cdn.example/b.png"}; !slices.Equal(shop["img"], want) { // URL attributes come out absolute, like links
		t.Errorf("fields.img = %q, want %q", shop["img"], want)
	}
	empty := got[s.URL+"/empty"].Fields
	if p, ok := empty["price"]; !ok || p == nil || len(p) != 0 {
		t.Errorf("fields of a page without matches: %v, want empty arrays", empty)
	}
	if !strings.Contains(res.stdout, `"price":[]`) {
		t.Errorf(`no "price":[] in the output of a page without matches:\n%s`, res.stdout)
	}
}

// TestFetchReaderGoesAway is `trawl fetch … | head -1`: the reader closes
// the pipe after one line, and trawl ends at once with exit 0.
func TestFetchReaderGoesAway(t *testing.T) {
	t.Parallel()
	ctx := testContext(t)
	const n = 200
	s := newSite(t, numberedPages(n), 1)
	cmd, r := pipedTrawl(t, ctx, args("fetch", "-c", "2", urlFile(t, s.urls(numberedPaths(n)...)))...)
	stderr := cmd.Stderr.(*watchBuf)
	line, err := readLine(r)
	if err != nil || !strings.HasPrefix(line, "{") {
		t.Fatalf("first line %q, %v", line, err)
	}
	r.Close()
	closed := time.Now()
	s.release() // the second result meets a closed pipe
	code := exitCode(t, cmd.Wait())
	if ctx.Err() != nil {
		t.Fatalf("trawl did not end after its reader went away; stderr:\n%s", stderr)
	}
	if code != 0 {
		t.Errorf("exit code %d, want 0; stderr:\n%s", code, stderr)
	}
	if d := time.Since(closed); d > 10*time.Second {
		t.Errorf("trawl took %v to end after its reader went away", d)
	}
	if _, served := s.counts(); served == n {
		t.Errorf("trawl fetched all %d URLs after its reader went away", n)
	}
}

// pipedTrawl starts trawl with its stdout on a pipe whose read end it
// returns, for the test to read and close; stderr is a *watchBuf.
func pipedTrawl(t *testing.T, ctx context.Context, args ...string) (*exec.Cmd, *os.File) {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	cmd := trawlCmd(ctx, args...)
	cmd.Stdout, cmd.Stderr = w, &watchBuf{}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	w.Close()
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
			cmd.Wait()
		}
	})
	return cmd, r
}

// readLine reads one line from f byte by byte, so nothing past it is
// consumed.
func readLine(f *os.File) (string, error) {
	var b []byte
	one := make([]byte, 1)
	for {
		if _, err := f.Read(one); err != nil {
			return string(b), err
		}
		if one[0] == '\n' {
			return string(b), nil
		}
		b = append(b, one[0])
	}
}

// TestFetchCSVFormulas: a cell a spreadsheet would run as a formula gets
// a "'" before it, unless --csv-raw.
func TestFetchCSVFormulas(t *testing.T) {
	t.Parallel()
	ctx := testContext(t)
	s := newSite(t, map[string]page{
		"/f": htmlPage(`=HYPERLINK("http://evil.example/","click")`,
			`<h1>+1+cmd|' /C calc'!A0</h1><p class="v" data-v="&#9;tab">-2+3</p><p class="v" data-v="@SUM(1)">safe = text</p>`),
	}, -1)
	fields := []string{"--format", "csv", "--fields", "title,h1,v,a", "--select", "v=p.v", "--select", "a=p.v@data-v"}
	for _, tc := range []struct {
		name  string
		extra []string
		want  []string
	}{
		{"default", nil, []string{`'=HYPERLINK("http://evil.example/","click")`, "'+1+cmd|' /C calc'!A0", "'-2+3 | safe = text", "'\ttab | @SUM(1)"}},
		{"csv-raw", []string{"--csv-raw"}, []string{`=HYPERLINK("http://evil.example/","click")`, "+1+cmd|' /C calc'!A0", "-2+3 | safe = text", "\ttab | @SUM(1)"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := append(append(slices.Clone(fields), tc.extra...), urlFile(t, s.urls("/f")))
			res := runTrawl(t, ctx, nil, args("fetch", a...)...)
			if res.code != 0 {
				t.Fatalf("exit code %d, want 0; stderr:\n%s", res.code, res.stderr)
			}
			rows, err := csv.NewReader(strings.NewReader(res.stdout)).ReadAll()
			if err != nil {
				t.Fatalf("output is not CSV: %v\n%s", err, res.stdout)
			}
			if len(rows) != 2 || !slices.Equal(rows[0], []string{"title", "h1", "v", "a"}) {
				t.Fatalf("want a header title,h1,v,a and one row, got %q", rows)
			}
			if !slices.Equal(rows[1], tc.want) {
				t.Errorf("row %q, want %q", rows[1], tc.want)
			}
		})
	}
}
