package crawler

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"

	"golang.org/x/net/html/charset"
	"golang.org/x/text/transform"
)

// sniffLen is how much of a body charset and type detection look at: the
// WHATWG encoding prescan and http.DetectContentType both read 1024 bytes
// at most (DetectContentType reads 512).
const sniffLen = 1024

// Body is a response body prepared for extraction by [DecodeBody].
type Body struct {
	// Reader yields the body: as UTF-8 without byte order mark when HTML
	// is true, and byte for byte otherwise.
	io.Reader
	// MediaType is the lower-case media type without parameters, from the
	// Content-Type header or, when the header is missing or unparsable,
	// sniffed from the body ("text/html", "application/pdf", ...).
	MediaType string
	// Charset is the canonical WHATWG name of the encoding the body was
	// decoded from ("utf-8", "windows-1252", "utf-16le", ...), or "" when
	// HTML is false.
	Charset string
	// HTML reports whether the body is HTML or XHTML, which trawl parses.
	HTML bool
}

// IsHTMLMediaType reports whether trawl parses bodies of the media type mt
// (without parameters): text/html and application/xhtml+xml.
func IsHTMLMediaType(mt string) bool {
	return strings.EqualFold(mt, "text/html") || strings.EqualFold(mt, "application/xhtml+xml")
}

// DecodeBody prepares body, whose Content-Type header is contentType, for
// extraction. It reads ahead at most 1024 bytes; the rest is decoded as it
// is read.
//
// The media type comes from contentType, or is sniffed with
// [http.DetectContentType] when contentType is empty or does not parse;
// a declared type is trusted. For HTML the encoding is chosen as the
// WHATWG encoding standard says: a byte order mark (UTF-8, UTF-16LE,
// UTF-16BE) wins, then the charset parameter of contentType, then a
// <meta charset> or <meta http-equiv="Content-Type"> in the first 1024
// bytes, then UTF-8 if those bytes are valid UTF-8, and windows-1252
// otherwise. An unknown charset label counts as no label. Bytes invalid in
// the chosen encoding become U+FFFD.
//
// An error reading body is returned as it is when it is an *Error already,
// and as an *Error of kind [KindDecode] otherwise. DecodeBody does not
// close body.
func DecodeBody(body io.Reader, contentType string) (Body, error) {
	br := bufio.NewReaderSize(body, sniffLen)
	head, err := br.Peek(sniffLen)
	if err != nil && err != io.EOF && !errors.Is(err, bufio.ErrBufferFull) {
		if KindOf(err) != "" {
			return Body{}, err
		}
		return Body{}, newError(KindDecode, "", fmt.Errorf("read body: %w", err))
	}
	mt := mediaType(contentType, head)
	if !IsHTMLMediaType(mt) {
		return Body{Reader: br, MediaType: mt}, nil
	}
	enc, name, _ := charset.DetermineEncoding(head, contentType)
	if n := bomLen(head); n > 0 {
		if _, err := br.Discard(n); err != nil {
			return Body{}, newError(KindDecode, "", fmt.Errorf("skip byte order mark: %w", err))
		}
	}
	b := Body{Reader: br, MediaType: mt, Charset: name, HTML: true}
	if name != "utf-8" {
		// UTF-8 is passed through: the HTML parser copes with invalid
		// bytes and encoding/json replaces them on output, so decoding
		// would only cost time.
		b.Reader = transform.NewReader(br, enc.NewDecoder())
	}
	return b, nil
}

// mediaType returns the lower-case media type of contentType, or the one
// sniffed from head when contentType has none.
func mediaType(contentType string, head []byte) string {
	if strings.TrimSpace(contentType) != "" {
		mt, _, err := mime.ParseMediaType(contentType)
		if (err == nil || errors.Is(err, mime.ErrInvalidMediaParameter)) && strings.Contains(mt, "/") {
			return mt
		}
	}
	mt, _, _ := mime.ParseMediaType(http.DetectContentType(head))
	return mt
}

// bomLen returns the length of the byte order mark that starts head, or 0.
func bomLen(head []byte) int {
	switch {
	case bytes.HasPrefix(head, []byte{0xEF, 0xBB, 0xBF}):
		return 3
	case bytes.HasPrefix(head, []byte{0xFE, 0xFF}), bytes.HasPrefix(head, []byte{0xFF, 0xFE}):
		return 2
	}
	return 0
}
