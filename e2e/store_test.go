//go:build unix

package e2e

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// storePages are the pages of the --store tests: two with the same body,
// one whose content type tries to name a path outside the store, JSON,
// and a 404.
func storePages() map[string]page {
	article := htmlPage("Night trains", contentArticle)
	return map[string]page{
		"/a":    article,
		"/b":    article, // same body as /a: one file
		"/evil": {ctype: "text/html/../../../../escaped/x", body: "<p>evil</p>"},
		"/data": {ctype: "application/json", body: `{"a":1}`},
		"/gone": {status: 404, ctype: "text/plain", body: "gone"},
	}
}

// TestStoreBodies: --store DIR saves each body under DIR/<host>/<sha256>.<ext>,
// the extension by content type from a fixed table (a hostile content
// type gets .bin and cannot leave DIR), the same body once, and each
// record's stored_path is the absolute path of its body's file.
func TestStoreBodies(t *testing.T) {
	t.Parallel()
	ctx := testContext(t)
	s := newSite(t, storePages(), -1)
	root := t.TempDir()
	dir := filepath.Join(root, "bodies")
	var urls []string
	for _, p := range []string{"/a", "/b", "/evil", "/data", "/gone"} {
		urls = append(urls, s.URL+p)
	}
	res := runTrawl(t, ctx, nil, args("fetch", append([]string{"--store", dir}, urls...)...)...)
	if res.code != 0 {
		t.Fatalf("exit code %d; stderr:\n%s", res.code, res.stderr)
	}
	u, _ := url.Parse(s.URL)
	hostDir := filepath.Join(dir, strings.ReplaceAll(u.Host, ":", "_"))
	byPath := map[string]string{}
	for _, r := range rawRecords(t, res.stdout) {
		p, _ := url.Parse(r["url"].(string))
		sp, _ := r["stored_path"].(string)
		byPath[p.Path] = sp
		if sp == "" {
			t.Errorf("%s: no stored_path: %v", p.Path, r)
			continue
		}
		body, err := os.ReadFile(sp)
		if err != nil {
			t.Errorf("%s: %v", p.Path, err)
			continue
		}
		sum := sha256.Sum256(body)
		if hex.EncodeToString(sum[:]) != r["content_hash"] || filepath.Base(sp) != r["content_hash"].(string)+filepath.Ext(sp) {
			t.Errorf("%s: stored body %q does not match content_hash %v", p.Path, body, r["content_hash"])
		}
		if want := storePages()[p.Path].body; string(body) != want {
			t.Errorf("%s: stored %q, served %q", p.Path, body, want)
		}
		if filepath.Dir(sp) != hostDir {
			t.Errorf("%s: stored_path %s is not in %s", p.Path, sp, hostDir)
		}
	}
	for path, ext := range map[string]string{"/a": ".html", "/evil": ".bin", "/data": ".json", "/gone": ".txt"} {
		if filepath.Ext(byPath[path]) != ext {
			t.Errorf("%s: stored_path %s, want extension %s", path, byPath[path], ext)
		}
	}
	if byPath["/a"] != byPath["/b"] {
		t.Errorf("same body, two files: %s and %s", byPath["/a"], byPath["/b"])
	}
	var files []string
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			files = append(files, p)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(files)
	want := []string{byPath["/a"], byPath["/evil"], byPath["/data"], byPath["/gone"]}
	slices.Sort(want)
	if !slices.Equal(files, want) {
		t.Errorf("files under %s:\n%s\nwant:\n%s", root, strings.Join(files, "\n"), strings.Join(want, "\n"))
	}

	// Again into the same store: the files are there, none is rewritten.
	before, err := os.Stat(byPath["/a"])
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(byPath["/a"], 0o400); err != nil { // a rewrite would change the mode back
		t.Fatal(err)
	}
	res = runTrawl(t, ctx, nil, args("fetch", "--store", dir, s.URL+"/a")...)
	after, err := os.Stat(byPath["/a"])
	if err != nil || res.code != 0 || !strings.Contains(res.stdout, `"stored_path":"`+byPath["/a"]+`"`) || after.Mode() != 0o400 || !os.SameFile(before, after) {
		t.Errorf("second run: exit %d, mode %v, stdout:\n%s", res.code, after.Mode(), res.stdout)
	}
}

// TestStoreWriteFails: a body that cannot be saved still gets its record,
// with an error of kind store and no stored_path; the run goes on.
func TestStoreWriteFails(t *testing.T) {
	t.Parallel()
	ctx := testContext(t)
	s := newSite(t, storePages(), -1)
	dir := t.TempDir()
	u, _ := url.Parse(s.URL)
	// The host's directory is a file: nothing can be written under it.
	if err := os.WriteFile(filepath.Join(dir, strings.ReplaceAll(u.Host, ":", "_")), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	res := runTrawl(t, ctx, nil, args("fetch", "--store", dir, s.URL+"/a", s.URL+"/data")...)
	recs := rawRecords(t, res.stdout)
	if len(recs) != 2 {
		t.Fatalf("exit %d, %d records:\n%s\nstderr:\n%s", res.code, len(recs), res.stdout, res.stderr)
	}
	for _, r := range recs {
		e, _ := r["error"].(map[string]any)
		if r["status"] != 200.0 || e["kind"] != "store" || r["stored_path"] != nil || r["title"] == nil && strings.HasSuffix(r["url"].(string), "/a") {
			t.Errorf("record: %v", r)
		}
	}
}

// TestStoreClash: --store naming an input file is refused before
// anything is fetched.
func TestStoreClash(t *testing.T) {
	t.Parallel()
	ctx := testContext(t)
	in := filepath.Join(t.TempDir(), "urls.txt")
	if err := os.WriteFile(in, []byte("http://127.0.0.1:1/\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	res := runTrawl(t, ctx, nil, args("fetch", "--store", in, in)...)
	if res.code != 2 || !strings.Contains(res.stderr, "--store") {
		t.Errorf("exit %d, stderr:\n%s", res.code, res.stderr)
	}
}

// TestExtractFrom: trawl extract --from re-extracts the bodies a fetch
// saved with --store: the same markdown and facts of the fetch as the
// fetch's own records, new --select fields, CSV into -o; a stored body
// gone gives a record with an error of kind store.
func TestExtractFrom(t *testing.T) {
	t.Parallel()
	ctx := testContext(t)
	pages := storePages()
	pages["/p"] = htmlPage("Prices", `<p class="price">1.50</p><p class="price">2.75</p>`+contentArticle)
	s := newSite(t, pages, -1)
	dir := t.TempDir()
	out := filepath.Join(dir, "out.jsonl")
	var urls []string
	for _, p := range []string{"/a", "/p", "/data", "/gone"} {
		urls = append(urls, s.URL+p)
	}
	res := runTrawl(t, ctx, nil, args("fetch", append([]string{"--store", filepath.Join(dir, "bodies"), "--fields", "+markdown", "-o", out}, urls...)...)...)
	if res.code != 0 {
		t.Fatalf("fetch: exit %d:\n%s", res.code, res.stderr)
	}
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	fetched := map[string]map[string]any{}
	for _, r := range rawRecords(t, string(data)) {
		fetched[r["url"].(string)] = r
	}
	hits := s.hitsOf("/a")

	res = runTrawl(t, ctx, nil, "extract", "--from", out, "--fields", "+markdown", "--select", "price=.price")
	if res.code != 0 {
		t.Fatalf("extract: exit %d:\n%s", res.code, res.stderr)
	}
	recs := rawRecords(t, res.stdout)
	if len(recs) != len(urls) {
		t.Fatalf("%d records, want %d:\n%s", len(recs), len(urls), res.stdout)
	}
	byURL := map[string]map[string]any{}
	for _, r := range recs {
		byURL[r["url"].(string)] = r
		f := fetched[r["url"].(string)]
		for _, k := range []string{"url", "final_url", "status", "content_type", "fetched_at", "title", "content_hash", "stored_path", "markdown", "bytes"} {
			if fmt.Sprint(r[k]) != fmt.Sprint(f[k]) {
				t.Errorf("%s: %s = %v, the fetch had %v", r["url"], k, r[k], f[k])
			}
		}
	}
	if md, _ := fetched[s.URL+"/a"]["markdown"].(string); !strings.Contains(md, "twenty-fourth of December") {
		t.Errorf("fetch markdown: %q", md)
	}
	if p := byURL[s.URL+"/p"]; fmt.Sprint(p["fields"]) != "map[price:[1.50 2.75]]" {
		t.Errorf("extract --select: fields = %v", p["fields"])
	}
	if s.hitsOf("/a") != hits {
		t.Errorf("extract fetched /a")
	}

	// CSV into -o, and a stored body gone.
	if err := os.Remove(fetched[s.URL+"/data"]["stored_path"].(string)); err != nil {
		t.Fatal(err)
	}
	csvOut := filepath.Join(dir, "x.csv")
	res = runTrawl(t, ctx, nil, "extract", "--from", out, "--fields", "url,error_kind,markdown", "-o", csvOut)
	got, _ := os.ReadFile(csvOut)
	if res.code != 0 || !strings.HasPrefix(string(got), "url,error_kind,markdown\n") || !strings.Contains(string(got), s.URL+"/data,store,\n") || !strings.Contains(string(got), "twenty-fourth of December") {
		t.Errorf("csv: exit %d, stderr %s:\n%s", res.code, res.stderr, got)
	}
}

// TestExtractFiles: trawl extract FILE --base URL extracts a stored body
// as fetched from URL; bad arguments are usage errors.
// TestMarkdownLinks checks --markdown-links: reference links by default
// ([text] in the prose, [text]: URL at the end), inline links with
// --markdown-links inline, a usage error for anything else.
func TestMarkdownLinks(t *testing.T) {
	t.Parallel()
	ctx := testContext(t)
	body := filepath.Join(t.TempDir(), "abc.html")
	if err := os.WriteFile(body, []byte(htmlPage("Night trains", contentArticle).body), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args       []string
		want, lack string
	}{
		{nil, "\n[fare_table]: https://example.com/trains/fares/2026", "](https://example.com/trains/fares/2026)"},
		{[]string{"--markdown-links", "reference"}, "\n[fare_table]: https://example.com/trains/fares/2026", "](https://example.com/trains/fares/2026)"},
		{[]string{"--markdown-links", "inline"}, "[fare_table](https://example.com/trains/fares/2026)", "[fare_table]:"},
	} {
		args := append([]string{"extract", body, "--base", "https://example.com/trains/night", "--fields", "url,markdown"}, tc.args...)
		res := runTrawl(t, ctx, nil, args...)
		recs := rawRecords(t, res.stdout)
		if res.code != 0 || len(recs) != 1 {
			t.Fatalf("trawl %q: exit %d:\n%s\n%s", args, res.code, res.stdout, res.stderr)
		}
		md, _ := recs[0]["markdown"].(string)
		if !strings.Contains(md, tc.want) || strings.Contains(md, tc.lack) {
			t.Errorf("trawl %q: markdown lacks %q or has %q:\n%s", args, tc.want, tc.lack, md)
		}
	}
	res := runTrawl(t, ctx, nil, "extract", body, "--fields", "markdown", "--markdown-links", "footnote")
	if res.code != 2 || !strings.Contains(res.stderr, `--markdown-links "footnote"`) {
		t.Errorf("--markdown-links footnote: exit %d, stderr:\n%s", res.code, res.stderr)
	}
}

func TestExtractFiles(t *testing.T) {
	t.Parallel()
	ctx := testContext(t)
	dir := t.TempDir()
	body := filepath.Join(dir, "abc.html")
	if err := os.WriteFile(body, []byte(htmlPage("Night trains", contentArticle).body), 0o644); err != nil {
		t.Fatal(err)
	}
	res := runTrawl(t, ctx, nil, "extract", body, "--base", "https://example.com/trains/night", "--fields", "url,title,links,markdown,stored_path")
	recs := rawRecords(t, res.stdout)
	if res.code != 0 || len(recs) != 1 {
		t.Fatalf("exit %d:\n%s\n%s", res.code, res.stdout, res.stderr)
	}
	r := recs[0]
	if r["url"] != "https://example.com/trains/night" || r["title"] != "Night trains" || r["stored_path"] != body ||
		!strings.Contains(fmt.Sprint(r["links"]), "https://example.com/trains/fares/2026") ||
		!strings.Contains(r["markdown"].(string), "[fare_table]") ||
		!strings.Contains(r["markdown"].(string), "\n[fare_table]: https://example.com/trains/fares/2026") {
		t.Errorf("record: %v", r)
	}
	for _, bad := range [][]string{
		{"extract"},
		{"extract", filepath.Join(dir, "missing.html")},
		{"extract", body, "--base", "ftp://x/"},
		{"extract", "--from", filepath.Join(dir, "o.jsonl"), "-o", filepath.Join(dir, "o.jsonl")},
		{"extract", body, "--content-selector", "main"},
	} {
		if res := runTrawl(t, ctx, nil, bad...); res.code != 2 || res.stderr == "" {
			t.Errorf("%v: exit %d, stderr %q", bad, res.code, res.stderr)
		}
	}
}

// TestMarkdownDir: --format md --output-dir DIR writes one Markdown file
// per page at DIR/<host>/<path>.md, with the front matter and the same
// markdown as the record's field; failed pages get none; the flags
// check each other.
func TestMarkdownDir(t *testing.T) {
	t.Parallel()
	ctx := testContext(t)
	pages := storePages()
	pages["/docs/"] = htmlPage(`Docs "index"`, contentArticle)
	s := newSite(t, pages, -1)
	dir := filepath.Join(t.TempDir(), "md")
	urls := []string{s.URL + "/a", s.URL + "/docs/", s.URL + "/a?page=2", s.URL + "/gone", s.URL + "/data"}
	res := runTrawl(t, ctx, nil, args("fetch", append([]string{"--format", "md", "--output-dir", dir}, urls...)...)...)
	if res.code != 0 || res.stdout != "" {
		t.Fatalf("exit %d, stdout %q, stderr:\n%s", res.code, res.stdout, res.stderr)
	}
	rec := rawRecords(t, runTrawl(t, ctx, nil, args("fetch", "--fields", "url,markdown,content_hash", s.URL+"/a")...).stdout)[0]
	u, _ := url.Parse(s.URL)
	host := filepath.Join(dir, strings.ReplaceAll(u.Host, ":", "_"))
	a, err := os.ReadFile(filepath.Join(host, "a.md"))
	if err != nil {
		t.Fatal(err)
	}
	front, body, ok := strings.Cut(strings.TrimPrefix(string(a), "---\n"), "\n---\n\n")
	if !ok || body != rec["markdown"].(string)+"\n" ||
		!strings.Contains(front, `url: "`+s.URL+`/a"`) || !strings.Contains(front, `title: "Night trains"`) ||
		!strings.Contains(front, `content_hash: "`+rec["content_hash"].(string)+`"`) || !strings.Contains(front, `fetched_at: "20`) {
		t.Errorf("a.md:\n%s", a)
	}
	if d, err := os.ReadFile(filepath.Join(host, "docs", "index.md")); err != nil || !strings.Contains(string(d), `title: "Docs \"index\""`) {
		t.Errorf("docs/index.md: %v\n%s", err, d)
	}
	var files []string
	_ = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			files = append(files, strings.TrimPrefix(p, host+"/"))
		}
		return err
	})
	slices.Sort(files)
	if len(files) != 3 || !strings.HasPrefix(files[0], "a-") || !strings.HasSuffix(files[0], ".md") || files[1] != "a.md" || files[2] != "docs/index.md" {
		t.Errorf("files: %v; want a-<hash>.md (the query), a.md, docs/index.md and none for /gone or /data", files)
	}

	// A file that cannot be written stops the run: exit 1.
	blocked := t.TempDir()
	if err := os.WriteFile(filepath.Join(blocked, strings.ReplaceAll(u.Host, ":", "_")), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if res := runTrawl(t, ctx, nil, args("fetch", "--format", "md", "--output-dir", blocked, s.URL+"/a")...); res.code != 1 || !strings.Contains(res.stderr, "write markdown") {
		t.Errorf("unwritable --output-dir: exit %d, stderr:\n%s", res.code, res.stderr)
	}

	for _, bad := range [][]string{
		{"--format", "md"},
		{"--output-dir", dir},
		{"--format", "md", "--output-dir", dir, "-o", filepath.Join(dir, "x.jsonl")},
	} {
		if res := runTrawl(t, ctx, nil, args("fetch", append(bad, s.URL+"/a")...)...); res.code != 2 || res.stderr == "" {
			t.Errorf("%v: exit %d, stderr %q", bad, res.code, res.stderr)
		}
	}
}

// TestExtractFromCSVAndMarkdown: trawl extract --from reads a CSV written
// with --store and --fields +stored_path as it reads JSON Lines, refuses
// a CSV without stored_path with a usage error saying so, and writes
// --format md --output-dir DIR as fetch does.
func TestExtractFromCSVAndMarkdown(t *testing.T) {
	t.Parallel()
	ctx := testContext(t)
	s := newSite(t, storePages(), -1)
	dir := t.TempDir()
	out := filepath.Join(dir, "out.csv")
	res := runTrawl(t, ctx, nil, args("fetch", "--store", filepath.Join(dir, "bodies"), "--fields", "+stored_path,+markdown", "-o", out, s.URL+"/a", s.URL+"/gone")...)
	if res.code != 0 {
		t.Fatalf("fetch: exit %d:\n%s", res.code, res.stderr)
	}
	fetched := rawRecords(t, runTrawl(t, ctx, nil, args("fetch", "--fields", "url,markdown", s.URL+"/a")...).stdout)[0]
	hits := s.hitsOf("/a")

	res = runTrawl(t, ctx, nil, "extract", "--from", out, "--fields", "url,status,stored_path,markdown")
	byURL := map[string]map[string]any{}
	for _, r := range rawRecords(t, res.stdout) {
		byURL[r["url"].(string)] = r
	}
	r, gone := byURL[s.URL+"/a"], byURL[s.URL+"/gone"]
	if res.code != 0 || len(byURL) != 2 || r == nil || gone == nil || fmt.Sprint(gone["status"]) != "404" {
		t.Fatalf("extract --from CSV: exit %d, want the records of /gone (404) and /a:\n%s\n%s", res.code, res.stdout, res.stderr)
	}
	if r["url"] != s.URL+"/a" || fmt.Sprint(r["status"]) != "200" || r["markdown"] != fetched["markdown"] || !strings.Contains(r["stored_path"].(string), filepath.Join(dir, "bodies")) {
		t.Errorf("record from the CSV: %v\nwant the markdown %q", r, fetched["markdown"])
	}

	mdDir := filepath.Join(dir, "md")
	res = runTrawl(t, ctx, nil, "extract", "--from", out, "--format", "md", "--output-dir", mdDir)
	u, _ := url.Parse(s.URL)
	a, err := os.ReadFile(filepath.Join(mdDir, strings.ReplaceAll(u.Host, ":", "_"), "a.md"))
	if res.code != 0 || res.stdout != "" || err != nil {
		t.Fatalf("extract --format md: exit %d, %v, stdout %q, stderr:\n%s", res.code, err, res.stdout, res.stderr)
	}
	if _, body, _ := strings.Cut(string(a), "\n---\n\n"); body != fetched["markdown"].(string)+"\n" || !strings.Contains(string(a), `url: "`+s.URL+`/a"`) {
		t.Errorf("a.md:\n%s", a)
	}
	if s.hitsOf("/a") != hits {
		t.Errorf("extract fetched /a")
	}

	plain := filepath.Join(dir, "plain.csv")
	if res := runTrawl(t, ctx, nil, args("fetch", "--store", filepath.Join(dir, "bodies"), "-o", plain, s.URL+"/a")...); res.code != 0 {
		t.Fatalf("fetch: exit %d:\n%s", res.code, res.stderr)
	}
	for _, bad := range [][]string{
		{"extract", "--from", plain},
		{"extract", "--from", out, "--format", "md"},
		{"extract", "--from", out, "--output-dir", mdDir},
	} {
		res := runTrawl(t, ctx, nil, bad...)
		if res.code != 2 || res.stderr == "" {
			t.Errorf("%v: exit %d, stderr %q", bad, res.code, res.stderr)
		}
		if bad[2] == plain && (!strings.Contains(res.stderr, plain) || !strings.Contains(res.stderr, "stored_path")) {
			t.Errorf("CSV without stored_path: stderr %q, want it named with the column missing", res.stderr)
		}
	}
}

// TestExtractLocks: trawl extract locks its -o FILE and honours --lock as
// fetch does: while a fetch writes FILE, or holds the --lock file, an
// extract into it or with it exits 3 and leaves FILE alone.
func TestExtractLocks(t *testing.T) {
	t.Parallel()
	ctx := testContext(t)
	dir := t.TempDir()
	body := filepath.Join(dir, "abc.html")
	if err := os.WriteFile(body, []byte(htmlPage("Night trains", contentArticle).body), 0o644); err != nil {
		t.Fatal(err)
	}
	s := newSite(t, numberedPages(1), 0)
	out, lock := filepath.Join(dir, "out.jsonl"), filepath.Join(dir, "run.lock")
	first := startTrawl(t, ctx, nil, args("fetch", "-o", out, "--lock", lock, s.URL+"/p/0")...)
	if err := s.waitHeld(ctx, 1); err != nil {
		t.Fatal(err, "\nstderr of the fetch:\n", first.stderr)
	}
	pid := fmt.Sprint(first.cmd.Process.Pid)
	res := runTrawl(t, ctx, nil, "extract", body, "-o", out)
	if res.code != 3 || !strings.Contains(res.stderr, out) || !strings.Contains(res.stderr, pid) {
		t.Errorf("extract -o FILE while a fetch writes it: exit %d, want 3 naming %s and pid %s; stderr:\n%s", res.code, out, pid, res.stderr)
	}
	other := filepath.Join(dir, "other.jsonl")
	res = runTrawl(t, ctx, nil, "extract", body, "--lock", lock, "-o", other)
	if res.code != 3 || !strings.Contains(res.stderr, lock) {
		t.Errorf("extract --lock held by a fetch: exit %d, want 3 naming %s; stderr:\n%s", res.code, lock, res.stderr)
	}
	if _, err := os.Stat(other); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("extract refused by --lock wrote %s: %v", other, err)
	}
	s.release()
	if code := first.wait(); code != 0 {
		t.Fatalf("fetch: exit %d; stderr:\n%s", code, first.stderr)
	}
	b, _ := os.ReadFile(out)
	if recs := parseJSONL(t, string(b)); len(recs) != 1 || recs[0].URL != s.URL+"/p/0" {
		t.Errorf("%s after both runs:\n%s\nwant the fetch's record only", out, b)
	}
	if res := runTrawl(t, ctx, nil, "extract", body, "--lock", lock, "-o", out); res.code != 0 {
		t.Errorf("extract once the fetch is done: exit %d; stderr:\n%s", res.code, res.stderr)
	}
}
