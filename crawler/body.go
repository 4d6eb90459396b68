package crawler

import (
	"bufio"
	"compress/flate"
	"compress/gzip"
	"compress/zlib"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"

	"github.com/andybalholm/brotli"
)

// acceptEncoding is what the fetcher asks for: the encodings body.go
// decodes.
const acceptEncoding = "gzip, deflate, br"

// errTooLarge is the detail of a [KindTooLarge] error.
var errTooLarge = errors.New("body larger than the limit")

// bodyError is a failure while reading a body, tagged with whether the
// transport (truncation, reset) or a decoder (bad compressed data) failed.
type bodyError struct {
	kind Kind
	err  error
}

func (e *bodyError) Error() string { return e.err.Error() }
func (e *bodyError) Unwrap() error { return e.err }

// sourceReader records the error of the raw body, so that an error coming
// out of a decoder can be told apart from one the decoder passed on.
type sourceReader struct {
	r   io.Reader
	err error
}

func (s *sourceReader) Read(p []byte) (int, error) {
	n, err := s.r.Read(p)
	if err != nil && err != io.EOF {
		s.err = err
	}
	return n, err
}

// maxEncodings is the most content codings (other than identity) decoded
// for one body. Each costs a decoder's window and buffers (some 40 KiB for
// gzip), so a "gzip, gzip, ..." thousands deep would cost hundreds of MiB;
// real servers send one.
const maxEncodings = 4

// decodeBody wraps raw in a decoder for each Content-Encoding, applied in
// reverse order of listing. "deflate" accepts both zlib (RFC 1950, as the
// standard says) and raw deflate (RFC 1951, as many servers send). An
// unknown encoding, or more than maxEncodings of them, is an error. The
// output of every decoder, the inner ones too, is held to limit bytes: a
// layer that inflates to data the next one turns into nothing still
// stops at the limit.
func decodeBody(raw io.Reader, contentEncoding string, limit int64) (io.Reader, error) {
	if contentEncoding == "" {
		return raw, nil
	}
	codings := strings.Split(contentEncoding, ",")
	r, layers := raw, 0
	for i := len(codings) - 1; i >= 0; i-- {
		c := strings.ToLower(strings.TrimSpace(codings[i]))
		if c == "" || c == "identity" {
			continue
		}
		if layers++; layers > maxEncodings {
			return nil, fmt.Errorf("more than %d content-encodings stacked", maxEncodings)
		}
		var err error
		switch c {
		case "gzip", "x-gzip":
			r, err = gzip.NewReader(r)
		case "deflate":
			r, err = newDeflateReader(r)
		case "br":
			r = brotli.NewReader(r)
		default:
			err = fmt.Errorf("unsupported content-encoding %q", c)
		}
		if err != nil {
			return nil, err
		}
		r = &layerLimit{r: r, n: limit}
	}
	return r, nil
}

// layerLimit fails with errTooLarge once more than n bytes came out of r.
type layerLimit struct {
	r io.Reader
	n int64
}

func (l *layerLimit) Read(p []byte) (int, error) {
	n, err := l.r.Read(p)
	if l.n -= int64(n); l.n < 0 {
		return n, errTooLarge
	}
	return n, err
}

// newDeflateReader reads zlib or raw deflate data, looking at the first two
// bytes: a zlib header has compression method 8 and a checksum making the
// pair a multiple of 31.
func newDeflateReader(r io.Reader) (io.Reader, error) {
	br := bufio.NewReader(r)
	head, err := br.Peek(2)
	if err != nil && len(head) < 2 {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return nil, err
	}
	if head[0]&0x0f == 8 && (uint16(head[0])<<8|uint16(head[1]))%31 == 0 {
		return zlib.NewReader(br)
	}
	return flate.NewReader(br), nil
}

// bufPool holds read buffers so that bodies of ordinary size do not grow
// a buffer from scratch each time.
var bufPool = sync.Pool{New: func() any { b := make([]byte, 0, 64<<10); return &b }}

// maxPooled is the largest buffer put back in the pool: a few huge bodies
// must not pin their buffers for the whole run.
const maxPooled = 1 << 20

// readBody reads the body r, decoded per contentEncoding, and returns at
// most limit bytes as a new slice. More than limit decoded bytes is an
// error of kind too_large, found after reading limit+1 bytes, so a
// decompression bomb costs no more memory than the limit; with cut, the
// first limit bytes are returned instead. Errors are *bodyError tagged
// with their kind.
func readBody(r io.Reader, contentEncoding string, limit int64, cut bool) ([]byte, error) {
	src := &sourceReader{r: r}
	dec, err := decodeBody(src, contentEncoding, limit)
	if err != nil {
		return nil, bodyFailure(src, err)
	}
	bp := bufPool.Get().(*[]byte)
	buf := (*bp)[:0]
	defer func() {
		if cap(buf) <= maxPooled {
			*bp = buf[:0]
			bufPool.Put(bp)
		}
	}()
	buf, err = readLimited(dec, buf, limit)
	if cut && errors.Is(err, errTooLarge) {
		// An inner coding's layer may have hit the limit first, with less
		// than limit bytes of output so far.
		buf, err = buf[:min(int64(len(buf)), limit)], nil
	}
	if err != nil {
		return nil, bodyFailure(src, err)
	}
	return append([]byte(nil), buf...), nil
}

// readLimited appends r's bytes to buf until EOF, failing with errTooLarge
// once more than limit bytes have come. buf never grows past limit+1.
func readLimited(r io.Reader, buf []byte, limit int64) ([]byte, error) {
	for {
		if len(buf) == cap(buf) {
			grown := min(max(2*int64(cap(buf)), 4096), limit+1)
			buf = append(make([]byte, 0, grown), buf...)
		}
		n, err := r.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if int64(len(buf)) > limit {
			return buf, errTooLarge // an endless body stops here
		}
		if err == io.EOF {
			return buf, nil
		}
		if err != nil {
			return buf, err
		}
	}
}

// bodyFailure tags err with its kind: too_large for the limit, the
// transport's kind when the raw body failed, decode otherwise.
func bodyFailure(src *sourceReader, err error) error {
	switch {
	case errors.Is(err, errTooLarge):
		return &bodyError{kind: KindTooLarge, err: err}
	case src.err != nil:
		return &bodyError{kind: transportKind(src.err, true), err: src.err}
	default:
		return &bodyError{kind: KindDecode, err: err}
	}
}

// tooLarge is the detail of a [KindTooLarge] error for a body over limit:
// it names --max-body when limit is the fetcher's MaxBody, the limit a
// user set.
func (f *Fetcher) tooLarge(limit int64) error {
	if limit == f.cfg.MaxBody {
		return tooLargeError("body larger than --max-body (" + sizeText(limit) + ")")
	}
	return tooLargeError("body larger than " + sizeText(limit))
}

// tooLargeError is errTooLarge with the limit in its text.
type tooLargeError string

func (e tooLargeError) Error() string { return string(e) }

// Is matches errTooLarge.
func (e tooLargeError) Is(target error) bool { return target == errTooLarge }

// sizeText writes n bytes as a user writes a size: "100 B", "16 KiB",
// "10 MiB" when exact, bytes otherwise.
func sizeText(n int64) string {
	for _, u := range []struct {
		size int64
		name string
	}{{1 << 30, "GiB"}, {1 << 20, "MiB"}, {1 << 10, "KiB"}} {
		if n >= u.size && n%u.size == 0 {
			return fmt.Sprintf("%d %s", n/u.size, u.name)
		}
	}
	return fmt.Sprintf("%d B", n)
}
