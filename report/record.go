package report

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"

	"github.com/trawl-dev/trawl/structured"
)

// record is the part of a trawl record that the report reads.
type record struct {
	URL            string      `json:"url"`
	FinalURL       string      `json:"final_url"`
	Input          string      `json:"input"`
	Referrer       string      `json:"referrer"`
	Status         int         `json:"status"`
	ContentType    string      `json:"content_type"`
	Title          string      `json:"title"`
	Description    string      `json:"description"`
	Canonical      string      `json:"canonical"`
	H1             string      `json:"h1"`
	H1Count        int         `json:"h1_count"`
	Links          linkList    `json:"links"`
	LinksTruncated bool        `json:"links_truncated"`
	Bytes          int64       `json:"bytes"`
	ElapsedMS      int64       `json:"elapsed_ms"`
	FetchedAt      string      `json:"fetched_at"`
	Depth          int         `json:"depth"`
	Redirects      []string    `json:"redirects"`
	ContentHash    string      `json:"content_hash"`
	RobotsMeta     *robotsMeta `json:"robots_meta"`
	Error          *struct {
		Kind string `json:"kind"`
	} `json:"error"`
	Line int `json:"line"`
}

// robotsMeta is a record's robots_meta.
type robotsMeta struct {
	Meta   []string `json:"meta"`
	Header []string `json:"header"`
}

// errorKind returns the kind of r's error, "" when it has none.
func (r *record) errorKind() string {
	if r.Error == nil {
		return ""
	}
	return r.Error.Kind
}

// failed reports whether r ended in an error status or with no answer.
func (r *record) failed() bool {
	return r.Status >= 400 || (r.Error != nil && r.Error.Kind != "http")
}

// isHTMLPage reports whether r is a successful HTML page, which the
// content checks look at.
func (r *record) isHTMLPage() bool {
	return r.Status >= 200 && r.Status < 300 && r.Error == nil && strings.Contains(r.ContentType, "html")
}

// self returns the URL r's content came from.
func (r *record) self() string {
	if r.FinalURL != "" {
		return r.FinalURL
	}
	return r.URL
}

// redirected reports whether r was redirected to another URL.
func (r *record) redirected() bool {
	return len(r.Redirects) > 0 && r.FinalURL != "" && r.FinalURL != r.URL
}

// robotsDirectives returns r's robots directives, meta tag then header.
func (r *record) robotsDirectives() []string {
	if r.RobotsMeta == nil {
		return nil
	}
	return append(slices.Clip(r.RobotsMeta.Meta), r.RobotsMeta.Header...)
}

// noindex reports whether r asks not to be indexed by every crawler.
func (r *record) noindex() bool {
	for _, d := range r.robotsDirectives() {
		if d == "noindex" || d == "none" {
			return true
		}
	}
	return false
}

// ErrBadRecord is the cause of a line that is not a trawl record.
var ErrBadRecord = errors.New("not a trawl record")

// maxLine bounds a record's line; trawl writes none longer.
const maxLine = 64 << 20

// readRecords calls fn for each record of r, named name in errors, in
// order. A line that is not a JSON object with a url fails with
// [ErrBadRecord] naming the line; blank lines are skipped; but a last
// line without its newline that is not even whole JSON (a crawl still
// being written, or killed mid-record) is left out and given to torn. The
// records passed to fn are valid until fn returns.
//
// Decoding and fn run in two tasks, so that a report uses two cores: a
// decoder fills batches of records and hands them over a stream; fn's
// task gives each batch back once done with it, so that a few batches
// are reused for the whole input.
func readRecords(ctx context.Context, name string, r io.Reader, fn func(*record) error, torn func(line int)) error {
	const batches = 4
	err := structured.WithTaskGroup(ctx, func(ctx context.Context, tg *structured.TaskGroup) error {
		full, fullRx := structured.NewMemoryStream[*batch](batches)
		free, freeRx := structured.NewMemoryStream[*batch](batches)
		for range batches {
			if err := free.TrySend(&batch{}); err != nil {
				return err
			}
		}
		tg.StartSoon(func(ctx context.Context) error {
			defer full.Close()
			return decodeRecords(ctx, name, r, freeRx, full, torn)
		})
		for b := range fullRx.All(ctx) {
			for i := range b.n {
				if err := fn(&b.recs[i]); err != nil {
					return err
				}
			}
			if err := free.Send(ctx, b); err != nil {
				return err
			}
		}
		return fullRx.Err()
	})
	var group *structured.GroupError
	if errors.As(err, &group) && len(group.Errors) == 1 {
		return group.Errors[0] // the decoder's error, as it said it
	}
	return err
}

// batch is a run of decoded records.
type batch struct {
	recs [256]record
	n    int
}

// decodeRecords decodes the lines of r into batches taken from free and
// sends each full one on out.
func decodeRecords(ctx context.Context, name string, r io.Reader, free *structured.ReceiveStream[*batch], out *structured.SendStream[*batch], torn func(line int)) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 256<<10), maxLine)
	unterminated := false // the line just scanned is the last, without its newline
	sc.Split(func(data []byte, atEOF bool) (int, []byte, error) {
		adv, tok, err := bufio.ScanLines(data, atEOF)
		unterminated = atEOF && tok != nil && adv == len(data) && bytes.IndexByte(data, '\n') < 0
		return adv, tok, err
	})
	b, err := free.Receive(ctx)
	if err != nil {
		return err
	}
	b.n = 0
	for n := 1; sc.Scan(); n++ {
		line := sc.Bytes()
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		if err := decodeRecord(name, n, line, &b.recs[b.n]); err != nil {
			if unterminated && torn != nil && !jsontext.Value(line).IsValid() {
				torn(n)
				break
			}
			return err
		}
		if b.n++; b.n == len(b.recs) {
			if err := out.Send(ctx, b); err != nil {
				return err
			}
			if b, err = free.Receive(ctx); err != nil {
				return err
			}
			b.n = 0
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("read %s: %w", name, err)
	}
	if b.n > 0 {
		return out.Send(ctx, b)
	}
	return nil
}

// decodeRecord decodes line n of name into rec, reusing rec's buffers.
func decodeRecord(name string, n int, line []byte, rec *record) error {
	*rec = record{Links: rec.Links.reset(), Redirects: rec.Redirects[:0]}
	if err := json.Unmarshal(line, rec); err != nil || line[0] != '{' {
		return fmt.Errorf("%s line %d: %w: %v", name, n, ErrBadRecord, errOr(err, "not a JSON object"))
	}
	if rec.URL == "" {
		return fmt.Errorf("%s line %d: %w: no url", name, n, ErrBadRecord)
	}
	return nil
}

func errOr(err error, s string) any {
	if err != nil {
		return err
	}
	return s
}

// linkList is a record's links, decoded without a string per link: the
// links end to end in one buffer that is reused from record to record.
// Links are only hashed and compared, never kept.
type linkList struct {
	buf  []byte
	ends []int
}

// reset empties l, keeping its buffers.
func (l linkList) reset() linkList { return linkList{buf: l.buf[:0], ends: l.ends[:0]} }

// Len returns the number of links.
func (l *linkList) Len() int { return len(l.ends) }

// At returns link i; the bytes are valid until the next record.
func (l *linkList) At(i int) []byte {
	start := 0
	if i > 0 {
		start = l.ends[i-1]
	}
	return l.buf[start:l.ends[i]]
}

// UnmarshalJSONFrom reads an array of strings (or null).
func (l *linkList) UnmarshalJSONFrom(dec *jsontext.Decoder) error {
	switch dec.PeekKind() {
	case 'n':
		_, err := dec.ReadToken()
		return err
	case '[':
	default:
		return fmt.Errorf("links: want an array of strings, got %v", dec.PeekKind())
	}
	if _, err := dec.ReadToken(); err != nil {
		return err
	}
	for dec.PeekKind() == '"' {
		v, err := dec.ReadValue()
		if err != nil {
			return err
		}
		if l.buf, err = jsontext.AppendUnquote(l.buf, v); err != nil {
			return err
		}
		l.ends = append(l.ends, len(l.buf))
	}
	_, err := dec.ReadToken() // ']', or the error of an element that is not a string
	return err
}
