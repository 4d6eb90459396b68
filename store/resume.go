package store

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/trawl-dev/trawl/structured"
)

// MaxRecordLength is the longest output line, in bytes, that [ScanJSONL]
// reads as a record; a longer line is reported as corrupt.
const MaxRecordLength = 64 << 20

// MaxReported is the number of corrupt records that a [ScanResult] lists;
// CorruptCount counts them all.
const MaxReported = 100

// ErrCorruptRecord is matched by every [*CorruptRecordError].
var ErrCorruptRecord = errors.New("store: corrupt record")

// ErrNoURLColumn is returned by [ScanCSV] when the file's header has no
// column of the given name.
var ErrNoURLColumn = errors.New("store: csv header has no url column")

// CorruptRecordError describes a record in the middle of an output file or
// journal that cannot be read. The scan skips it: its URL, if it had one,
// is not done and will be fetched again.
type CorruptRecordError struct {
	Path string // the file
	Line int    // 1-based line where the record starts
	Err  error  // what is wrong with it
}

// Error names the file and the line.
func (e *CorruptRecordError) Error() string {
	return fmt.Sprintf("read %s line %d: corrupt record skipped: %v", e.Path, e.Line, e.Err)
}

// Unwrap returns the cause.
func (e *CorruptRecordError) Unwrap() error { return e.Err }

// Is reports whether target is [ErrCorruptRecord].
func (e *CorruptRecordError) Is(target error) bool { return target == ErrCorruptRecord }

// ScanResult tells what a scan of an output file or journal found.
type ScanResult struct {
	// Records is the number of complete records read, those skipped as
	// corrupt excluded.
	Records int
	// Truncated is the number of bytes removed from the end of the file:
	// a record torn by a crash. Its URL is not done.
	Truncated int64
	// Corrupt lists the first MaxReported records skipped in the middle
	// of the file; CorruptCount counts them all.
	Corrupt      []*CorruptRecordError
	CorruptCount int
}

func (r *ScanResult) addCorrupt(e *CorruptRecordError) {
	r.CorruptCount++
	if len(r.Corrupt) < MaxReported {
		r.Corrupt = append(r.Corrupt, e)
	}
}

// ScanJSONL prepares the JSON Lines output file at path for a resumed run
// and reports the URLs it already holds: done is called with the "url"
// field of every complete record, in file order (records without one are
// counted but not reported).
//
// A last line without a line break was torn by a crash, and so were the
// lines that are not JSON objects at the end of the file, after the last
// good record (a power loss can leave garbage there): ScanJSONL truncates
// the file to the end of the last good record, so that appending continues
// on a line boundary, and those URLs are fetched again. A line that is not
// a JSON object before a good record is skipped and listed in the result.
// Blank lines are ignored. The file is streamed, never loaded whole. A
// missing file holds nothing: the result is zero and the error nil.
func ScanJSONL(ctx context.Context, path string, done func(url string)) (ScanResult, error) {
	var res ScanResult
	var tail corruptRun // bad lines since the last good record
	lines, err := scanLines(ctx, path, &res, func(line int, text string, err error) {
		var url string
		if err == nil {
			url, err = jsonlURL(text)
		}
		if err != nil {
			tail.add(&CorruptRecordError{Path: path, Line: line, Err: err})
			return
		}
		tail.reportTo(&res)
		res.Records++
		if url != "" {
			done(url)
		}
	})
	if err != nil || tail.count == 0 {
		return res, err
	}
	cut, err := cutTail(ctx, path, lines-tail.first+1)
	res.Truncated += cut
	if err != nil {
		return res, fmt.Errorf("resume %s: %w", path, err)
	}
	return res, nil
}

// corruptRun collects consecutive bad records, which are corrupt if a good
// record follows them and torn if they end the file.
type corruptRun struct {
	first int // line of the first, when count > 0
	count int
	errs  []*CorruptRecordError // the first MaxReported
}

func (c *corruptRun) add(e *CorruptRecordError) {
	if c.count == 0 {
		c.first = e.Line
	}
	c.count++
	if len(c.errs) < MaxReported {
		c.errs = append(c.errs, e)
	}
}

// reportTo lists the run as corrupt in res, and empties it.
func (c *corruptRun) reportTo(res *ScanResult) {
	for _, e := range c.errs {
		res.addCorrupt(e)
	}
	res.CorruptCount += c.count - len(c.errs)
	*c = corruptRun{}
}

// scanLines cuts a torn last line off the file at path, then calls fn for
// every line that is not blank, with its 1-based number and either its
// text or the error that kept it from being read (a line too long). It
// returns the number of lines in the file. A missing file makes no calls
// and no error.
func scanLines(ctx context.Context, path string, res *ScanResult, fn func(line int, text string, err error)) (int, error) {
	cut, err := cutTail(ctx, path, 0)
	if errors.Is(err, os.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("resume %s: %w", path, err)
	}
	res.Truncated = cut
	f, err := structured.OpenFile(ctx, path, os.O_RDONLY, 0)
	if err != nil {
		return 0, fmt.Errorf("resume: %w", err)
	}
	defer closeRead(ctx, f)
	line := 0
	for text, err := range f.Lines(ctx, structured.MaxLineLength(MaxRecordLength)) {
		line++
		var tooLong *structured.LineTooLongError
		switch {
		case errors.As(err, &tooLong):
		case err != nil:
			return line, fmt.Errorf("resume: %w", err)
		case strings.TrimSpace(text) == "":
			continue
		}
		fn(line, text, err)
	}
	return line, nil
}

// errNotObject is the cause of a corrupt JSON Lines record that is valid
// JSON but not an object.
var errNotObject = errors.New("not a JSON object")

// jsonlURL returns the "url" field of a JSON Lines record.
func jsonlURL(text string) (string, error) {
	if t := strings.TrimSpace(text); !strings.HasPrefix(t, "{") {
		return "", errNotObject
	}
	var rec struct {
		URL string `json:"url"`
	}
	if err := json.Unmarshal([]byte(text), &rec); err != nil {
		return "", err
	}
	return rec.URL, nil
}

// ScanCSV is [ScanJSONL] for a CSV output file whose header names the URL
// column urlColumn. Records may span lines (quoted line breaks), so the
// file is read with encoding/csv, streamed. After a last line without a
// line break is cut, the records at the end of the file that cannot be
// parsed, or have the wrong number of fields, were torn too and are cut;
// a bad record before a good one is skipped and listed. A header alone is not a record. A file without
// the column fails with [ErrNoURLColumn].
func ScanCSV(ctx context.Context, path, urlColumn string, done func(url string)) (ScanResult, error) {
	var res ScanResult
	cut, err := cutTail(ctx, path, 0)
	if errors.Is(err, os.ErrNotExist) {
		return res, nil
	}
	if err != nil {
		return res, fmt.Errorf("resume %s: %w", path, err)
	}
	res.Truncated = cut
	f, err := structured.OpenFile(ctx, path, os.O_RDONLY, 0)
	if err != nil {
		return res, fmt.Errorf("resume: %w", err)
	}
	defer closeRead(ctx, f)
	good, err := scanCSVRecords(ctx, f, urlColumn, &res, done)
	if err != nil || good < 0 {
		return res, err
	}
	cut, err = truncateAt(ctx, path, good)
	res.Truncated += cut
	if err != nil {
		return res, fmt.Errorf("resume %s: %w", path, err)
	}
	return res, nil
}

// scanCSVRecords reads the records of f after its header. It returns the
// offset just past the last good record when bad records end the file
// (it must be cut there), or -1 when the file ends well.
func scanCSVRecords(ctx context.Context, f *structured.File, urlColumn string, res *ScanResult, done func(string)) (int64, error) {
	r := csv.NewReader(fileReader(ctx, f))
	r.ReuseRecord = true
	header, err := r.Read()
	if err == io.EOF {
		return -1, nil
	}
	if err != nil {
		return -1, fmt.Errorf("resume %s: header: %w", f.Name(), err)
	}
	col := -1
	for i, name := range header {
		if name == urlColumn {
			col = i
		}
	}
	if col < 0 {
		return -1, fmt.Errorf("resume %s: %w %q", f.Name(), ErrNoURLColumn, urlColumn)
	}
	good := r.InputOffset()
	var tail corruptRun // bad records since the last good one
	for {
		rec, err := r.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			var pe *csv.ParseError
			if !errors.As(err, &pe) {
				return -1, fmt.Errorf("resume %s: %w", f.Name(), err)
			}
			tail.add(&CorruptRecordError{Path: f.Name(), Line: pe.StartLine, Err: pe.Err})
			continue
		}
		tail.reportTo(res)
		good = r.InputOffset()
		res.Records++
		if rec[col] != "" {
			done(csvValue(rec[col]))
		}
	}
	if tail.count == 0 {
		return -1, nil
	}
	return good, nil
}
