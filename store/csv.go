package store

import (
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"time"

	"github.com/trawl-dev/trawl/structured"
)

// ListSeparator is the separator that callers put between the values of a
// list field (links, custom selectors with several matches) to make one
// CSV field of it. A " | " inside a value is left as it is: CSV output is
// for spreadsheets and quick looks; JSON Lines is the lossless format.
const ListSeparator = " | "

// ErrHeaderMismatch is returned by [OpenCSV] when the file already starts
// with a header other than the one asked for: appending would mix columns.
var ErrHeaderMismatch = errors.New("store: csv header differs from the existing file's")

// CSVSink writes CSV (RFC 4180 quoting by encoding/csv, "\n" line
// endings): a header row, then one record per result.
//
// A field that a spreadsheet would take for a formula, one starting with
// '=', '+', '-', '@', a tab or a carriage return, is written with a "'"
// before it, as OWASP advises against CSV injection: Excel and
// LibreOffice show it as text instead of running it. [WithCSVRaw] turns
// this off. The header row is written as it is.
type CSVSink struct {
	w      *recordWriter
	fields int
	raw    bool
	row    bytes.Buffer
	enc    *csv.Writer
	cells  []string // scratch for the neutralised row
}

// WithCSVRaw makes a CSV sink write fields as they are when raw is true,
// without the "'" that keeps a spreadsheet from reading a field as a
// formula.
func WithCSVRaw(raw bool) SinkOption { return func(c *sinkConfig) { c.csvRaw = raw } }

// isFormulaStart reports whether a spreadsheet may take a field starting
// with c for a formula (OWASP's list).
func isFormulaStart(c byte) bool {
	switch c {
	case '=', '+', '-', '@', '\t', '\r':
		return true
	}
	return false
}

// CSVValue returns the value that a CSV sink wrote as the field f: f
// without the "'" put before a value starting like a formula.
func CSVValue(f string) string { return csvValue(f) }

// CSVReader returns a reader of the file f for encoding/csv, its reads
// interrupted when ctx is done.
func CSVReader(ctx context.Context, f *structured.File) io.Reader { return fileReader(ctx, f) }

// csvValue returns the value written as the CSV field f: f without the
// "'" that [CSVSink] puts before a value starting like a formula.
func csvValue(f string) string {
	if len(f) > 1 && f[0] == '\'' && isFormulaStart(f[1]) {
		return f[1:]
	}
	return f
}

// neutralise returns row with "'" put before each field that starts like
// a formula, row itself when there is none.
func (s *CSVSink) neutralise(row []string) []string {
	out := row
	for i, f := range row {
		if f == "" || !isFormulaStart(f[0]) {
			continue
		}
		if &out[0] == &row[0] {
			s.cells = append(s.cells[:0], row...)
			out = s.cells
		}
		out[i] = "'" + f
	}
	return out
}

// OpenCSV opens path for appending, creating it if needed, and returns a
// sink writing to it. The header is written only when the file is empty;
// when it has content (a resumed run), its first record must equal header
// or OpenCSV fails with [ErrHeaderMismatch]. Call [ScanCSV] first to
// remove a torn last record.
func OpenCSV(ctx context.Context, path string, header []string, opts ...SinkOption) (*CSVSink, error) {
	existing, err := readCSVHeader(ctx, path)
	if err != nil {
		return nil, err
	}
	if existing != nil && !slices.Equal(existing, header) {
		return nil, fmt.Errorf("open %s: %w: file has %q", path, ErrHeaderMismatch, existing)
	}
	f, err := openAppend(ctx, path)
	if err != nil {
		return nil, err
	}
	s := newCSVSink(f, len(header), opts)
	if err := s.w.trackEnd(ctx, path); err != nil {
		return nil, errors.Join(err, f.Close(ctx))
	}
	if existing == nil {
		if err := s.write(ctx, header, false); err != nil {
			return nil, errors.Join(err, f.Close(ctx))
		}
	}
	return s, nil
}

// NewCSV returns a sink writing to f, such as structured.NewFile(os.Stdout),
// and buffers header as its first row. The sink owns f: Close closes it.
func NewCSV(ctx context.Context, f *structured.File, header []string, opts ...SinkOption) (*CSVSink, error) {
	s := newCSVSink(f, len(header), opts)
	if err := s.write(ctx, header, false); err != nil {
		return nil, err
	}
	return s, nil
}

func newCSVSink(f recordFile, fields int, opts []SinkOption) *CSVSink {
	cfg := newSinkConfig(opts)
	s := &CSVSink{w: newRecordWriter(f, cfg), fields: fields, raw: cfg.csvRaw}
	s.enc = csv.NewWriter(&s.row)
	return s
}

// ErrFieldCount is returned by [CSVSink.Write] for a row whose number of
// fields differs from the header's.
var ErrFieldCount = errors.New("store: csv row has a different number of fields than the header")

// Write buffers one row, quoted as RFC 4180 requires (a field holding a
// comma, a quote or a line break is quoted) and with formulas neutralised
// (see [CSVSink]), and writes the buffer out past the buffer size. The row
// must have as many fields as the header. Join list values with
// [ListSeparator] first.
func (s *CSVSink) Write(ctx context.Context, row []string) error {
	if len(row) != s.fields {
		return fmt.Errorf("write %s: %w: %d fields, header has %d", s.w.f.Name(), ErrFieldCount, len(row), s.fields)
	}
	return s.write(ctx, row, !s.raw)
}

// write buffers row, neutralised when neutral is true.
func (s *CSVSink) write(ctx context.Context, row []string, neutral bool) error {
	return s.w.append(ctx, func(b []byte) []byte {
		if neutral {
			row = s.neutralise(row)
		}
		s.row.Reset()
		s.enc.Write(row) // errors only from the bytes.Buffer, which has none
		s.enc.Flush()
		return append(b, s.row.Bytes()...)
	})
}

// Flush writes out the buffered rows in one write. Call it at least every
// 200 ms (see [FlushEvery]).
func (s *CSVSink) Flush(ctx context.Context) error { return s.w.Flush(ctx) }

// Close flushes, syncs and closes, as [JSONLSink.Close] does.
func (s *CSVSink) Close(ctx context.Context) error { return s.w.Close(ctx) }

// readCSVHeader returns the first record of the CSV file at path, or nil
// when the file is missing or empty.
func readCSVHeader(ctx context.Context, path string) ([]string, error) {
	if info, err := os.Stat(path); err == nil && !info.Mode().IsRegular() {
		return nil, nil // a pipe, terminal or device: reading it would wait for input
	}
	f, err := structured.OpenFile(ctx, path, os.O_RDONLY, 0)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer closeRead(ctx, f)
	rec, err := csv.NewReader(fileReader(ctx, f)).Read()
	switch {
	case err == io.EOF:
		return nil, nil
	case err != nil:
		return nil, fmt.Errorf("read %s header: %w", path, err)
	}
	return rec, nil
}

// readerFunc adapts a function to io.Reader.
type readerFunc func(p []byte) (int, error)

func (r readerFunc) Read(p []byte) (int, error) { return r(p) }

// fileReader returns an io.Reader reading f with ctx, for encoding/csv.
func fileReader(ctx context.Context, f *structured.File) io.Reader {
	return readerFunc(func(p []byte) (int, error) { return f.Read(ctx, p) })
}

// closeReadTimeout bounds the close of a file that was only read.
const closeReadTimeout = 5 * time.Second

// closeRead closes a file that was only read, shielded from ctx's
// cancellation so that the descriptor is released. Nothing written can be
// lost, so the close's error is of no interest.
func closeRead(ctx context.Context, f *structured.File) {
	_ = structured.Shielded(ctx, closeReadTimeout, f.Close)
}
