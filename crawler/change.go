package crawler

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/go-json-experiment/json/jsontext"

	"github.com/trawl-dev/trawl/store"
	"github.com/trawl-dev/trawl/warc"
)

// The values of a record's change with --since ([Result.Change]).
const (
	// ChangeNew is a URL the previous runs do not hold, or hold only
	// failures of, that succeeds now.
	ChangeNew = "new"
	// ChangeChanged is a page whose content hash differs from the previous
	// success, or that fails now after succeeding then, or fails in
	// another way (status, error kind) than it did.
	ChangeChanged = "changed"
	// ChangeUnchanged is a page the server answered 304 Not Modified for,
	// or whose content hash is the previous one, or that fails as it
	// did.
	ChangeUnchanged = "unchanged"
	// ChangeGone is a page that succeeded in the previous runs and is now
	// 404 or 410.
	ChangeGone = "gone"
)

// conditionalKey is the context key of a fetch's conditional request.
type conditionalKey struct{}

// conditional is what a fetch with --since sends to revalidate a page.
type conditional struct {
	url          string // the hop the validators belong to
	etag         string
	lastModified string
}

// sendsConditional reports whether a fetch revalidates the previous
// success of e: the newest previous record is that success (a URL that
// failed since is fetched whole, as is one whose validators belong to a
// redirect's target), and it has a validator.
func sendsConditional(e store.SinceEntry) bool {
	return carriable(e) && e.HasValidators
}

// setConditional adds the If-None-Match and If-Modified-Since headers of
// ctx's conditional to req, when req is for the URL they belong to.
func setConditional(ctx context.Context, req *http.Request) {
	c, ok := ctx.Value(conditionalKey{}).(conditional)
	if !ok || req.URL.String() != c.url {
		return
	}
	if c.etag != "" {
		req.Header.Set("If-None-Match", c.etag)
	}
	if c.lastModified != "" {
		req.Header.Set("If-Modified-Since", c.lastModified)
	}
}

// previous is what the previous runs hold of a request's URL.
type previous struct {
	entry  store.SinceEntry
	found  bool        // the URL is in the previous runs
	record *prevRecord // the success of entry, when already read back; nil otherwise
}

// prevRecord is a previous success read back: split into its members
// (see [spliceRecord]), or, when it does not split, decoded whole.
type prevRecord struct {
	raw   rawRecord
	whole *Result // nil when split
	size  int64   // memory it takes, about: its line's length
}

// validators returns the etag and last_modified of p.
func (p *prevRecord) validators() (etag, lastModified string, err error) {
	if p.whole != nil {
		return p.whole.ETag, p.whole.LastModified, nil
	}
	l := layout()
	if etag, err = rawString(p.raw.vals[l.byName[fieldETag]]); err != nil {
		return "", "", err
	}
	lastModified, err = rawString(p.raw.vals[l.byName[fieldLastModified]])
	return etag, lastModified, err
}

// rawString decodes the JSON string v ("" for none).
func rawString(v []byte) (string, error) {
	if v == nil || string(v) == "null" {
		return "", nil
	}
	if b, err := jsontext.AppendUnquote(nil, v); err == nil {
		return string(b), nil // valid UTF-8, and an etag's \" unescaped without reflection
	}
	var s string
	err := json.Unmarshal(v, &s)
	return s, err
}

// applyChange sets res.Change from the previous runs' entry of its URL
// (p), and on a 304 carries the previous success's fields forward into
// res.
// It returns the error of a previous record that could not be read back.
func applyChange(ctx context.Context, since *store.SinceIndex, res *Result, p previous) error {
	e, found := p.entry, p.found
	switch {
	case res.Status == http.StatusNotModified && res.Error == nil && found && e.OK:
		res.Change = ChangeUnchanged
		return carryForward(ctx, since, res, e, p.record)
	case found && !e.OK && res.Error != nil:
		// It failed then and fails now: unchanged when in the same way.
		res.Change = ChangeChanged
		if res.Status == e.Status && string(res.Error.Kind) == e.ErrKind {
			res.Change = ChangeUnchanged
		}
	case !found || !e.OK:
		res.Change = ChangeNew
	case res.Error == nil && res.Status >= 200 && res.Status <= 299:
		if e.SameContent(res.ContentHash) {
			res.Change = ChangeUnchanged
		} else {
			res.Change = ChangeChanged
		}
	case res.Status == http.StatusNotFound || res.Status == http.StatusGone:
		res.Change = ChangeGone
	default:
		res.Change = ChangeChanged
	}
	return nil
}

// carryForward carries into res, a 304, the extracted fields of the
// previous success of e, re-read from its file: title, links, fields,
// content hash, opt-in and content fields. The validators of the 304
// replace the previous ones when it sent some. prev, when not nil, is
// that success already read back. The fields are not decoded: res.carry
// holds them as written, for the JSON output to splice ([spliceRecord]),
// and [Result.materialize] decodes them for other outputs; a crawl reads
// the links from res.carry ([forCarriedLinks]). A record decoded whole
// has its links in res.Links.
// A previous record that does not split into its members is decoded and
// copied whole.
func carryForward(ctx context.Context, since *store.SinceIndex, res *Result, e store.SinceEntry, prev *prevRecord) error {
	if prev == nil {
		var err error
		if prev, err = readPrevious(ctx, since, e); err != nil {
			return fmt.Errorf("--since %s: the record of %s cannot be carried forward: %w", since.Where(e), res.URL, err)
		}
	}
	if err := carryRecord(res, prev); err != nil {
		return fmt.Errorf("--since %s: the record of %s cannot be carried forward: %w", since.Where(e), res.URL, err)
	}
	return nil
}

// carryRecord is carryForward of prev, read back.
func carryRecord(res *Result, prev *prevRecord) error {
	if prev.whole != nil {
		copyPrevious(res, prev.whole)
		return nil
	}
	l := layout()
	vals, fetchedAt, err := prepareCarry(l, prev.raw)
	if err != nil {
		return err
	}
	c := &carriedRecord{line: prev.raw.line, vals: vals, ownContentType: res.ContentType != "", ownHeaders: res.Headers != nil}
	if v := prev.raw.vals[l.byName["warc"]]; v != nil && string(v) != "null" {
		// The capture a revisit record refers to (--warc).
		var w warc.Placement
		if err := json.Unmarshal(v, &w); err != nil {
			return fmt.Errorf("warc: %w", err)
		}
		res.prevWarc = &w
	}
	res.PreviousFetchedAt = fetchedAt
	res.carry = c
	return nil
}

// copyPrevious copies into res, a 304, the extracted fields of prev, the
// previous success decoded: see [carryForward].
func copyPrevious(res *Result, prev *Result) {
	res.SetPage(prev.page())
	etag, lastModified, headers := res.ETag, res.LastModified, res.Headers
	res.PageData = prev.PageData
	if etag != "" {
		res.ETag = etag
	}
	if lastModified != "" {
		res.LastModified = lastModified
	}
	if headers != nil {
		res.Headers = headers
	}
	res.PageContent = prev.PageContent
	if res.ContentType == "" {
		res.ContentType = prev.ContentType
	}
	res.PreviousFetchedAt = prev.FetchedAt
	res.prevWarc = prev.Warc
}

// materialize decodes the fields that r carries forward as written
// (r.carry) into r, for an output that does not splice them: r is then
// what decoding the previous record and copying its fields gives.
func (r *Result) materialize() error {
	c := r.carry
	if c == nil {
		return nil
	}
	var prev Result
	if err := json.Unmarshal(c.line, &prev); err != nil {
		return fmt.Errorf("the record carried forward of %s: %w", r.URL, err)
	}
	copyPrevious(r, &prev)
	r.carry = nil
	return nil
}

// readPrevious reads back the success of e: split into its members, or
// decoded whole when it does not split.
func readPrevious(ctx context.Context, since *store.SinceIndex, e store.SinceEntry) (*prevRecord, error) {
	line, err := since.Record(ctx, e)
	if err != nil {
		return nil, err
	}
	return readPreviousLine(line)
}

// readPreviousLine is readPrevious of the record line.
func readPreviousLine(line []byte) (*prevRecord, error) {
	if rr, ok := splitRecord(layout(), line); ok {
		return &prevRecord{raw: rr, size: int64(len(line))}, nil
	}
	var prev Result
	if err := json.Unmarshal(line, &prev); err != nil {
		return nil, err
	}
	return &prevRecord{whole: &prev, size: int64(len(line))}, nil
}

// lookupSince finds req's URL in the previous runs (RunConfig.Since) and
// returns ctx made conditional on its validators when they apply. They
// come from the previous success read back once, split into its members,
// and kept for a 304 to carry forward: one read a URL. The error is
// that of a previous output that cannot be read back.
func (r *run) lookupSince(ctx context.Context, req Request) (context.Context, previous, error) {
	if r.cfg.Since == nil {
		return ctx, previous{}, nil
	}
	e, found := r.cfg.Since.Lookup(req.URL)
	p := previous{entry: e, found: found}
	if !found || !sendsConditional(e) {
		return ctx, p, nil
	}
	var etag, lastModified string
	prev, err := readPrevious(ctx, r.cfg.Since, e)
	if err == nil {
		etag, lastModified, err = prev.validators()
	}
	if err == nil {
		p.record = prev
	} else if etag, lastModified, err = r.cfg.Since.Validators(ctx, e); err != nil {
		// Readable enough for its validators, not to be carried forward:
		// that is found on a 304, if one comes.
		return ctx, p, err
	}
	return context.WithValue(ctx, conditionalKey{}, conditional{url: req.URL, etag: etag, lastModified: lastModified}), p, nil
}

// writeOut writes res to the output, unless ChangedOnly leaves it out
// (an unchanged page): it then goes to Unwritten, if set.
func (r *run) writeOut(ctx context.Context, res *Result) error {
	if !r.cfg.ChangedOnly || res.Change != ChangeUnchanged {
		if _, splices := r.cfg.Output.(*JSONOutput); res.carry != nil && !splices {
			if err := res.materialize(); err != nil {
				return err
			}
		}
		return r.cfg.Output.Write(ctx, res)
	}
	if r.cfg.Unwritten != nil {
		return r.cfg.Unwritten(ctx, res)
	}
	return nil
}

// sinceErr is the error of process for a previous record that could not
// be read back: none when ctx was cancelled meanwhile (the request is
// left undone, as any cancelled in flight), err otherwise.
func sinceErr(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return nil
	}
	return err
}

// The values of a record's via with --since ([Result.Via]): how a record
// was made without requesting its URL.
const (
	// ViaSitemapLastmod is an unchanged page that was not requested: its
	// sitemap <lastmod> is older than its previous record. The record
	// carries that record's fields, as a 304 does.
	ViaSitemapLastmod = "sitemap-lastmod"
	// ViaNotReached is a page of the previous runs that a crawl which
	// completed no longer reached (--report-removed): change gone,
	// status 0, not requested.
	ViaNotReached = "not-reached"
)

// carriable reports whether the previous success of e may stand for the
// page without a request: it is the newest record of the URL (no failure
// since) and was not redirected.
func carriable(e store.SinceEntry) bool {
	return e.OK && e.Direct && e.FetchedAt.Equal(e.OKFetchedAt) && e.ErrKind == ""
}

// noteLastmod marks loc, a page a sitemap lists with lastmod, as not
// modified since its previous record when lastmod says so: the whole span
// the lastmod names ([ParseLastmod]) ends at or before that record's
// fetched_at. A lastmod that is malformed or in the future says nothing.
func (r *run) noteLastmod(loc, lastmod string) {
	if r.cfg.Since == nil || r.cfg.NoLastmod || lastmod == "" {
		return
	}
	start, end, err := ParseLastmod(lastmod)
	if err != nil || start.After(r.cfg.Now()) {
		return
	}
	if e, found := r.cfg.Since.Lookup(loc); found && carriable(e) && !end.After(e.FetchedAt) {
		r.cfg.Since.SetUnmodified(e)
	}
}

// notRequested returns, ok, the record of req made without a request
// when a sitemap said its page was not modified since its previous
// record ([ViaSitemapLastmod]): that record carried forward, its status
// kept, fetched_at now. The error is that of a previous record that could
// not be read back.
func (r *run) notRequested(ctx context.Context, req Request, start time.Time) (res *Result, ok bool, err error) {
	if r.cfg.Since == nil || !r.cfg.Sitemaps || r.cfg.NoLastmod {
		return nil, false, nil
	}
	e, found := r.cfg.Since.Lookup(req.URL)
	if !found || !r.cfg.Since.Unmodified(e) {
		return nil, false, nil
	}
	res = NewResult(req, nil, nil, start)
	res.Status, res.Change, res.Via = e.Status, ChangeUnchanged, ViaSitemapLastmod
	if err := carryForward(ctx, r.cfg.Since, res, e, nil); err != nil {
		return nil, true, err
	}
	return res, true, nil
}
