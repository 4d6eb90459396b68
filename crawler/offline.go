package crawler

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"

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
	// From is a JSON Lines or CSV output of trawl: each record with a
	// stored_path is extracted again from that file, keeping the
	// record's url, input, host, final_url, status, content_type,
	// fetched_at, depth, redirects, etag and last_modified, and its
	// error when of kind http (it goes with the status). A CSV (named
	// .csv, or whose first character is not "{") needs url and
	// stored_path columns; the others are taken when present.
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
	isCSV, err := fromCSV(ctx, cfg.From)
	if err != nil {
		return 0, fmt.Errorf("--from: %w", err)
	}
	if isCSV {
		return cfg.extractFromCSV(ctx, f, write)
	}
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

// fromCSV reports whether the --from file at path is a CSV: named .csv,
// or starting with something else than a JSON object.
func fromCSV(ctx context.Context, path string) (bool, error) {
	if strings.EqualFold(filepath.Ext(path), ".csv") {
		return true, nil
	}
	f, err := structured.OpenFile(ctx, path, os.O_RDONLY, 0)
	if err != nil {
		return false, err
	}
	defer f.Close(context.WithoutCancel(ctx))
	buf := make([]byte, 512)
	n, err := io.ReadFull(store.CSVReader(ctx, f), buf)
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
		return false, err
	}
	head := bytes.TrimLeft(bytes.TrimPrefix(buf[:n], []byte("\uFEFF")), " \t\r\n")
	return len(head) > 0 && head[0] != '{', nil
}

// csvFromColumns are the columns of a CSV --from file that are read into
// the record, with the JSON type of each.
var csvFromColumns = map[string]string{
	"url": "string", "input": "string", "host": "string", "final_url": "string",
	"status": "int", "content_type": "string", "fetched_at": "string", "depth": "int",
	"redirects": "list", "etag": "string", "last_modified": "string", "stored_path": "string",
}

// extractFromCSV is extractFrom for a CSV written by trawl: its header
// must name the url and stored_path columns.
func (cfg *ExtractConfig) extractFromCSV(ctx context.Context, f *structured.File, write func(*Result) error) (int, error) {
	r := csv.NewReader(store.CSVReader(ctx, f))
	r.FieldsPerRecord = -1
	header, err := r.Read()
	if err != nil {
		return 0, fmt.Errorf("--from %s: read the CSV header: %w", cfg.From, err)
	}
	col := map[string]int{}
	for i, h := range header {
		col[strings.TrimPrefix(strings.TrimSpace(h), "\uFEFF")] = i
	}
	if _, ok := col["url"]; !ok {
		return 0, fmt.Errorf("--from %s: %w: neither JSON Lines nor a CSV with a url column (its header: %s)", cfg.From, ErrFromFormat, strings.Join(header, ","))
	}
	if _, ok := col["stored_path"]; !ok {
		return 0, fmt.Errorf("--from %s: %w: the CSV has no stored_path column (write it with --store and --fields +stored_path)", cfg.From, ErrFromFormat)
	}
	skipped := 0
	for row := 2; ; row++ {
		cells, err := r.Read()
		if errors.Is(err, io.EOF) {
			return skipped, nil
		}
		if err != nil {
			return skipped, fmt.Errorf("--from %s: %w", cfg.From, err)
		}
		rec, err := csvRecord(col, cells)
		if err != nil {
			return skipped, fmt.Errorf("--from %s row %d: %w", cfg.From, row, err)
		}
		if rec.StoredPath == "" {
			skipped++
			continue
		}
		if err := write(cfg.extract(ctx, rec, rec.StoredPath)); err != nil {
			return skipped, err
		}
	}
}

// ErrFromFormat is the error of a --from file that is not an output of
// trawl that extract can read.
var ErrFromFormat = errors.New("not records of trawl")

// csvRecord returns the record of the CSV row cells, whose columns are
// at the indexes of col.
func csvRecord(col map[string]int, cells []string) (*Result, error) {
	obj := map[string]any{}
	cell := func(name string) (string, bool) {
		i, ok := col[name]
		if !ok || i >= len(cells) {
			return "", false
		}
		return store.CSVValue(cells[i]), true
	}
	for name, kind := range csvFromColumns {
		v, ok := cell(name)
		if !ok || v == "" {
			continue
		}
		switch kind {
		case "int":
			n, err := strconv.Atoi(v)
			if err != nil {
				return nil, fmt.Errorf("%s %q: not a number", name, v)
			}
			obj[name] = n
		case "list":
			obj[name] = strings.Split(v, CSVSeparator)
		default:
			obj[name] = v
		}
	}
	if kind, ok := cell("error_kind"); ok && kind != "" {
		msg, _ := cell("error_message")
		obj["error"] = ResultError{Kind: Kind(kind), Message: msg}
	}
	b, err := json.Marshal(obj)
	if err != nil {
		return nil, err
	}
	var rec Result
	if err := json.Unmarshal(b, &rec); err != nil {
		return nil, err
	}
	return &rec, nil
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
