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
type CSVSink struct {
	w      *recordWriter
	fields int
	row    bytes.Buffer
	enc    *csv.Writer
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
		if err := s.Write(ctx, header); err != nil {
			return nil, errors.Join(err, f.Close(ctx))
		}
	}
	return s, nil
}

// NewCSV returns a sink writing to f, such as structured.NewFile(os.Stdout),
// and buffers header as its first row. The sink owns f: Close closes it.
func NewCSV(ctx context.Context, f *structured.File, header []string, opts ...SinkOption) (*CSVSink, error) {
	s := newCSVSink(f, len(header), opts)
	if err := s.Write(ctx, header); err != nil {
		return nil, err
	}
	return s, nil
}

func newCSVSink(f recordFile, fields int, opts []SinkOption) *CSVSink {
	s := &CSVSink{w: newRecordWriter(f, newSinkConfig(opts)), fields: fields}
	s.enc = csv.NewWriter(&s.row)
	return s
}

// ErrFieldCount is returned by [CSVSink.Write] for a row whose number of
// fields differs from the header's.
var ErrFieldCount = errors.New("store: csv row has a different number of fields than the header")

// Write buffers one row, quoted as RFC 4180 requires (a field holding a
// comma, a quote or a line break is quoted), and writes the buffer out
// past the buffer size. The row must have as many fields as the header.
// Join list values with [ListSeparator] first.
func (s *CSVSink) Write(ctx context.Context, row []string) error {
	if len(row) != s.fields {
		return fmt.Errorf("write %s: %w: %d fields, header has %d", s.w.f.Name(), ErrFieldCount, len(row), s.fields)
	}
	return s.w.append(ctx, func(b []byte) []byte {
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
