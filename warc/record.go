// Package warc writes and reads WARC/1.1 files (ISO 28500:2017) the way
// replay tools expect them: every record is one gzip member of its own,
// so that an index can seek to any record by its offset, and a file cut
// short by a crash can be trimmed back to its last whole record.
//
// A [Writer] owns the files of one run: it names them, writes a warcinfo
// record first, rotates past a size, keeps an in-progress file under an
// ".open" name until it is closed, and writes a sorted CDXJ index next to
// each file when asked to. [Recover] closes the ".open" files a crashed
// run left. A [Reader] reads the records of a file back, with their
// offsets, and [Record.Verify] checks their digests.
//
// The package formats and parses records; what goes into them (the bytes
// of an HTTP exchange as they were on the wire) is the caller's.
package warc

import (
	"bytes"
	"crypto/rand"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Version is the version line every record starts with.
const Version = "WARC/1.1"

// Record types written by trawl.
const (
	TypeWarcinfo = "warcinfo"
	TypeRequest  = "request"
	TypeResponse = "response"
	TypeMetadata = "metadata"
	TypeRevisit  = "revisit"
)

// ProfileServerNotModified is the WARC-Profile of a revisit record for a
// 304 response (WARC 1.1 §6.7.3).
const ProfileServerNotModified = "http://netpreserve.org/warc/1.1/revisit/server-not-modified"

// Content types of HTTP record blocks.
const (
	ContentTypeHTTPRequest  = "application/http;msgtype=request"
	ContentTypeHTTPResponse = "application/http;msgtype=response"
)

// A Field is one named header of a record.
type Field struct {
	Name, Value string
}

// Header is a record's named fields in the order they are written. Only
// fields the caller sets are written, besides the three the writer
// always adds: WARC-Type first, Content-Length and WARC-Block-Digest.
type Header []Field

// Get returns the value of the first field named name (case-insensitive),
// or "".
func (h Header) Get(name string) string {
	for _, f := range h {
		if strings.EqualFold(f.Name, name) {
			return f.Value
		}
	}
	return ""
}

// Add appends a field; an empty value is left out.
func (h *Header) Add(name, value string) {
	if value != "" {
		*h = append(*h, Field{name, value})
	}
}

// A Record is one WARC record: its header fields and its block.
type Record struct {
	Header Header
	Block  []byte

	head *HTTPResponseHead // the block's HTTP head, when [Record.HTTPPayload] parsed it
	date time.Time         // the time of WARC-Date, when [Record.AddDate] added it
}

// AddDate adds the WARC-Date field for t, as [FormatDate] writes it, and
// keeps t for the record's CDXJ line, which would otherwise parse the
// field back.
func (r *Record) AddDate(t time.Time) {
	r.Header.Add("WARC-Date", FormatDate(t))
	r.date = t
}

// Type returns the record's WARC-Type.
func (r *Record) Type() string { return r.Header.Get("WARC-Type") }

// ID returns the record's WARC-Record-ID.
func (r *Record) ID() string { return r.Header.Get("WARC-Record-ID") }

// NewRecordID returns a new "<urn:uuid:...>" record ID, a random (version
// 4) UUID.
func NewRecordID() string {
	var b [16]byte
	idRandom.read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	out := make([]byte, 0, len("<urn:uuid:>")+36)
	out = append(out, "<urn:uuid:"...)
	for i, c := range b {
		if i == 4 || i == 6 || i == 8 || i == 10 {
			out = append(out, '-')
		}
		out = append(out, hexDigits[c>>4], hexDigits[c&0x0f])
	}
	return string(append(out, '>'))
}

const hexDigits = "0123456789abcdef"

// idRandom is crypto/rand read 4 KiB at a time: three record IDs a page
// would otherwise be three reads of 16 bytes.
var idRandom randomBuffer

type randomBuffer struct {
	mu  sync.Mutex
	buf [4096]byte
	n   int // bytes of buf not handed out yet, at its end
}

func (r *randomBuffer) read(p []byte) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.n < len(p) {
		_, _ = rand.Read(r.buf[:]) // never fails (crypto/rand)
		r.n = len(r.buf)
	}
	copy(p, r.buf[len(r.buf)-r.n:])
	clear(r.buf[len(r.buf)-r.n : len(r.buf)-r.n+len(p)]) // handed out once
	r.n -= len(p)
}

// FormatDate writes t as a WARC-Date: UTC, RFC 3339, with the fraction of
// a second when it has one (WARC 1.1 allows any precision).
func FormatDate(t time.Time) string {
	t = t.UTC()
	if t.Nanosecond() == 0 {
		return t.Format("2006-01-02T15:04:05Z")
	}
	return t.Format("2006-01-02T15:04:05.000000Z")
}

// ParseDate reads a WARC-Date.
func ParseDate(s string) (time.Time, error) {
	return time.Parse(time.RFC3339Nano, s)
}

// recordEnd ends every record, after its block.
var recordEnd = []byte("\r\n\r\n")

// appendHead appends the head of r (version line, fields,
// Content-Length and a blank line) to b: the block and recordEnd follow
// it. The block digest must already be among the fields.
func appendHead(b *bytes.Buffer, r *Record) {
	b.WriteString(Version)
	b.WriteString("\r\n")
	for _, f := range r.Header {
		b.WriteString(f.Name)
		b.WriteString(": ")
		b.WriteString(f.Value)
		b.WriteString("\r\n")
	}
	b.WriteString("Content-Length: ")
	b.WriteString(strconv.Itoa(len(r.Block)))
	b.WriteString("\r\n\r\n")
}
