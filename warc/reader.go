package warc

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"net/textproto"
	"os"
	"strconv"
	"strings"
)

// ErrNotWARC is returned by a [Reader] for a member that is not a WARC
// record.
var ErrNotWARC = errors.New("not a WARC record")

// maxReadRecord bounds the decompressed size of a record a [Reader]
// reads: a member that inflates to more is an error, not the reader's
// memory.
const maxReadRecord = 1 << 30

// A Reader reads the records of a gzipped WARC file, one gzip member
// each, and tells where each member starts and ends in the file.
type Reader struct {
	cr  *countingReader
	zr  *gzip.Reader
	err error
}

// countingReader counts the bytes the gzip reader takes from the file.
// gzip reads through io.ByteReader when it has one, and never takes a byte
// past the end of its member, so the count is the member's end.
type countingReader struct {
	br *bufio.Reader
	n  int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.br.Read(p)
	c.n += int64(n)
	return n, err
}

func (c *countingReader) ReadByte() (byte, error) {
	b, err := c.br.ReadByte()
	if err == nil {
		c.n++
	}
	return b, err
}

// NewReader returns a Reader of r, read from its start.
func NewReader(r io.Reader) *Reader {
	return &Reader{cr: &countingReader{br: bufio.NewReaderSize(r, 64<<10)}}
}

// Offset returns how many bytes of the file the Reader has consumed: after
// [Reader.Next], the end of the record it returned.
func (r *Reader) Offset() int64 { return r.cr.n }

// A ReadRecord is a record read back, with where it is in its file.
type ReadRecord struct {
	Record
	Offset int64 // of its gzip member
	Length int64 // of its gzip member
}

// Next returns the next record, or io.EOF after the last. Any other error
// means the file ends in a record that is not whole (a gzip member cut
// short, a record without its end) or is not WARC: the records before it
// are good, and [Reader.Offset] is not meaningful.
func (r *Reader) Next() (*ReadRecord, error) {
	if r.err != nil {
		return nil, r.err
	}
	start := r.cr.n
	if _, err := r.cr.br.Peek(1); errors.Is(err, io.EOF) {
		r.err = io.EOF
		return nil, io.EOF
	}
	var err error
	if r.zr == nil {
		r.zr, err = gzip.NewReader(r.cr)
	} else {
		err = r.zr.Reset(r.cr)
	}
	if err != nil {
		r.err = fmt.Errorf("record at offset %d: %w", start, err)
		return nil, r.err
	}
	r.zr.Multistream(false)
	raw, err := io.ReadAll(io.LimitReader(r.zr, maxReadRecord+1))
	if err == nil && len(raw) > maxReadRecord {
		err = fmt.Errorf("larger than %d bytes", maxReadRecord)
	}
	if err != nil {
		r.err = fmt.Errorf("record at offset %d: %w", start, err)
		return nil, r.err
	}
	rec, err := parseRecord(raw)
	if err != nil {
		r.err = fmt.Errorf("record at offset %d: %w", start, err)
		return nil, r.err
	}
	return &ReadRecord{Record: *rec, Offset: start, Length: r.cr.n - start}, nil
}

// parseRecord reads one whole record: version line, fields, block of
// Content-Length bytes, and the two CRLF that end it.
func parseRecord(raw []byte) (*Record, error) {
	src := bytes.NewReader(raw)
	br := bufio.NewReader(src)
	tp := textproto.NewReader(br)
	line, err := tp.ReadLine()
	if err != nil || !strings.HasPrefix(line, "WARC/") {
		return nil, ErrNotWARC
	}
	var h Header
	for {
		l, err := tp.ReadLine()
		if err != nil {
			return nil, fmt.Errorf("%w: header not ended", ErrNotWARC)
		}
		if l == "" {
			break
		}
		name, value, ok := strings.Cut(l, ":")
		if !ok {
			return nil, fmt.Errorf("%w: field %q", ErrNotWARC, l)
		}
		h = append(h, Field{name, strings.TrimSpace(value)})
	}
	var cl int
	var blockStart int
	n, err := strconv.Atoi(h.Get("Content-Length"))
	if err != nil || n < 0 {
		return nil, fmt.Errorf("%w: Content-Length %q", ErrNotWARC, h.Get("Content-Length"))
	}
	cl = n
	blockStart = len(raw) - src.Len() - br.Buffered()
	if len(raw) < blockStart+cl+4 || string(raw[blockStart+cl:blockStart+cl+4]) != "\r\n\r\n" {
		return nil, fmt.Errorf("%w: block of %d bytes not followed by CRLF CRLF", ErrNotWARC, cl)
	}
	// Content-Length is written by the writer and not kept in Header.
	kept := h[:0]
	for _, f := range h {
		if !strings.EqualFold(f.Name, "Content-Length") {
			kept = append(kept, f)
		}
	}
	return &Record{Header: kept, Block: raw[blockStart : blockStart+cl]}, nil
}

// Verify checks the record's WARC-Block-Digest and, for a response
// record whose block is an HTTP response, its WARC-Payload-Digest
// against the payload [HTTPPayload] finds. A digest that is absent is not
// checked.
func (r *Record) Verify() error {
	if d := r.Header.Get("WARC-Block-Digest"); d != "" {
		if err := checkDigestValue(d, r.Block); err != nil {
			return fmt.Errorf("%s record %s: WARC-Block-Digest: %w", r.Type(), r.ID(), err)
		}
	}
	if d := r.Header.Get("WARC-Payload-Digest"); d != "" && r.Type() == TypeResponse {
		if err := checkDigestValue(d, HTTPPayload(r.Block)); err != nil {
			return fmt.Errorf("%s record %s: WARC-Payload-Digest: %w", r.Type(), r.ID(), err)
		}
	}
	return nil
}

// ReadAt reads the record whose gzip member starts at offset in the file
// at path.
func ReadAt(path string, offset int64) (*ReadRecord, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if _, err := f.Seek(offset, io.SeekStart); err != nil {
		return nil, err
	}
	r, err := NewReader(f).Next()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	r.Offset += offset
	return r, nil
}
