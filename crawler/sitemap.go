package crawler

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strings"
)

// Sitemap limits: how deep sitemap indexes nest, and how many sitemap
// files one seed may cost, so that a hostile index cannot keep a crawl
// busy forever.
const (
	maxSitemapDepth = 3
	maxSitemapFiles = 1000
)

// SitemapURLs reads the sitemaps of the site of seed and calls yield with
// every page URL they list, normalised. The sitemaps are those named by
// the Sitemap: lines of the site's robots.txt, or /sitemap.xml when it
// names none (or robots.txt is ignored). Sitemap indexes are followed up
// to three levels and a thousand files; yield also gets the page's
// <lastmod> as written ("" when none; see [ParseLastmod]). Gzip-compressed sitemaps (.xml.gz)
// are decompressed within the fetcher's body limit. allow, when not nil,
// says which sitemap files may be fetched (a crawl allows those in its
// scope): one it refuses, named by robots.txt or an index, is skipped
// unfetched, with an error of kind [KindOutOfScope]. The page URLs the
// sitemaps list are not judged: that is yield's job. A sitemap that cannot
// be fetched or parsed is skipped and reported through skipped, which may
// be nil; a yield error stops the reading and is returned.
func (f *Fetcher) SitemapURLs(ctx context.Context, seed string, allow func(sitemap string) bool, yield func(ctx context.Context, loc, lastmod string) error, skipped func(sitemap string, err error)) error {
	u, err := ParseURL(seed)
	if err != nil {
		return err
	}
	var roots []string
	if f.robots != nil {
		if _, err := f.robotsRules(ctx, u, nil); err == nil {
			roots = f.Sitemaps(seed)
		}
	}
	if len(roots) == 0 {
		roots = []string{u.Scheme + "://" + u.Host + "/sitemap.xml"}
	}
	sm := &sitemapReader{f: f, allow: allow, yield: yield, skipped: skipped, seen: map[string]bool{}}
	for _, root := range roots {
		if err := sm.read(ctx, root, 0); err != nil {
			return err
		}
	}
	return nil
}

type sitemapReader struct {
	f       *Fetcher
	allow   func(sitemap string) bool
	yield   func(ctx context.Context, loc, lastmod string) error
	skipped func(sitemap string, err error)
	seen    map[string]bool
}

func (sm *sitemapReader) skip(sitemap string, err error) {
	if sm.skipped != nil {
		sm.skipped(sitemap, err)
	}
}

// read reads one sitemap or sitemap index; only yield errors and ctx's
// cancellation are returned.
func (sm *sitemapReader) read(ctx context.Context, loc string, depth int) error {
	norm, err := Normalize(loc)
	if err != nil || sm.seen[norm] || len(sm.seen) >= maxSitemapFiles {
		return nil
	}
	sm.seen[norm] = true
	if sm.allow != nil && !sm.allow(norm) {
		sm.skip(norm, newError(KindOutOfScope, norm, errors.New("sitemap outside the crawl scope, not fetched")))
		return nil
	}
	resp, err := sm.f.Fetch(ctx, norm)
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if err != nil {
		sm.skip(norm, err)
		return nil
	}
	body, err := sitemapBody(resp.Body, sm.f.cfg.MaxBody)
	if err != nil {
		sm.skip(norm, err)
		return nil
	}
	isIndex, entries, err := parseSitemap(body)
	if err != nil {
		sm.skip(norm, err)
	}
	for _, l := range entries {
		if isIndex {
			if depth+1 < maxSitemapDepth {
				if err := sm.read(ctx, l.loc, depth+1); err != nil {
					return err
				}
			}
			continue
		}
		if n, err := Normalize(l.loc); err == nil {
			if err := sm.yield(ctx, n, l.lastmod); err != nil {
				return err
			}
		}
	}
	return nil
}

// sitemapBody returns body, decompressed when it is gzip data (a .xml.gz
// served without Content-Encoding), at most limit bytes.
func sitemapBody(body []byte, limit int64) (io.Reader, error) {
	if len(body) < 2 || body[0] != 0x1f || body[1] != 0x8b {
		return bytes.NewReader(body), nil
	}
	zr, err := gzip.NewReader(bytes.NewReader(body))
	if err != nil {
		return nil, newError(KindDecode, "", fmt.Errorf("gunzip sitemap: %w", err))
	}
	return &limitedReader{r: zr, n: limit}, nil
}

// limitedReader is io.LimitReader that fails, rather than ends, past the
// limit: a truncated sitemap must not pass for a whole one.
type limitedReader struct {
	r io.Reader
	n int64
}

func (l *limitedReader) Read(p []byte) (int, error) {
	if l.n <= 0 {
		return 0, newError(KindTooLarge, "", errors.New("decompressed sitemap passes the body limit"))
	}
	if int64(len(p)) > l.n {
		p = p[:l.n]
	}
	n, err := l.r.Read(p)
	l.n -= int64(n)
	return n, err
}

// sitemapEntry is one <loc> of a sitemap, with the <lastmod> of its
// <url> (or <sitemap>) element, as written.
type sitemapEntry struct {
	loc, lastmod string
}

// parseSitemap reads a <urlset> or a <sitemapindex> and returns its <loc>
// values with their <lastmod>, streaming through the XML. What was read
// before a syntax error is returned with the error.
func parseSitemap(r io.Reader) (isIndex bool, entries []sitemapEntry, err error) {
	dec := xml.NewDecoder(r)
	dec.Strict = false
	var in string // "loc" or "lastmod" while in one
	var text strings.Builder
	// The current <url> or <sitemap>: whether in one, its first entry,
	// its <lastmod>.
	inEntry, first, lastmod := false, 0, ""
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			return isIndex, entries, nil
		}
		if err != nil {
			return isIndex, entries, newError(KindDecode, "", fmt.Errorf("parse sitemap: %w", err))
		}
		switch t := tok.(type) {
		case xml.StartElement:
			switch name := strings.ToLower(t.Name.Local); name {
			case "sitemapindex":
				isIndex = true
			case "url", "sitemap":
				inEntry, first, lastmod = true, len(entries), ""
			case "loc", "lastmod":
				in = name
				text.Reset()
			}
		case xml.CharData:
			if in != "" {
				text.Write(t)
			}
		case xml.EndElement:
			switch name := strings.ToLower(t.Name.Local); {
			case in != "" && name == in:
				v := strings.TrimSpace(text.String())
				if in == "loc" && v != "" {
					entries = append(entries, sitemapEntry{loc: v, lastmod: lastmod})
				} else if in == "lastmod" && inEntry {
					lastmod = v
					for i := first; i < len(entries); i++ {
						entries[i].lastmod = v // a <lastmod> after its <loc>
					}
				}
				in = ""
			case name == "url" || name == "sitemap":
				inEntry, first, lastmod = false, len(entries), ""
			}
		}
	}
}
