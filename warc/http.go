package warc

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"net/http"
	"net/http/httputil"
	"net/textproto"
	"strconv"
	"strings"
	"sync"
)

// ErrNoHTTPHeader is returned for a block that has no complete HTTP
// header (no blank line after the status line and fields).
var ErrNoHTTPHeader = errors.New("no complete HTTP header")

// SplitHTTP splits an HTTP message as it was on the wire into its header
// (status or request line and fields, up to and including the blank line)
// and the rest.
func SplitHTTP(msg []byte) (head, rest []byte, err error) {
	if i := bytes.Index(msg, []byte("\r\n\r\n")); i >= 0 {
		return msg[:i+4], msg[i+4:], nil
	}
	if i := bytes.Index(msg, []byte("\n\n")); i >= 0 {
		return msg[:i+2], msg[i+2:], nil
	}
	return msg, nil, ErrNoHTTPHeader
}

// HTTPResponseHead is what [ParseHTTPResponse] reads from a response's
// header.
type HTTPResponseHead struct {
	Status int
	Header http.Header
}

// ParseHTTPResponse reads the status and the fields of an HTTP response
// header as returned by [SplitHTTP].
func ParseHTTPResponse(head []byte) (HTTPResponseHead, error) {
	hr := headReaders.Get().(*headReader)
	defer hr.put()
	hr.r.Reset(head)
	hr.br.Reset(&hr.r)
	tp := textproto.NewReader(&hr.br)
	line, err := tp.ReadLine()
	if err != nil {
		return HTTPResponseHead{}, ErrNoHTTPHeader
	}
	_, rest, _ := strings.Cut(line, " ")
	code, _, _ := strings.Cut(rest, " ")
	status, err := strconv.Atoi(code)
	if err != nil || !strings.HasPrefix(line, "HTTP/") {
		return HTTPResponseHead{}, errors.New("not an HTTP status line: " + strconv.Quote(line))
	}
	h, err := tp.ReadMIMEHeader()
	if err != nil && !errors.Is(err, io.EOF) {
		return HTTPResponseHead{}, err
	}
	return HTTPResponseHead{Status: status, Header: http.Header(h)}, nil
}

// headReader is the reader stack ParseHTTPResponse reads a head with,
// kept in headReaders: a bufio.Reader of its own would cost 4 KiB for
// every record.
type headReader struct {
	r  bytes.Reader
	br bufio.Reader
}

var headReaders = sync.Pool{New: func() any {
	hr := &headReader{}
	hr.br = *bufio.NewReaderSize(nil, 1024)
	return hr
}}

func (hr *headReader) put() {
	hr.r.Reset(nil)
	hr.br.Reset(nil)
	headReaders.Put(hr)
}

// HTTPPayload returns the payload of an HTTP response as it was on the
// wire: its entity body with the transfer encoding (chunked) removed and
// any content encoding (gzip, br) kept, as WARC-Payload-Digest is
// computed over. A body cut short comes back as far as it goes; a body
// longer than its Content-Length is cut to it. A response without a
// complete header has no payload.
func HTTPPayload(msg []byte) []byte {
	p, _ := httpPayload(msg)
	return p
}

// httpPayload is [HTTPPayload], with the head it parsed (nil when it
// could not).
func httpPayload(msg []byte) ([]byte, *HTTPResponseHead) {
	head, body, err := SplitHTTP(msg)
	if err != nil {
		return nil, nil
	}
	h, err := ParseHTTPResponse(head)
	if err != nil {
		return body, nil
	}
	if te := h.Header.Values("Transfer-Encoding"); len(te) > 0 && isChunked(te) {
		out, _ := io.ReadAll(httputil.NewChunkedReader(bytes.NewReader(body)))
		return out, &h
	}
	if n, err := strconv.ParseInt(h.Header.Get("Content-Length"), 10, 64); err == nil && n >= 0 && int64(len(body)) > n {
		return body[:n], &h
	}
	return body, &h
}

// HTTPPayload returns the payload of the record's block, an HTTP
// response, as [HTTPPayload] does, and keeps the head it parsed for
// [Writer.Compress], which would otherwise parse it again. The block is
// not to change after.
func (r *Record) HTTPPayload() []byte {
	p, h := httpPayload(r.Block)
	r.head = h
	return p
}

// PayloadDigest returns the digest ("algo:BASE32", algo [SHA1] or
// [SHA256]) of the payload [Record.HTTPPayload] returns, and keeps the
// head it parsed as that does. A chunked body is hashed as it is
// de-chunked, through a buffer that is reused, rather than copied out
// whole first: the copy grew a new slice for every chunked response.
func (r *Record) PayloadDigest(algo string) string {
	h := newHash(algo)
	head, body, err := SplitHTTP(r.Block)
	r.head = nil
	if err == nil {
		parsed, err := ParseHTTPResponse(head)
		if err != nil {
			h.Write(body)
		} else {
			r.head = &parsed
			if te := parsed.Header.Values("Transfer-Encoding"); len(te) > 0 && isChunked(te) {
				hashChunked(h, body)
			} else {
				if n, err := strconv.ParseInt(parsed.Header.Get("Content-Length"), 10, 64); err == nil && n >= 0 && int64(len(body)) > n {
					body = body[:n]
				}
				h.Write(body)
			}
		}
	}
	return sum(algo, h)
}

// hashChunked writes the chunked body to h without its chunked framing,
// as far as it can be read, as [HTTPPayload] returns it.
func hashChunked(h io.Writer, body []byte) {
	c := chunkReaders.Get().(*chunkReader)
	defer c.put()
	c.r.Reset(body)
	c.br.Reset(&c.r)
	// The wrappers hide ReaderFrom and WriterTo, so that the copy goes
	// through buf.
	io.CopyBuffer(struct{ io.Writer }{h}, struct{ io.Reader }{httputil.NewChunkedReader(&c.br)}, c.buf[:])
}

// chunkReader is what hashChunked reads a chunked body with, kept in
// chunkReaders.
type chunkReader struct {
	r   bytes.Reader
	br  bufio.Reader
	buf [16 << 10]byte
}

var chunkReaders = sync.Pool{New: func() any {
	c := &chunkReader{}
	c.br = *bufio.NewReaderSize(nil, 4096)
	return c
}}

func (c *chunkReader) put() {
	c.r.Reset(nil)
	c.br.Reset(nil)
	chunkReaders.Put(c)
}

// isChunked reports whether the last transfer coding is chunked.
func isChunked(te []string) bool {
	last := te[len(te)-1]
	if i := strings.LastIndexByte(last, ','); i >= 0 {
		last = last[i+1:]
	}
	return strings.EqualFold(strings.TrimSpace(last), "chunked")
}
