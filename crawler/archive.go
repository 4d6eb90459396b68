package crawler

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sync"

	"github.com/trawl-dev/trawl/structured"
	"github.com/trawl-dev/trawl/warc"
)

// An Archive writes what a run fetched into WARC files (--warc): for
// every [Exchange] a request record and a response record, and for a
// page a metadata record holding its result. The records of a page are
// made and compressed by [Archive.Prepare] in the worker that fetched it
// (safe for concurrent use), and written by [Archive.Write] in the run's
// writer task only, before the page's record goes to the output, so that
// the output never names a record that is not on disk.
type Archive struct {
	w *warc.Writer
}

// NewArchive returns an Archive writing with w.
func NewArchive(w *warc.Writer) *Archive { return &Archive{w: w} }

// A PreparedPage is the records of one page (or of the sitemaps read),
// compressed, waiting for [Archive.Write].
type PreparedPage struct {
	members []warc.Member
	page    int // index of the page's response record; -1 when none
}

// Prepare makes the records of exchanges, in order, and, when res is a
// page whose final response is among them, a metadata record with res,
// and compresses them. A 304 carried forward from a previous capture that
// is known (res's previous warc field) becomes a revisit record referring
// to it. res may be nil (sitemaps).
func (a *Archive) Prepare(ctx context.Context, res *Result, exchanges []*Exchange) (*PreparedPage, error) {
	page := -1
	if res != nil && res.Status != 0 {
		for i, ex := range exchanges {
			if ex.URL == res.FinalURL {
				page = i
			}
		}
	}
	recs := make([]*warc.Record, 0, 2*len(exchanges)+1)
	var respID string
	for i, ex := range exchanges {
		req, resp := a.records(ex)
		if i == page {
			respID = resp.ID()
			if res.Change == ChangeUnchanged && res.Status == http.StatusNotModified && res.prevWarc != nil {
				resp = a.revisit(ctx, ex, resp, res)
			}
		}
		recs = append(recs, req, resp)
	}
	if page >= 0 {
		buf := metaBufs.Get().(*bytes.Buffer)
		defer func() {
			if buf.Cap() <= 64<<10 {
				buf.Reset()
				metaBufs.Put(buf)
			}
		}()
		meta, err := a.metadata(buf, res, exchanges[page], respID)
		if err != nil {
			return nil, err
		}
		recs = append(recs, meta)
	}
	p := &PreparedPage{members: make([]warc.Member, len(recs)), page: -1}
	if page >= 0 {
		p.page = 2*page + 1
	}
	for i, r := range recs {
		var err error
		if p.members[i], err = a.w.Compress(r); err != nil {
			return nil, fmt.Errorf("compress a record of %s: %w", r.Header.Get("WARC-Target-URI"), err)
		}
	}
	return p, nil
}

// Write writes the records of p and returns where the page's response
// record went (nil when there is none). Only one task may call it.
func (a *Archive) Write(ctx context.Context, p *PreparedPage) (*warc.Placement, error) {
	if p == nil || len(p.members) == 0 {
		return nil, nil
	}
	places, err := a.w.WriteMembers(ctx, p.members...)
	if err != nil {
		return nil, err
	}
	if p.page < 0 {
		return nil, nil
	}
	place := places[p.page]
	return &place, nil
}

// records returns the request and response records of ex.
func (a *Archive) records(ex *Exchange) (req, resp *warc.Record) {
	respID := a.w.NewID()
	req = &warc.Record{Block: ex.Request}
	req.Header.Add("WARC-Type", warc.TypeRequest)
	req.Header.Add("WARC-Record-ID", a.w.NewID())
	req.AddDate(ex.Date)
	req.Header.Add("WARC-Target-URI", ex.URL)
	req.Header.Add("WARC-IP-Address", ex.IP)
	req.Header.Add("WARC-Concurrent-To", respID)
	req.Header.Add("Content-Type", warc.ContentTypeHTTPRequest)
	resp = &warc.Record{Block: ex.Response}
	resp.Header.Add("WARC-Type", warc.TypeResponse)
	resp.Header.Add("WARC-Record-ID", respID)
	resp.AddDate(ex.Date)
	resp.Header.Add("WARC-Target-URI", ex.URL)
	resp.Header.Add("WARC-IP-Address", ex.IP)
	resp.Header.Add("Content-Type", warc.ContentTypeHTTPResponse)
	resp.Header.Add("WARC-Payload-Digest", resp.PayloadDigest(a.w.Digest()))
	resp.Header.Add("WARC-Truncated", ex.Truncated)
	return req, resp
}

// revisit turns the response record resp of the 304 ex into a revisit
// record (profile server-not-modified) referring to res's previous
// capture: the record its warc field names, read back when its file is
// there (a revisit there points on to its own original), or else its URL
// and date.
func (a *Archive) revisit(ctx context.Context, ex *Exchange, resp *warc.Record, res *Result) *warc.Record {
	target, date, id, digest := res.FinalURL, "", "", ""
	if !res.PreviousFetchedAt.IsZero() {
		date = warc.FormatDate(res.PreviousFetchedAt.Time)
	}
	prev, err := structured.RunSync(ctx, func(context.Context) (*warc.ReadRecord, error) {
		return warc.ReadAt(res.prevWarc.File, res.prevWarc.Offset)
	})
	if err == nil {
		switch prev.Type() {
		case warc.TypeResponse:
			target, date, id = prev.Header.Get("WARC-Target-URI"), prev.Header.Get("WARC-Date"), prev.ID()
			digest = prev.Header.Get("WARC-Payload-Digest")
		case warc.TypeRevisit:
			target, date, id = prev.Header.Get("WARC-Refers-To-Target-URI"), prev.Header.Get("WARC-Refers-To-Date"), prev.Header.Get("WARC-Refers-To")
			digest = prev.Header.Get("WARC-Payload-Digest")
		}
	}
	r := &warc.Record{Block: ex.Response}
	r.Header.Add("WARC-Type", warc.TypeRevisit)
	r.Header.Add("WARC-Record-ID", resp.ID())
	r.AddDate(ex.Date)
	r.Header.Add("WARC-Target-URI", ex.URL)
	r.Header.Add("WARC-IP-Address", ex.IP)
	r.Header.Add("WARC-Profile", warc.ProfileServerNotModified)
	r.Header.Add("WARC-Refers-To", id)
	r.Header.Add("WARC-Refers-To-Target-URI", target)
	r.Header.Add("WARC-Refers-To-Date", date)
	r.Header.Add("Content-Type", warc.ContentTypeHTTPResponse)
	r.Header.Add("WARC-Payload-Digest", digest)
	return r
}

// metaBufs holds the buffers metadata records are encoded into, each
// given back once its record is compressed: growing a new one to a
// page's 2 KB of JSON took 6 allocations.
var metaBufs = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// metadata returns the metadata record of the page res, whose final
// response is ex and its record respID: res as JSON, encoded into buf,
// which the record's block is until buf is reused.
func (a *Archive) metadata(buf *bytes.Buffer, res *Result, ex *Exchange, respID string) (*warc.Record, error) {
	if res.carry != nil {
		// A 304's fields carried forward as written: decoded into a copy,
		// the record itself stays spliced for the output.
		cp := *res
		if err := cp.materialize(); err != nil {
			return nil, fmt.Errorf("encode the metadata record of %s: %w", res.URL, err)
		}
		res = &cp
	}
	// What json.Marshal(res) writes (HTML characters escaped, unlike
	// the output), in one pass: json.Marshal would encode res through
	// its MarshalJSON and compact the result again.
	if err := json.NewEncoder(buf).Encode(res.jsonForm()); err != nil {
		return nil, fmt.Errorf("encode the metadata record of %s: %w", res.URL, err)
	}
	m := &warc.Record{Block: bytes.TrimSuffix(buf.Bytes(), []byte("\n"))}
	m.Header.Add("WARC-Type", warc.TypeMetadata)
	m.Header.Add("WARC-Record-ID", a.w.NewID())
	m.AddDate(ex.Date)
	m.Header.Add("WARC-Target-URI", ex.URL)
	m.Header.Add("WARC-Concurrent-To", respID)
	m.Header.Add("Content-Type", "application/json")
	return m, nil
}

// Commit closes the WARC files that reached their size: call it once the
// output naming their records is flushed (see [warc.Writer.Commit]).
func (a *Archive) Commit(ctx context.Context) error { return a.w.Commit(ctx) }

// Close closes the current WARC file.
func (a *Archive) Close(ctx context.Context) error { return a.w.Close(ctx) }

// Abandon leaves the WARC files open for --resume (see
// [warc.Writer.Abandon]): for a run whose output failed.
func (a *Archive) Abandon(ctx context.Context) error { return a.w.Abandon(ctx) }
