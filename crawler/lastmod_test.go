package crawler

import (
	"errors"
	"strings"
	"testing"
	"time"
)

// TestParseLastmod: every W3C Datetime form is the span of time it
// names; a time without a zone and other text are refused.
func TestParseLastmod(t *testing.T) {
	utc := func(s string) time.Time {
		t.Helper()
		v, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	for _, c := range []struct{ in, start, end string }{
		{"2026", "2026-01-01T00:00:00Z", "2027-01-01T12:00:00Z"},
		{"2026-02", "2026-02-01T00:00:00Z", "2026-03-01T12:00:00Z"},
		{" 2026-12-01 ", "2026-12-01T00:00:00Z", "2026-12-02T12:00:00Z"},
		{"2026-12-01T10:30+01:00", "2026-12-01T09:30:00Z", "2026-12-01T09:31:00Z"},
		{"2026-12-01T10:30:15Z", "2026-12-01T10:30:15Z", "2026-12-01T10:30:16Z"},
		{"2026-12-01T10:30:15.25-02:00", "2026-12-01T12:30:15.25Z", "2026-12-01T12:30:16.25Z"},
	} {
		start, end, err := ParseLastmod(c.in)
		if err != nil || !start.Equal(utc(c.start)) || !end.Equal(utc(c.end)) {
			t.Errorf("ParseLastmod(%q) = %v, %v, %v; want %s, %s", c.in, start, end, err, c.start, c.end)
		}
	}
	for _, in := range []string{"", "yesterday", "2026-12-01T10:30:15", "2026-13-01", "2026-12-01 10:30Z", "01/12/2026", "2026-12-01T10:30:15+0100"} {
		if _, _, err := ParseLastmod(in); !errors.Is(err, ErrLastmod) {
			t.Errorf("ParseLastmod(%q): error %v, want ErrLastmod", in, err)
		}
	}
}

// TestParseSitemapLastmod: each <loc> gets the <lastmod> of its own
// <url>, before or after it; a <lastmod> outside a <url> is nobody's.
func TestParseSitemapLastmod(t *testing.T) {
	xml := `<urlset><lastmod>1999</lastmod><url><loc>http://a/1</loc><lastmod>2026-01-01</lastmod></url>` +
		`<url><lastmod>2026-02-02</lastmod><loc>http://a/2</loc></url><url><loc>http://a/3</loc></url><loc>http://a/4</loc></urlset>`
	_, got, err := parseSitemap(strings.NewReader(xml))
	want := []sitemapEntry{{"http://a/1", "2026-01-01"}, {"http://a/2", "2026-02-02"}, {"http://a/3", ""}, {"http://a/4", ""}}
	if err != nil || len(got) != len(want) {
		t.Fatalf("parseSitemap: %v, %v; want %v", got, err, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("entry %d: %+v, want %+v", i, got[i], want[i])
		}
	}
}

// FuzzParseLastmod: any text either fails with ErrLastmod or gives a
// span that ends after it starts.
func FuzzParseLastmod(f *testing.F) {
	for _, s := range []string{"2026", "2026-12", "2026-12-01", "2026-12-01T10:30Z", "2026-12-01T10:30:15.5+01:00", "x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		start, end, err := ParseLastmod(s)
		if err != nil {
			if !errors.Is(err, ErrLastmod) {
				t.Fatalf("ParseLastmod(%q): %v, not ErrLastmod", s, err)
			}
			return
		}
		if !end.After(start) {
			t.Fatalf("ParseLastmod(%q): span %v to %v", s, start, end)
		}
	})
}

// FuzzParseLastmodOrder: ParseLastmod, which tries the most precise form
// first, gives what trying the forms in lastmodForms' order gives: a
// text parses in one form only.
func FuzzParseLastmodOrder(f *testing.F) {
	for _, s := range []string{"2026", "2026-02", " 2026-12-01 ", "2026-12-01T10:30+01:00", "2026-12-01T10:30:15Z", "2026-12-01T10:30:15.25-02:00", "2026-12-01T10:30:15", "2026-13-01", "0000", "2026-12-01T10:30:15.Z"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		start, end, err := ParseLastmod(s)
		for _, form := range lastmodForms {
			if v, ferr := time.Parse(form.layout, strings.TrimSpace(s)); ferr == nil {
				if err != nil || !start.Equal(v) || !end.Equal(form.span(v)) {
					t.Fatalf("ParseLastmod(%q) = %v, %v, %v; the first form (%s) gives %v, %v", s, start, end, err, form.layout, v, form.span(v))
				}
				return
			}
		}
		if err == nil {
			t.Fatalf("ParseLastmod(%q) = %v, %v; no form parses it", s, start, end)
		}
	})
}
