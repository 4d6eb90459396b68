package crawler

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/trawl-dev/trawl/store"
	"github.com/trawl-dev/trawl/structured"
)

// errStopListing ends the walk of the index when the run is stopped.
var errStopListing = errors.New("stopped")

// reportRemoved, with ReportRemoved, ends a crawl that completed with a
// record for every page of the previous runs (a success) that it did not
// reach and that is in its scope at its previous depth: change gone, via
// not-reached, status 0, not requested. A crawl that did not complete
// (stopped, or cut by --max-pages), or one where --max-links left links
// of a page out, lists nothing and says so through
// Warn. The index is walked in place: memory does not grow with it. A
// stop during the walk ends it, and the run is then incomplete (a
// resumed run lists the rest: those listed are in its output, reached).
//
// workErr is the error of the crawl, returned as it is.
func (r *run) reportRemoved(ctx context.Context, results *structured.SendStream[finishedRequest], workErr error) error {
	if !r.cfg.ReportRemoved || r.cfg.Since == nil || !r.cfg.Crawl {
		return workErr
	}
	switch {
	case workErr != nil:
		r.warn("--report-removed: the crawl did not complete: no page is listed as removed (a resumed run that completes lists them)")
		return workErr
	case ctx.Err() != nil || r.cfg.Stop.IsSet() || !r.inputDone.Load() || r.frontier.Pending() != 0:
		r.warn("--report-removed: the crawl did not complete: no page is listed as removed (a resumed run that completes lists them)")
		return nil
	case r.cfg.Scope != nil && r.cfg.Scope.Truncated():
		r.warn("--report-removed: --max-pages cut the crawl short: no page is listed as removed")
		return nil
	case r.linksCut.Load():
		r.warn("--report-removed: --max-links left links of a page out (links_truncated), so pages only they reach would look removed: no page is listed as removed (raise --max-links)")
		return nil
	}
	err := r.cfg.Since.Unreached(func(e store.SinceEntry) error {
		if ctx.Err() != nil || r.cfg.Stop.IsSet() {
			return errStopListing
		}
		res, err := r.removedRecord(ctx, e)
		if err != nil || res == nil {
			return err
		}
		err = results.Send(context.WithoutCancel(ctx), finishedRequest{result: res})
		if errors.Is(err, structured.ErrBrokenResource) {
			return errStopListing // the writer failed; its error tells why
		}
		return err
	})
	if errors.Is(err, errStopListing) {
		r.removedCut.Store(true)
		return nil
	}
	return sinceErr(ctx, err)
}

// removedRecord returns the record of the page of e, not reached: nil
// when it is outside the scope.
func (r *run) removedRecord(ctx context.Context, e store.SinceEntry) (*Result, error) {
	line, err := r.cfg.Since.Record(ctx, e)
	if err != nil {
		return nil, err
	}
	var prev struct {
		URL       string    `json:"url"`
		Depth     int       `json:"depth"`
		FetchedAt Timestamp `json:"fetched_at"`
	}
	if err := json.Unmarshal(line, &prev); err != nil {
		return nil, fmt.Errorf("--since %s: the record cannot be read back: %w", r.cfg.Since.Where(e), err)
	}
	if r.cfg.Scope != nil && r.cfg.Scope.Check(prev.URL, prev.Depth) != nil {
		return nil, nil
	}
	return &Result{
		URL: prev.URL, Host: recordHost(prev.URL), Depth: prev.Depth,
		FetchedAt: Timestamp{r.cfg.Now()}, PreviousFetchedAt: prev.FetchedAt,
		Change: ChangeGone, Via: ViaNotReached,
	}, nil
}

// warn tells Warn, when set.
func (r *run) warn(msg string) {
	if r.cfg.Warn != nil {
		r.cfg.Warn(msg)
	}
}
