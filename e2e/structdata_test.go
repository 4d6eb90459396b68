//go:build unix

package e2e

import (
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"reflect"
	"slices"
	"strings"
	"testing"
)

// structPage is a page with every kind of structured data.
const structPage = `<!DOCTYPE html><html><head><title>Structured</title>
<meta property="og:title" content="OG title">
<meta property="og:image" content="/one.png"><meta property="og:image" content="/two.png">
<meta name="robots" content="noindex, follow">
<script type="application/ld+json">{"@context":"https://schema.org","@graph":[{"@type":"WebSite","name":"S"}]}</script>
<script type="application/ld+json">{"@type": broken}</script>
</head><body><a href="/next">next</a>
<img src="/a.png" srcset="/a-small.png 320w, /a-large.png 1280w"><img src="/a.png"></body></html>`

// structSite serves structPage at / with ETag, Last-Modified,
// X-Robots-Tag and a repeated header.
func structSite(t *testing.T) *httptest.Server {
	t.Helper()
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/" {
			http.NotFound(w, r)
			return
		}
		h := w.Header()
		h.Set("Content-Type", "text/html; charset=utf-8")
		h.Set("ETag", `"v1"`)
		h.Set("Last-Modified", "Mon, 30 Nov 2026 12:00:00 GMT")
		h.Set("X-Robots-Tag", "noarchive")
		h.Add("X-Multi", "a")
		h.Add("X-Multi", "b")
		_, _ = w.Write([]byte(structPage))
	}))
	t.Cleanup(s.Close)
	return s
}

// TestFieldsAddStructuredData: --fields +jsonld,+headers,... adds the
// opt-in fields to the default record; without them the record has only
// the always-on content_hash, etag and last_modified; the exact form of
// --fields still picks exactly; mixing the forms and unknown names are
// usage errors.
func TestFieldsAddStructuredData(t *testing.T) {
	t.Parallel()
	ctx := testContext(t)
	s := structSite(t)
	sum := sha256.Sum256([]byte(structPage))
	hash := hex.EncodeToString(sum[:])

	res := runTrawl(t, ctx, nil, args("fetch", s.URL+"/")...)
	if res.code != 0 {
		t.Fatalf("exit %d: %s", res.code, res.stderr)
	}
	plain := rawRecords(t, res.stdout)[0]
	if plain["content_hash"] != hash || plain["etag"] != `"v1"` || plain["last_modified"] != "Mon, 30 Nov 2026 12:00:00 GMT" {
		t.Errorf("always-on fields: content_hash %v (want %s), etag %v, last_modified %v", plain["content_hash"], hash, plain["etag"], plain["last_modified"])
	}
	for _, k := range []string{"html", "headers", "jsonld", "jsonld_errors", "opengraph", "meta", "images", "robots_meta"} {
		if _, ok := plain[k]; ok {
			t.Errorf("default record has opt-in field %s", k)
		}
	}

	res = runTrawl(t, ctx, nil, args("fetch", "--fields", "+jsonld,+headers,+opengraph,+images,+robots_meta,+html", s.URL+"/")...)
	if res.code != 0 {
		t.Fatalf("exit %d: %s", res.code, res.stderr)
	}
	rec := rawRecords(t, res.stdout)[0]
	for k, v := range plain { // every default field is still there
		if _, ok := rec[k]; !ok && k != "elapsed_ms" {
			t.Errorf("+fields record lost default field %s (%v)", k, v)
		}
	}
	check := func(field string, want string) {
		t.Helper()
		got, _ := json.Marshal(rec[field])
		if string(got) != want {
			t.Errorf("%s = %s\nwant %s", field, got, want)
		}
	}
	check("jsonld", `[{"@context":"https://schema.org","@graph":[{"@type":"WebSite","name":"S"}]}]`)
	check("opengraph", `{"og:image":["/one.png","/two.png"],"og:title":"OG title"}`)
	check("images", `["`+s.URL+`/a.png","`+s.URL+`/a-large.png"]`)
	check("robots_meta", `{"header":["noarchive"],"meta":["noindex","follow"]}`)
	check("html", mustJSON(t, structPage))
	if errs, _ := rec["jsonld_errors"].([]any); len(errs) != 1 || errs[0].(map[string]any)["index"] != float64(1) {
		t.Errorf("jsonld_errors = %v, want the second block", rec["jsonld_errors"])
	}
	headers, _ := rec["headers"].(map[string]any)
	if headers["etag"] != `"v1"` || !reflect.DeepEqual(headers["x-multi"], []any{"a", "b"}) {
		t.Errorf("headers = %v", headers)
	}
	if _, ok := rec["meta"]; ok {
		t.Errorf("meta computed without being asked for")
	}

	res = runTrawl(t, ctx, nil, args("fetch", "--fields", "url,jsonld,content_hash", s.URL+"/")...)
	if got := strings.TrimSpace(res.stdout); got != `{"url":"`+s.URL+`/","jsonld":[{"@context":"https://schema.org","@graph":[{"@type":"WebSite","name":"S"}]}],"content_hash":"`+hash+`"}` {
		t.Errorf("exact --fields: %s", got)
	}

	res = runTrawl(t, ctx, nil, args("fetch", "--format", "csv", "--fields", "+jsonld,+images", s.URL+"/")...)
	rows, err := csv.NewReader(strings.NewReader(res.stdout)).ReadAll()
	if err != nil || len(rows) != 2 {
		t.Fatalf("CSV: %v\n%s", err, res.stdout)
	}
	head := rows[0]
	if !slices.Contains(head, "title") || !slices.Contains(head, "content_hash") || head[len(head)-2] != "jsonld" || head[len(head)-1] != "images" {
		t.Errorf("CSV header %v: want the default columns, then jsonld and images", head)
	}
	var cell []any
	if err := json.Unmarshal([]byte(rows[1][len(head)-2]), &cell); err != nil || len(cell) != 1 {
		t.Errorf("jsonld cell %q is not the JSON array: %v", rows[1][len(head)-2], err)
	}
	if rows[1][len(head)-1] != s.URL+"/a.png | "+s.URL+"/a-large.png" {
		t.Errorf("images cell %q", rows[1][len(head)-1])
	}

	for _, bad := range []struct{ fields, want string }{
		{"url,+jsonld", `"url" has no '+' but others do`},
		{"+jsonld,+nope", `unknown field "nope": want one of`},
		{"+", `a '+' without a field name`},
	} {
		res := runTrawl(t, ctx, nil, args("fetch", "--fields", bad.fields, s.URL+"/")...)
		if res.code != 2 || !strings.Contains(res.stderr, bad.want) || res.stdout != "" {
			t.Errorf("--fields %s: exit %d, stderr %q; want exit 2 saying %q", bad.fields, res.code, res.stderr, bad.want)
		}
	}
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestFieldsCompletion: completion of --fields offers the opt-in fields,
// and the +name form after a +name, never mixing the two.
func TestFieldsCompletion(t *testing.T) {
	t.Parallel()
	ctx := testContext(t)
	for _, tc := range []struct {
		word    string
		want    []string
		notWant []string
	}{
		{"json", []string{"jsonld", "jsonld_errors"}, nil},
		{"+json", []string{"+jsonld", "+jsonld_errors"}, []string{"jsonld"}},
		{"+jsonld,+op", []string{"+jsonld,+opengraph"}, nil},
		{"+jsonld,", []string{"+jsonld,+images", "+jsonld,+headers"}, []string{"+jsonld,images", "+jsonld,+jsonld"}},
		{"url,", []string{"url,html", "url,content_hash"}, []string{"url,+html"}},
	} {
		res := runTrawl(t, ctx, nil, "__complete", "fetch", "--fields", tc.word)
		got := strings.Split(strings.TrimSpace(res.stdout), "\n")
		for _, w := range tc.want {
			if !slices.Contains(got, w) {
				t.Errorf("completion of --fields %q: %q missing from %q", tc.word, w, got)
			}
		}
		for _, w := range tc.notWant {
			if slices.Contains(got, w) {
				t.Errorf("completion of --fields %q offers %q", tc.word, w)
			}
		}
	}
}
