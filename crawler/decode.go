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
	"unicode/utf8"

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
// extraction.
//
// The media type comes from contentType, or is sniffed with
// [http.DetectContentType] when contentType is empty or does not parse;
// a declared type is trusted. For HTML the encoding is chosen as the HTML
// standard's encoding sniffing algorithm says. A byte order mark (UTF-8,
// UTF-16LE, UTF-16BE) wins, then the charset parameter of contentType:
// these are certain, and DecodeBody reads ahead at most 1024 bytes and
// decodes the rest as it is read. Otherwise the encoding is tentative:
// the standard's prescan of the first 1024 bytes for a <meta charset> or
// <meta http-equiv="Content-Type">, else UTF-8 if those bytes are valid
// UTF-8 with some non-ASCII byte, else windows-1252; and then, as the
// standard's tree builder does, the first <meta> in the document that
// declares an encoding (anywhere, but not inside a comment, <script>,
// <style> or other raw text) changes the encoding when it names another
// one. A document with no such declaration whose bytes are all valid
// UTF-8, some non-ASCII, is UTF-8 rather than windows-1252. For that
// DecodeBody reads a body whose encoding is tentative whole, so body must
// be bounded. An unknown charset label counts as no label. Bytes invalid
// in the chosen encoding become U+FFFD.
//
// An error reading body is returned as it is when it is an *Error already,
// and as an *Error of kind [KindDecode] otherwise. DecodeBody does not
// close body.
func DecodeBody(body io.Reader, contentType string) (Body, error) {
	br := bufio.NewReaderSize(body, sniffLen)
	head, err := br.Peek(sniffLen)
	if err != nil && err != io.EOF && !errors.Is(err, bufio.ErrBufferFull) {
		return Body{}, readError(err)
	}
	mt := mediaType(contentType, head)
	if !IsHTMLMediaType(mt) {
		return Body{Reader: br, MediaType: mt}, nil
	}
	g, certain := certainEncoding(head, contentType)
	if !certain {
		all, err := io.ReadAll(br)
		if err != nil {
			return Body{}, readError(err)
		}
		return htmlBody(bytes.NewReader(all), mt, tentativeEncoding(all)), nil
	}
	if n := bomLen(head); n > 0 {
		if _, err := br.Discard(n); err != nil {
			return Body{}, newError(KindDecode, "", fmt.Errorf("skip byte order mark: %w", err))
		}
	}
	return htmlBody(br, mt, g), nil
}

// DecodeBytes is [DecodeBody] for a body held in memory, without copying
// it. It cannot fail.
func DecodeBytes(body []byte, contentType string) Body {
	head := body[:min(len(body), sniffLen)]
	mt := mediaType(contentType, head)
	if !IsHTMLMediaType(mt) {
		return Body{Reader: bytes.NewReader(body), MediaType: mt}
	}
	g, certain := certainEncoding(head, contentType)
	if !certain {
		g = tentativeEncoding(body)
	}
	return htmlBody(bytes.NewReader(body[bomLen(head):]), mt, g)
}

func readError(err error) error {
	if KindOf(err) != "" {
		return err
	}
	return newError(KindDecode, "", fmt.Errorf("read body: %w", err))
}

// htmlBody returns r, decoded from g to UTF-8, as a Body of media type mt.
func htmlBody(r io.Reader, mt string, g encodingGuess) Body {
	b := Body{Reader: r, MediaType: mt, Charset: g.name, HTML: true}
	if g.name != "utf-8" {
		// UTF-8 is passed through: the HTML parser copes with invalid
		// bytes and encoding/json replaces them on output, so decoding
		// would only cost time.
		b.Reader = transform.NewReader(r, g.enc.NewDecoder())
	}
	return b
}

// certainEncoding returns the encoding of an HTML body that starts with
// head when the standard gives it with confidence "certain": from a byte
// order mark, or from the charset parameter of contentType.
func certainEncoding(head []byte, contentType string) (encodingGuess, bool) {
	switch {
	case bytes.HasPrefix(head, []byte{0xEF, 0xBB, 0xBF}):
		return lookupEncoding([]byte("utf-8"))
	case bytes.HasPrefix(head, []byte{0xFE, 0xFF}):
		return lookupEncoding([]byte("utf-16be"))
	case bytes.HasPrefix(head, []byte{0xFF, 0xFE}):
		return lookupEncoding([]byte("utf-16le"))
	}
	if _, params, err := mime.ParseMediaType(contentType); err == nil {
		if label, ok := params["charset"]; ok {
			return lookupEncoding([]byte(label))
		}
	}
	return encodingGuess{}, false
}

// tentativeEncoding returns the encoding of the HTML document b, with no
// byte order mark and no charset in its Content-Type, as [DecodeBody]
// describes.
func tentativeEncoding(b []byte) encodingGuess {
	head := b[:min(len(b), sniffLen)]
	g, declared := prescan(head)
	if !declared {
		g, _ = lookupEncoding([]byte("windows-1252"))
		if looksUTF8(head, len(head) == len(b)) {
			g, _ = lookupEncoding([]byte("utf-8"))
		}
	}
	if g.name == "utf-16le" || g.name == "utf-16be" {
		return g // a <meta> cannot change away from UTF-16
	}
	if mayDeclareCharset(b) {
		var r io.Reader = bytes.NewReader(b)
		if g.name != "utf-8" {
			r = transform.NewReader(r, g.enc.NewDecoder())
		}
		if m, ok := metaInDocument(r); ok {
			return m
		}
	}
	if g.name == "windows-1252" && !declared && looksUTF8(b, true) {
		g, _ = lookupEncoding([]byte("utf-8"))
	}
	return g
}

// looksUTF8 reports whether b is valid UTF-8 with at least one non-ASCII
// byte. Unless b is the whole body, a rune cut at its end is left out.
func looksUTF8(b []byte, whole bool) bool {
	if !whole {
		for i := len(b) - 1; i >= 0 && i > len(b)-utf8.UTFMax; i-- {
			if b[i] < utf8.RuneSelf {
				break
			}
			if utf8.RuneStart(b[i]) {
				b = b[:i]
				break
			}
		}
	}
	for _, c := range b {
		if c >= utf8.RuneSelf {
			return utf8.Valid(b)
		}
	}
	return false
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
