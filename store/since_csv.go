package store

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/trawl-dev/trawl/structured"
)

// ErrSinceColumn is the cause of a CSV previous output without a column
// the index needs ([SinceCSVColumns]).
var ErrSinceColumn = errors.New("missing column")

// SinceCSVColumns are the columns a CSV previous output must have: the
// URL, when it was fetched and how it went. Without content_hash, etag
// and last_modified (optional, as are final_url and error_kind), pages
// are fetched whole and compared by what there is.
var SinceCSVColumns = []string{"url", "fetched_at", "status"}

// The columns of trawl's CSV output whose cells are not text: read back
// as JSON numbers, booleans, lists (cells joined by [ListSeparator]) or
// JSON values; error_kind and error_message become the error object.
var (
	csvIntColumns  = []string{"status", "bytes", "elapsed_ms", "depth", "links_dropped", "line", "word_count", "h1_count"}
	csvBoolColumns = []string{"links_truncated", "fields_truncated", "data_truncated"}
	csvListColumns = []string{"links", "redirects", "images"}
	csvJSONColumns = []string{"fields", "extract", "headers", "jsonld", "jsonld_errors", "opengraph", "meta", "robots_meta"}
)

// isCSVPath reports whether path names a CSV output (.csv), which the
// index reads as CSV; anything else is JSON Lines.
func isCSVPath(path string) bool { return strings.HasSuffix(strings.ToLower(path), ".csv") }

// scanCSV adds the rows of the CSV file i to the index. The header must
// have [SinceCSVColumns]; a torn last row (no line break after it, or
// inside a quoted field at the end) is ignored; any other row that is not
// a record fails with a [*CorruptRecordError] naming its line.
func (idx *SinceIndex) scanCSV(ctx context.Context, i int, path string, f *os.File) error {
	st, err := f.Stat()
	if err != nil {
		return fmt.Errorf("--since: %w", err)
	}
	size := st.Size()
	endsWithLineBreak, err := endsWithByte(f, size, '\n')
	if err != nil {
		return fmt.Errorf("--since: read %s: %w", path, err)
	}
	r := csv.NewReader(ctxReader(ctx, f))
	r.ReuseRecord = true
	header, err := r.Read()
	if err == io.EOF {
		return nil // empty
	}
	if err != nil {
		return csvError(path, err, "csv header")
	}
	header = slices.Clone(header)
	for _, c := range SinceCSVColumns {
		if !slices.Contains(header, c) {
			return fmt.Errorf("--since %s: %w %s: a previous output in CSV needs the columns %s (and content_hash, etag, last_modified to revalidate)",
				path, ErrSinceColumn, c, strings.Join(SinceCSVColumns, ", "))
		}
	}
	idx.headers[i] = header
	col := func(name string) int { return slices.Index(header, name) }
	cols := csvIndexColumns{url: col("url"), finalURL: col("final_url"), status: col("status"), fetchedAt: col("fetched_at"),
		hash: col("content_hash"), etag: col("etag"), lastModified: col("last_modified"), errKind: col("error_kind")}
	for {
		start := r.InputOffset()
		row, err := r.Read()
		if err == io.EOF {
			return nil
		}
		atEnd := r.InputOffset() == size
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) && atEnd && (!endsWithLineBreak || errors.Is(pe.Err, csv.ErrQuote)) {
				return nil // a torn last row
			}
			return csvError(path, err, "")
		}
		if atEnd && !endsWithLineBreak {
			return nil // a torn last row, perhaps cut between two fields
		}
		line, _ := r.FieldPos(0)
		rec, err := cols.record(row)
		if err != nil {
			return &CorruptRecordError{Path: path, Line: line, Err: err}
		}
		idx.add(rec, i, start)
	}
}

// csvError is err of reading the CSV at path, a [*CorruptRecordError]
// for a row that is not CSV.
func csvError(path string, err error, what string) error {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		if what != "" {
			err = fmt.Errorf("%s: %w", what, pe.Err)
		} else {
			err = pe.Err
		}
		return &CorruptRecordError{Path: path, Line: pe.StartLine, Err: err}
	}
	return fmt.Errorf("--since: read %s: %w", path, err)
}

// endsWithByte reports whether the file of size bytes ends with b.
func endsWithByte(f *os.File, size int64, b byte) (bool, error) {
	if size == 0 {
		return false, nil
	}
	last := make([]byte, 1)
	if _, err := f.ReadAt(last, size-1); err != nil {
		return false, err
	}
	return last[0] == b, nil
}

// csvIndexColumns are the positions of the columns the index reads, -1
// for one absent.
type csvIndexColumns struct {
	url, finalURL, status, fetchedAt, hash, etag, lastModified, errKind int
}

// record reads what the index needs of a row.
func (c csvIndexColumns) record(row []string) (sinceRecord, error) {
	cell := func(i int) string {
		if i < 0 || i >= len(row) {
			return ""
		}
		return csvValue(row[i])
	}
	rec := sinceRecord{URL: cell(c.url), FinalURL: cell(c.finalURL), FetchedAt: cell(c.fetchedAt),
		ContentHash: cell(c.hash), ETag: cell(c.etag), LastModified: cell(c.lastModified)}
	if !utf8.ValidString(rec.URL) {
		return rec, errors.New("url is not UTF-8") // trawl writes UTF-8 only
	}
	if k := cell(c.errKind); k != "" {
		rec.Error = &sinceErr{Kind: k}
	}
	if s := cell(c.status); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil {
			return rec, fmt.Errorf("status %q is not a number", s)
		}
		rec.Status = n
	}
	if rec.FetchedAt != "" {
		at, err := time.Parse(time.RFC3339Nano, rec.FetchedAt)
		if err != nil {
			return rec, fmt.Errorf("%w: %q", errSinceFetchedAt, rec.FetchedAt)
		}
		rec.at = at
	}
	return rec, nil
}

// csvRecord re-reads the row at offset of the CSV file f, whose header
// is header, as the JSON object of a record: the columns there are, each
// as the JSON output has it (numbers, booleans, lists, the error object;
// a --select column goes into fields). A cell that does not read as its
// type is left out.
func csvRecord(ctx context.Context, f *os.File, header []string, offset int64) ([]byte, error) {
	row, err := structured.RunSync(ctx, func(context.Context) ([]string, error) {
		return csv.NewReader(io.NewSectionReader(f, offset, 1<<62)).Read()
	})
	if err != nil {
		return nil, fmt.Errorf("--since: %s at byte %d: %w", f.Name(), offset, ErrSinceChanged)
	}
	obj := make(map[string]any, len(row))
	var errObj map[string]string
	fields := map[string][]string{}
	for i, name := range header {
		if i >= len(row) {
			break
		}
		v := csvValue(row[i])
		switch {
		case name == "error_kind" || name == "error_message":
			if v != "" {
				if errObj == nil {
					errObj = map[string]string{}
				}
				errObj[strings.TrimPrefix(name, "error_")] = v
			}
		case slices.Contains(csvIntColumns, name):
			if n, err := strconv.ParseInt(v, 10, 64); err == nil {
				obj[name] = n
			}
		case slices.Contains(csvBoolColumns, name):
			if b, err := strconv.ParseBool(v); err == nil {
				obj[name] = b
			}
		case slices.Contains(csvListColumns, name):
			obj[name] = splitList(v)
		case slices.Contains(csvJSONColumns, name):
			if v != "" && json.Valid([]byte(v)) {
				obj[name] = json.RawMessage(v)
			}
		case slices.Contains(csvTextColumns, name):
			if v != "" {
				obj[name] = v
			}
		default: // a --select column
			fields[name] = splitList(v)
		}
	}
	if errObj != nil {
		obj["error"] = errObj
	}
	if _, ok := obj["fields"]; !ok && len(fields) > 0 {
		obj["fields"] = fields
	}
	return json.Marshal(obj)
}

// splitList reads a list cell: values joined by [ListSeparator].
func splitList(v string) []string {
	if v == "" {
		return []string{}
	}
	return strings.Split(v, ListSeparator)
}

// csvTextColumns are the text columns of trawl's CSV output that a CSV
// previous output carries forward as they are; a column that is in
// none of the lists is taken for a --select field.
var csvTextColumns = []string{
	"url", "input", "host", "final_url", "content_type", "title", "description", "canonical", "h1", "lang",
	"fetched_at", "remote_addr", "proto", "tls_version", "content_hash", "etag", "last_modified", "stored_path",
	"html", "markdown", "text", "byline", "published_time", "site_name", "change", "previous_fetched_at", "via",
}

// WithoutLinks returns the CSV files of the index that have no links
// column: their pages, when unchanged, carry no links forward.
func (idx *SinceIndex) WithoutLinks() []string {
	var paths []string
	for i, h := range idx.headers {
		if h != nil && !slices.Contains(h, "links") {
			paths = append(paths, idx.files[i].Name())
		}
	}
	return paths
}
