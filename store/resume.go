package store

import (
	"bufio"
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"

	"github.com/trawl-dev/trawl/structured"
)

// ErrCorruptRecord is matched by every [*CorruptRecordError].
var ErrCorruptRecord = errors.New("store: not a record of this format")

// ErrNoURLColumn is returned by [ScanCSV] when the file's header has no
// column of the given name.
var ErrNoURLColumn = errors.New("store: csv header has no url column")

// CorruptRecordError is returned by a resume scan for a complete line (or
// CSV record) of an output file or journal that cannot be read as one of
// its records: the file is not what the run would write (a CSV resumed as
// JSON Lines, the list of URLs given as -o), or was changed by hand. The
// scan then leaves the file as it is.
type CorruptRecordError struct {
	Path string // the file
	Line int    // 1-based line where the record starts
	Err  error  // what is wrong with it
}

// Error names the file and the line.
func (e *CorruptRecordError) Error() string {
	return fmt.Sprintf("%s line %d: not a record: %v", e.Path, e.Line, e.Err)
}

// Unwrap returns the cause.
func (e *CorruptRecordError) Unwrap() error { return e.Err }

// Is reports whether target is [ErrCorruptRecord].
func (e *CorruptRecordError) Is(target error) bool { return target == ErrCorruptRecord }

// ScanResult tells what a scan of an output file or journal found.
type ScanResult struct {
	// Records is the number of complete records read.
	Records int
	// Truncated is the number of bytes removed from the end of the file:
	// a record torn by a crash. Its URL is not done.
	Truncated int64
}

// ScanJSONL prepares the JSON Lines output file at path for a resumed run
// and reports the URLs it already holds: done is called with the "url"
// field of every complete record, in file order (records without one are
// counted but not reported).
//
// A last line without a line break that starts like a record ("{") and
// is JSON cut short was torn by a crash: ScanJSONL cuts it off,
// so that appending continues on a line boundary, and its URL is fetched
// again. A last line without a line break that is a whole JSON object is
// read as a record, and the line break is added: it is a record whose
// line break was lost, or a file of JSON written without one, such as
// minified JSON, which must not be cut away. Those are the only changes
// it ever makes. Any other line that is not a JSON object, or is longer
// than [MaxRecordBytes], fails the scan with a [*CorruptRecordError]
// naming the file and the line, and the file is left byte for byte as it
// was: it is not what trawl writes. Blank lines are ignored. The file is
// streamed, never loaded whole. A missing file holds nothing: the result
// is zero and the error nil.
func ScanJSONL(ctx context.Context, path string, done func(url string)) (ScanResult, error) {
	return ScanJSONLFinal(ctx, path, func(url, _ string) { done(url) })
}

// ScanJSONLFinal is [ScanJSONL] that also gives each record's
// "final_url" field (empty when the record has none): the page a
// redirect reached, which a resumed crawl with --report-removed counts
// as reached too.
func ScanJSONLFinal(ctx context.Context, path string, done func(url, finalURL string)) (ScanResult, error) {
	var res ScanResult
	torn := func(l scannedLine) bool { return l.first == '{' && !l.tooLong && isJSONPrefix(l.text) }
	err := scanLines(ctx, path, &res, torn, func(l scannedLine) error {
		if l.tooLong {
			return &CorruptRecordError{Path: path, Line: l.num, Err: errRecordTooLong}
		}
		url, final, err := jsonlURLs(l.text)
		if err != nil {
			return &CorruptRecordError{Path: path, Line: l.num, Err: err}
		}
		res.Records++
		if url != "" {
			done(url, final)
		}
		return nil
	})
	return res, err
}

// isJSONPrefix reports whether text is the start of a JSON value cut
// short, as a record torn by a crash is: no longer than a record, it
// reads well up to its end, where more was due. A whole value is not,
// nor is text with a syntax error (a file that is not JSON Lines).
func isJSONPrefix(text string) bool {
	var v json.RawMessage
	return errors.Is(json.NewDecoder(strings.NewReader(text)).Decode(&v), io.ErrUnexpectedEOF)
}

// errRecordTooLong is the cause of a line longer than any record.
var errRecordTooLong = fmt.Errorf("longer than the largest record (%d bytes)", MaxRecordBytes)

// scannedLine is one line of a file scanned by scanLines.
type scannedLine struct {
	num     int    // 1-based line number
	start   int64  // offset of its first byte
	text    string // without the line break; empty when tooLong
	tooLong bool   // longer than MaxRecordBytes
	first   byte   // its first byte that is not white space
	blank   bool   // white space only
	ended   bool   // a line break ends it: false for a torn last line
}

// scanLines reads the file at path, streamed and without changing it,
// and calls fn for every line that is not blank. An error from fn stops
// the scan and is returned; the file is then left as it was. A last line
// without a line break is not given to fn if it is blank or isTorn says
// it is a record torn by a crash: once every other line was read well,
// it is cut off the file and res.Truncated counts its bytes. A last line
// without a line break that fn accepts gets its line break added, so
// that appending continues on a line boundary. A missing file makes no
// calls and no error.
func scanLines(ctx context.Context, path string, res *ScanResult, isTorn func(scannedLine) bool, fn func(scannedLine) error) error {
	f, err := structured.OpenFile(ctx, path, os.O_RDONLY, 0)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("resume: %w", err)
	}
	defer closeRead(ctx, f)
	br := bufio.NewReaderSize(fileReader(ctx, f), 64<<10)
	var off int64
	for num := 1; ; num++ {
		l, n, err := readScannedLine(br, num, off)
		if err != nil {
			return fmt.Errorf("resume: read %s: %w", path, err)
		}
		if n == 0 {
			return nil // end of file
		}
		off += n
		switch {
		case !l.ended && (l.blank || isTorn(l)):
			cut, err := truncateAt(ctx, path, l.start)
			res.Truncated = cut
			if err != nil {
				return fmt.Errorf("resume %s: %w", path, err)
			}
			return nil
		case l.blank:
			continue
		}
		if err := fn(l); err != nil {
			return err
		}
		if !l.ended {
			if err := appendLineBreak(ctx, path); err != nil {
				return fmt.Errorf("resume %s: %w", path, err)
			}
			return nil
		}
	}
}

// maxLine is the longest line that can hold a record: MaxRecordBytes and
// a CRLF line break.
const maxLine = MaxRecordBytes + 2

// readScannedLine reads the line at offset off from br. It returns the
// line and its length in bytes, 0 at the end of the file. A line longer
// than a record is read to its end but not kept.
func readScannedLine(br *bufio.Reader, num int, off int64) (scannedLine, int64, error) {
	l := scannedLine{num: num, start: off, blank: true}
	var buf []byte
	var n int64
	for {
		chunk, err := br.ReadSlice('\n')
		n += int64(len(chunk))
		if l.blank {
			if t := bytes.TrimLeft(chunk, " \t\r\n"); len(t) > 0 {
				l.first, l.blank = t[0], false
			}
		}
		if !l.tooLong {
			if len(buf)+len(chunk) > maxLine {
				l.tooLong, buf = true, nil
			} else {
				buf = append(buf, chunk...)
			}
		}
		switch {
		case errors.Is(err, bufio.ErrBufferFull):
			continue
		case err == io.EOF:
		case err != nil:
			return l, n, err
		default:
			l.ended = true
		}
		break
	}
	if !l.tooLong {
		buf = bytes.TrimSuffix(bytes.TrimSuffix(buf, []byte("\n")), []byte("\r"))
		l.tooLong = len(buf) > MaxRecordBytes
	}
	if !l.tooLong {
		l.text = string(buf)
	}
	return l, n, nil
}

// errNotObject is the cause of a corrupt JSON Lines record that is valid
// JSON but not an object.
var errNotObject = errors.New("not a JSON object")

// jsonlURLs returns the "url" and "final_url" fields of a JSON Lines
// record.
func jsonlURLs(text string) (url, finalURL string, err error) {
	if t := strings.TrimSpace(text); !strings.HasPrefix(t, "{") {
		return "", "", errNotObject
	}
	var rec struct {
		URL      string `json:"url"`
		FinalURL string `json:"final_url"`
	}
	if err := json.Unmarshal([]byte(text), &rec); err != nil {
		return "", "", err
	}
	return rec.URL, rec.FinalURL, nil
}

// ScanCSV is [ScanJSONL] for a CSV output file whose header names the URL
// column urlColumn. Records may span lines (quoted line breaks), so the
// file is read with encoding/csv, streamed. The last record was torn by a
// crash when the file does not end with a line break, or when it ends
// inside a quoted field: it is cut off, the only change ScanCSV ever
// makes. Any other record that cannot be parsed, or has another number of
// fields than the header, fails the scan with a [*CorruptRecordError]
// naming the file and the line, and the file is left as it was. A header
// alone is not a record.
//
// When header is not nil, the file's header must be header, or the scan
// fails with [ErrHeaderMismatch] before anything is cut; a file that
// holds only the start of header, without a line break, is a header torn
// by a crash, and is emptied. When header is nil, a file that holds only
// a header without a line break is emptied. A file without the URL
// column fails with [ErrNoURLColumn].
func ScanCSV(ctx context.Context, path string, header []string, urlColumn string, done func(url string)) (ScanResult, error) {
	var res ScanResult
	f, err := structured.OpenFile(ctx, path, os.O_RDONLY, 0)
	if errors.Is(err, os.ErrNotExist) {
		return res, nil
	}
	if err != nil {
		return res, fmt.Errorf("resume: %w", err)
	}
	defer closeRead(ctx, f)
	size, endsWithLineBreak, err := fileEnd(ctx, path)
	if err != nil {
		return res, fmt.Errorf("resume %s: %w", path, err)
	}
	s := csvScan{f: f, header: header, urlColumn: urlColumn, size: size, endsWithLineBreak: endsWithLineBreak}
	torn, err := s.records(ctx, &res, done)
	if err != nil || torn == -1 {
		return res, err
	}
	var cut int64
	if torn == blankTail {
		cut, err = cutTail(ctx, path, 0)
	} else {
		cut, err = truncateAt(ctx, path, torn)
	}
	res.Truncated = cut
	if err != nil {
		return res, fmt.Errorf("resume %s: %w", path, err)
	}
	return res, nil
}

// fileEnd returns the size of the file at path and whether it ends with a
// line break.
func fileEnd(ctx context.Context, path string) (int64, bool, error) {
	type end struct {
		size      int64
		lineBreak bool
	}
	e, err := structured.RunSync(ctx, func(context.Context) (end, error) {
		f, err := os.Open(path)
		if err != nil {
			return end{}, err
		}
		defer f.Close()
		st, err := f.Stat()
		if err != nil || st.Size() == 0 {
			return end{}, err
		}
		b := make([]byte, 1)
		if _, err := f.ReadAt(b, st.Size()-1); err != nil {
			return end{}, err
		}
		return end{st.Size(), b[0] == '\n'}, nil
	})
	return e.size, e.lineBreak, err
}

// csvScan is one scan of a CSV output file.
type csvScan struct {
	f                 *structured.File
	header            []string // expected, or nil
	urlColumn         string
	size              int64
	endsWithLineBreak bool
}

// blankTail is what csvScan.records returns for a file of blank lines
// whose last has no line break: that line is cut.
const blankTail = -2

// records reads the records of the file after its header, reporting the
// good ones. It returns the offset of a torn last record, which must be
// cut there, blankTail, or -1 when the file ends well.
func (s *csvScan) records(ctx context.Context, res *ScanResult, done func(string)) (int64, error) {
	name := s.f.Name()
	r := csv.NewReader(fileReader(ctx, s.f))
	r.ReuseRecord = true
	header, err := r.Read()
	if err == io.EOF {
		if s.size > 0 && !s.endsWithLineBreak {
			return blankTail, nil // blank lines, the last without a line break
		}
		return -1, nil
	}
	if err != nil {
		var pe *csv.ParseError
		if errors.As(err, &pe) {
			return -1, &CorruptRecordError{Path: name, Line: pe.StartLine, Err: fmt.Errorf("csv header: %w", pe.Err)}
		}
		return -1, fmt.Errorf("resume %s: header: %w", name, err)
	}
	tornHeader := r.InputOffset() == s.size && !s.endsWithLineBreak
	switch {
	case s.header != nil && tornHeader && isTornHeader(header, s.header):
		return 0, nil
	case s.header != nil && !slices.Equal(header, s.header):
		return -1, fmt.Errorf("resume %s: %w: file has %q", name, ErrHeaderMismatch, header)
	}
	col := slices.Index(header, s.urlColumn)
	if col < 0 {
		return -1, fmt.Errorf("resume %s: %w %q", name, ErrNoURLColumn, s.urlColumn)
	}
	if tornHeader {
		return 0, nil
	}
	for {
		start := r.InputOffset()
		rec, err := r.Read()
		if err == io.EOF {
			return -1, nil
		}
		// The last record is torn when the file does not end with a line
		// break, or ends inside a quoted field.
		atEnd := r.InputOffset() == s.size
		if err != nil {
			var pe *csv.ParseError
			if !errors.As(err, &pe) {
				return -1, fmt.Errorf("resume %s: %w", name, err)
			}
			if atEnd && (!s.endsWithLineBreak || errors.Is(pe.Err, csv.ErrQuote)) {
				return start, nil
			}
			return -1, &CorruptRecordError{Path: name, Line: pe.StartLine, Err: pe.Err}
		}
		if atEnd && !s.endsWithLineBreak {
			return start, nil
		}
		res.Records++
		if rec[col] != "" {
			done(csvValue(rec[col]))
		}
	}
}

// isTornHeader reports whether got, read from a file that ends without a
// line break, is the start of want.
func isTornHeader(got, want []string) bool {
	if len(got) == 0 || len(got) > len(want) {
		return false
	}
	last := len(got) - 1
	return slices.Equal(got[:last], want[:last]) && strings.HasPrefix(want[last], got[last])
}
