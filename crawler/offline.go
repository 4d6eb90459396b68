package crawler

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"

	"github.com/trawl-dev/trawl/store"
	"github.com/trawl-dev/trawl/structured"
)

// ExtractConfig is one run of `trawl extract`: the extraction of a fetch
// run on bodies saved by --store ([BodyStore]), without fetching.
type ExtractConfig struct {
	// Files are stored bodies, each extracted as fetched from Base.
	Files []string
	// Base is the URL the Files were fetched from: their record's url
	// and final_url, against which their links resolve. Empty means the
	// file's own file: URL, against which relative links resolve to
	// file: URLs, which are left out.
	Base string
	// From is a JSON Lines output of trawl: each record with a
	// stored_path is extracted again from that file, keeping the
	// record's url, input, host, final_url, status, content_type,
	// fetched_at, depth, redirects, etag and last_modified, and its
	// error when of kind http (it goes with the status).
	From string
	// Selectors, Extras and Content are as in [RunConfig].
	Selectors []Selector
	Extras    Extras
	Content   ContentOptions
	// MaxLinks is the most links kept from one page; zero means
	// [DefaultMaxLinks].
	MaxLinks int
	// MaxBody is the largest stored body read (larger ones get an error
	// of kind too_large) and sets the page's budgets ([PageBudget]).
	MaxBody int64
	// Output receives every record.
	Output ResultWriter
	// Warn, when set, is told about records of From skipped for having
	// no stored_path.
	Warn func(msg string)
}

// ExtractStored writes to cfg.Output the record of each of cfg.Files,
// then of each record of cfg.From that has a stored_path, and returns how
// many it wrote. A body that cannot be read gives a record with an error
// of kind [KindStore] (or [KindTooLarge]); a From file that cannot be
// read, or a line of it that is not a record, is an error that ends the
// run.
func ExtractStored(ctx context.Context, cfg ExtractConfig) (int, error) {
	n := 0
	write := func(res *Result) error {
		if err := cfg.Output.Write(ctx, res); err != nil {
			return fmt.Errorf("write record of %s: %w", res.URL, err)
		}
		n++
		return nil
	}
	for _, path := range cfg.Files {
		abs, err := filepath.Abs(path)
		if err != nil {
			return n, fmt.Errorf("stored body %s: %w", path, err)
		}
		base := cfg.Base
		if base == "" {
			base = (&url.URL{Scheme: "file", Path: filepath.ToSlash(abs)}).String()
		}
		rec := &Result{URL: base, FinalURL: base, ContentType: StoredContentType(abs)}
		if err := write(cfg.extract(ctx, rec, abs)); err != nil {
			return n, err
		}
	}
	if cfg.From != "" {
		m, err := cfg.extractFrom(ctx, write)
		if err != nil {
			return n, err
		}
		if m > 0 && cfg.Warn != nil {
			cfg.Warn(fmt.Sprintf("%s: %d records without stored_path skipped (fetched without --store, or their body did not come whole)", cfg.From, m))
		}
	}
	if err := cfg.Output.Flush(ctx); err != nil {
		return n, fmt.Errorf("flush output: %w", err)
	}
	return n, nil
}

// extractFrom extracts each record of cfg.From that has a stored_path
// and returns how many it skipped for having none.
func (cfg *ExtractConfig) extractFrom(ctx context.Context, write func(*Result) error) (int, error) {
	f, err := structured.OpenFile(ctx, cfg.From, os.O_RDONLY, 0)
	if err != nil {
		return 0, fmt.Errorf("--from: %w", err)
	}
	defer f.Close(context.WithoutCancel(ctx))
	skipped, line := 0, 0
	for text, err := range f.Lines(ctx, structured.MaxLineLength(store.MaxRecordBytes)) {
		line++
		if err != nil {
			return skipped, fmt.Errorf("--from: %w", err)
		}
		if text == "" {
			continue
		}
		var rec Result
		if err := json.Unmarshal([]byte(text), &rec); err != nil {
			return skipped, fmt.Errorf("--from %s line %d: not a record of trawl: %w", cfg.From, line, err)
		}
		if rec.StoredPath == "" {
			skipped++
			continue
		}
		if err := write(cfg.extract(ctx, &rec, rec.StoredPath)); err != nil {
			return skipped, err
		}
	}
	return skipped, nil
}

// extract returns the record of the body stored at path, whose fetch rec
// describes.
func (cfg *ExtractConfig) extract(ctx context.Context, rec *Result, path string) *Result {
	res := &Result{
		URL: rec.URL, Input: rec.Input, Host: rec.Host, FinalURL: rec.FinalURL, Status: rec.Status,
		ContentType: rec.ContentType, FetchedAt: rec.FetchedAt, Depth: rec.Depth, Redirects: rec.Redirects,
		PageData: PageData{ETag: rec.ETag, LastModified: rec.LastModified},
	}
	if res.Host == "" {
		res.Host = recordHost(rec.URL)
	}
	if rec.Error != nil && rec.Error.Kind == KindHTTP {
		res.Error = rec.Error // goes with the status kept
	}
	body, err := readStored(ctx, path, cfg.MaxBody)
	if err != nil {
		res.Error = ErrorFromErr(err)
		return res
	}
	final := rec.FinalURL
	if final == "" {
		final = rec.URL
	}
	header := http.Header{}
	if rec.ContentType != "" {
		header.Set("Content-Type", rec.ContentType)
	}
	resp := &Response{URL: rec.URL, FinalURL: final, Status: rec.Status, Header: header, Body: body}
	res.Bytes = int64(len(body))
	setResponseData(res, resp, true)
	res.ETag, res.LastModified = rec.ETag, rec.LastModified
	res.StoredPath = path
	budget := PageBudget(cfg.MaxBody)
	extractInto(res, resp, cfg.Selectors, Limits{MaxLinks: cfg.MaxLinks, MaxLinkBytes: budget, MaxFieldBytes: budget}, cfg.Extras)
	extractContentInto(res, resp, cfg.Content)
	return res
}

// readStored reads the stored body at path: an error of kind [KindStore]
// when it cannot, of kind [KindTooLarge] when it is larger than maxBody
// (when positive).
func readStored(ctx context.Context, path string, maxBody int64) ([]byte, error) {
	return structured.RunSync(ctx, func(context.Context) ([]byte, error) {
		f, err := os.Open(path)
		if err != nil {
			return nil, newError(KindStore, path, fmt.Errorf("read stored body: %w", err))
		}
		defer f.Close()
		st, err := f.Stat()
		if err != nil {
			return nil, newError(KindStore, path, fmt.Errorf("read stored body: %w", err))
		}
		if maxBody > 0 && st.Size() > maxBody {
			return nil, newError(KindTooLarge, path, fmt.Errorf("stored body of %d bytes larger than --max-body (%d B)", st.Size(), maxBody))
		}
		body := make([]byte, st.Size())
		if _, err := io.ReadFull(f, body); err != nil {
			return nil, newError(KindStore, path, fmt.Errorf("read stored body: %w", err))
		}
		return body, nil
	})
}
