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

// readRecords calls fn for each record of r, named name in errors. A line
// that is not a JSON object with a url fails with [ErrBadRecord] naming
// the line; blank lines are skipped.
func readRecords(ctx context.Context, name string, r io.Reader, fn func(*record) error) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 256<<10), maxLine)
	var rec record
	for n := 1; sc.Scan(); n++ {
		if n%4096 == 0 && ctx.Err() != nil {
			return ctx.Err()
		}
		line := sc.Bytes()
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		links, redirects := rec.Links.reset(), rec.Redirects[:0]
		rec = record{Links: links, Redirects: redirects}
		if err := json.Unmarshal(line, &rec); err != nil || line[0] != '{' {
			return fmt.Errorf("%s line %d: %w: %v", name, n, ErrBadRecord, errOr(err, "not a JSON object"))
		}
		if rec.URL == "" {
			return fmt.Errorf("%s line %d: %w: no url", name, n, ErrBadRecord)
		}
		if err := fn(&rec); err != nil {
			return err
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("read %s: %w", name, err)
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
