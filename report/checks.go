package report

import (
	"bytes"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Check is one thing the report looks for. Its ID is stable: CI
// configurations and suppressions may name it.
type Check struct {
	ID       string   `json:"id"`
	Severity Severity `json:"severity"`
	Title    string   `json:"title"`
	Help     string   `json:"help"`
}

// The limits past which a title or a description is too long, in
// characters: what search engines show of them.
const (
	MaxTitle       = 60
	MaxDescription = 160
)

// The checks, in the order the report shows them.
var (
	checkBroken5xx     = Check{"broken-5xx", Critical, "Server errors (5xx)", "URLs that answered with a 5xx status."}
	checkBrokenNetwork = Check{"broken-network", Critical, "Unreachable URLs", "URLs that gave no HTTP answer: DNS, connection, TLS, timeout or reset."}
	checkRedirectLoop  = Check{"redirect-loop", Critical, "Redirect loops", "Redirects that come back to a URL already visited, or never end."}
	checkBroken4xx     = Check{"broken-4xx", High, "Broken links (4xx)", "URLs that answered with a 4xx status, with the page that linked to them first and how many crawled pages link to them."}
	checkRedirectError = Check{"redirect-to-error", High, "Redirects to errors", "Redirects whose last hop fails."}
	checkTitleMissing  = Check{"title-missing", High, "Missing titles", "HTML pages without a <title>."}
	checkCanonError    = Check{"canonical-to-error", High, "Canonical to an error", "Pages whose canonical URL fails."}
	checkCanonNoindex  = Check{"canonical-to-noindex", High, "Canonical to a noindex page", "Pages whose canonical URL is a page that asks not to be indexed."}
	checkRedirectChain = Check{"redirect-chain", Low, "Redirect chains", "Redirects of two hops or more; every hop is listed."}
	checkTitleDup      = Check{"title-duplicate", Low, "Duplicate titles", "Titles shared by several HTML pages."}
	checkTitleLong     = Check{"title-too-long", Low, "Long titles", "Titles over " + strconv.Itoa(MaxTitle) + " characters."}
	checkDescMissing   = Check{"description-missing", Low, "Missing descriptions", "HTML pages without <meta name=\"description\">."}
	checkDescDup       = Check{"description-duplicate", Low, "Duplicate descriptions", "Descriptions shared by several HTML pages."}
	checkDescLong      = Check{"description-too-long", Low, "Long descriptions", "Descriptions over " + strconv.Itoa(MaxDescription) + " characters."}
	checkH1Missing     = Check{"h1-missing", Low, "Missing h1", "HTML pages without an <h1>."}
	checkH1Multiple    = Check{"h1-multiple", Low, "Multiple h1", "HTML pages with more than one <h1>, with how many and the first one's text."}
	checkCanonRedirect = Check{"canonical-to-redirect", Low, "Canonical to a redirect", "Pages whose canonical URL redirects."}
	checkCanonHost     = Check{"canonical-other-host", Low, "Canonical to another host", "Pages whose canonical URL is on another host."}
	checkNoindex       = Check{"noindex", Low, "Noindex pages", "Pages that ask not to be indexed (robots meta tag or X-Robots-Tag)."}
	checkDupContent    = Check{"duplicate-content", Low, "Duplicate pages", "Pages with exactly the same body (same content_hash)."}
	checkOrphan        = Check{"orphan", Low, "Orphan pages", "Sitemap pages that no crawled page links to."}
)

// Checks are every check, worst first, in the order the report shows them.
var Checks = []Check{
	checkBroken5xx, checkBrokenNetwork, checkRedirectLoop,
	checkBroken4xx, checkRedirectError, checkTitleMissing, checkCanonError, checkCanonNoindex,
	checkRedirectChain, checkTitleDup, checkTitleLong, checkDescMissing, checkDescDup, checkDescLong,
	checkH1Missing, checkH1Multiple, checkCanonRedirect, checkCanonHost, checkNoindex, checkDupContent, checkOrphan,
}

// networkKinds are the error kinds of a URL that gave no HTTP answer.
var networkKinds = []string{"dns", "connect", "tls", "timeout", "reset", "truncated", "decode", "too_large"}

// checkRecord runs the checks that need one record only, and files what
// the checks that need the whole crawl will look at. idx is the record's
// URL in the arena.
func (b *Builder) checkRecord(r *record, idx uint32) {
	kind := r.errorKind()
	hops := len(r.Redirects)
	switch {
	case kind == "redirect_loop" || kind == "too_many_redirects":
		b.add(checkRedirectLoop, Item{URL: r.URL, Error: kind, Chain: chain(r)})
	case hops > 0 && r.failed():
		b.add(checkRedirectError, Item{URL: r.URL, Status: r.Status, Error: kind, Chain: chain(r), Referrer: r.Referrer})
	case r.Status >= 500:
		b.addBroken(checkBroken5xx, Item{URL: r.URL, Status: r.Status, Referrer: r.Referrer})
	case r.Status >= 400:
		b.addBroken(checkBroken4xx, Item{URL: r.URL, Status: r.Status, Referrer: r.Referrer})
	case r.Status == 0 && slices.Contains(networkKinds, kind):
		b.addBroken(checkBrokenNetwork, Item{URL: r.URL, Error: kind, Referrer: r.Referrer})
	}
	if hops >= 2 && !r.failed() {
		b.add(checkRedirectChain, Item{URL: r.URL, Status: r.Status, Chain: chain(r), Count: hops})
	}
	if !r.isHTMLPage() || r.redirected() {
		return // a redirect's content is its target's, checked on the target's record
	}
	b.cov.HTMLPages++
	b.checkText(checkTitleMissing, checkTitleLong, &b.titles, r.Title, MaxTitle, r.URL, idx)
	b.checkText(checkDescMissing, checkDescLong, &b.descs, r.Description, MaxDescription, r.URL, idx)
	if r.H1 == "" {
		b.add(checkH1Missing, Item{URL: r.URL})
	}
	if r.H1Count > 0 {
		b.sawH1Count = true
	}
	if r.H1Count >= 2 {
		b.add(checkH1Multiple, Item{URL: r.URL, Value: r.H1, H1Count: r.H1Count})
	}
	if r.noindex() {
		b.add(checkNoindex, Item{URL: r.URL, Value: strings.Join(r.robotsDirectives(), ", ")})
	}
	if r.ContentHash != "" {
		b.bodies.add(r.ContentHash, idx)
	}
	b.checkCanonical(r, idx)
}

// addBroken files a broken URL, to be given its link count at the end;
// past MaxItems of its check, only counted.
func (b *Builder) addBroken(c Check, item Item) {
	if b.pendingBroken[c.ID] < b.opts.maxItems() {
		b.pendingBroken[c.ID]++
		b.broken = append(b.broken, pending{check: c, item: item})
		return
	}
	b.add(c, Item{}) // only counted: the finding's items are full
}

// checkText checks a title or a description: missing, too long, and
// files it for the duplicate check.
func (b *Builder) checkText(missing, long Check, dups *dupIndex, v string, max int, url string, idx uint32) {
	if v == "" {
		b.add(missing, Item{URL: url})
		return
	}
	if n := utf8.RuneCountInString(v); n > max {
		b.add(long, Item{URL: url, Value: v, Length: n})
	}
	dups.add(v, idx)
}

// checkCanonical checks a canonical URL that is not the page itself: on
// another host at once; whether it fails, redirects or is noindex once
// every record is read.
func (b *Builder) checkCanonical(r *record, idx uint32) {
	c := r.Canonical
	if c == "" || c == r.URL || c == r.FinalURL {
		return
	}
	if hostOf(c) != hostOf(r.self()) {
		b.add(checkCanonHost, Item{URL: r.URL, Value: c})
		return
	}
	if len(b.canonicals) >= b.opts.maxPending() {
		b.canonicalsDropped++
		return
	}
	b.canonicals = append(b.canonicals, canonicalRef{page: idx, target: c})
}

// finishChecks runs the checks that need every record: link counts of
// broken URLs, duplicates, canonical targets and orphans.
func (b *Builder) finishChecks() {
	for _, p := range b.broken {
		p.item.LinkedFrom = b.linkedFrom(p.item.URL)
		b.add(p.check, p.item)
	}
	b.groups(checkTitleDup, &b.titles)
	b.groups(checkDescDup, &b.descs)
	b.groups(checkDupContent, &b.bodies)
	for _, c := range b.canonicals {
		t, ok := b.pages.get(b.hash(c.target))
		if !ok {
			b.canonicalsUnknown++
			continue
		}
		item := Item{URL: b.urls.get(c.page), Value: c.target, Status: int(t.status)}
		switch {
		case t.flags&flagFailed != 0:
			b.add(checkCanonError, item)
		case t.flags&flagRedirected != 0:
			b.add(checkCanonRedirect, item)
		case t.flags&flagNoindex != 0:
			b.add(checkCanonNoindex, item)
		}
	}
	b.checkOrphans()
}

// checkOrphans files the sitemap pages of a crawl that no crawled page
// links to, unless the crawl was truncated: then a link may be on a page
// it did not fetch, and the claim would be unfounded.
func (b *Builder) checkOrphans() {
	if b.cov.Mode != "crawl" {
		return
	}
	if b.cov.Truncated {
		b.notes = append(b.notes, "orphan pages not checked: the crawl did not cover the whole site")
		return
	}
	b.checked = append(b.checked, checkOrphan.ID)
	for h, p := range b.pages.all() {
		if in, _ := b.linksIn.get(h); p.flags&flagSitemap != 0 && in&countMask == 0 {
			b.add(checkOrphan, Item{URL: b.urls.get(p.idx)})
		}
	}
}

// chain returns every hop of r's redirects, r's URL first.
func chain(r *record) []string {
	return append([]string{r.URL}, r.Redirects...)
}

// hostOf returns the host (and port) of an absolute URL, lower-cased.
func hostOf(u string) string {
	_, rest, ok := strings.Cut(u, "://")
	if !ok {
		return ""
	}
	if i := strings.IndexAny(rest, "/?#"); i >= 0 {
		rest = rest[:i]
	}
	if i := strings.LastIndexByte(rest, '@'); i >= 0 {
		rest = rest[i+1:]
	}
	return strings.ToLower(rest)
}

// onHost reports whether the URL u is on host (as hostOf returns it),
// without copying u.
func onHost(u []byte, host string) bool {
	i := bytes.Index(u, []byte("://"))
	if i < 0 {
		return false
	}
	rest := u[i+3:]
	if j := bytes.IndexAny(rest, "/?#"); j >= 0 {
		rest = rest[:j]
	}
	if j := bytes.LastIndexByte(rest, '@'); j >= 0 {
		rest = rest[j+1:]
	}
	if len(rest) != len(host) {
		return false
	}
	for k, c := range rest {
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != host[k] {
			return false
		}
	}
	return true
}
