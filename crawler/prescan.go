package crawler

import (
	"bytes"
	"io"
	"unicode"
	"unicode/utf8"

	"golang.org/x/net/html"
	"golang.org/x/net/html/charset"
	"golang.org/x/text/encoding"
)

// This file holds the HTML standard's encoding sniffing algorithms
// (https://html.spec.whatwg.org/multipage/parsing.html#encoding-sniffing-algorithm)
// that golang.org/x/net/html/charset does not give. Its DetermineEncoding
// prescans with the HTML tokenizer, which reads <script>, <style> and
// <title> as raw text and so misses a <meta> the standard's byte-level
// prescan finds there, and it knows nothing of a <meta> past the first
// 1024 bytes, which the standard's tree builder honours by changing the
// encoding. The encoding labels and decoders are x/net's and x/text's.

// An encodingGuess is an encoding chosen for a body, by its canonical
// WHATWG name.
type encodingGuess struct {
	enc  encoding.Encoding
	name string
}

// lookupEncoding is the encoding standard's "get an encoding": label
// without leading and trailing ASCII whitespace, matched case-insensitively
// against the standard's labels. ok is false for an unknown label.
func lookupEncoding(label []byte) (g encodingGuess, ok bool) {
	label = bytes.Trim(label, "\t\n\f\r ")
	if len(label) == 0 || !asciiLabel(label) {
		return encodingGuess{}, false
	}
	// x/text's index also takes "replacement" itself as a label, which
	// the standard does not.
	if string(bytes.ToLower(label)) == "replacement" {
		return encodingGuess{}, false
	}
	enc, name := charset.Lookup(string(label))
	if enc == nil {
		return encodingGuess{}, false
	}
	return encodingGuess{enc, name}, true
}

// asciiLabel reports whether label has no byte that x/net's lookup would
// trim as white space but the standard would not (vertical tab, U+0085,
// U+00A0...) at either end.
func asciiLabel(label []byte) bool {
	first, _ := utf8.DecodeRune(label)
	last, _ := utf8.DecodeLastRune(label)
	return !unicode.IsSpace(first) && !unicode.IsSpace(last)
}

// forMeta maps the encodings a <meta> may not switch to, as the
// standard's prescan and "change the encoding" do: UTF-16 to UTF-8 (a
// document that can declare itself in ASCII is not UTF-16), x-user-defined
// to windows-1252.
func (g encodingGuess) forMeta() encodingGuess {
	switch g.name {
	case "utf-16be", "utf-16le":
		g, _ = lookupEncoding([]byte("utf-8"))
	case "x-user-defined":
		g, _ = lookupEncoding([]byte("windows-1252"))
	}
	return g
}

// prescan is the standard's "prescan a byte stream to determine its
// encoding" with the end condition "the end of b": the encoding declared
// by the first <meta charset> or <meta http-equiv="Content-Type"
// content="...; charset=..."> in b outside comments and tags, else by a
// UTF-16 or <?xml ... encoding="..."?> declaration at the start of b.
// Script, style and other raw text are not told apart: the prescan reads
// markup-looking bytes wherever they are.
func prescan(b []byte) (encodingGuess, bool) {
	switch {
	case bytes.HasPrefix(b, []byte{'<', 0, '?', 0, 'x', 0}):
		return lookupEncoding([]byte("utf-16le"))
	case bytes.HasPrefix(b, []byte{0, '<', 0, '?', 0, 'x'}):
		return lookupEncoding([]byte("utf-16be"))
	}
	for pos := 0; pos < len(b); pos++ {
		rest := b[pos:]
		switch {
		case bytes.HasPrefix(rest, []byte("<!--")):
			// The two dashes before '>' may be those of "<!--".
			end := bytes.Index(rest[2:], []byte("-->"))
			if end < 0 {
				return xmlEncoding(b)
			}
			pos += 2 + end + 2
		case len(rest) > 5 && hasPrefixFold(rest, "<meta") && isSpaceOrSlash(rest[5]):
			p := pos + 5
			g, ok, more := prescanMeta(b, &p)
			if !more {
				return xmlEncoding(b)
			}
			if ok {
				return g, true
			}
			pos = p
		case len(rest) > 1 && rest[0] == '<' && (isASCIILetter(rest[1]) || rest[1] == '/' && len(rest) > 2 && isASCIILetter(rest[2])):
			p := pos + 1
			for p < len(b) && !isHTMLSpace(b[p]) && b[p] != '>' {
				p++
			}
			for {
				_, _, found, more := sniffAttribute(b, &p)
				if !more {
					return xmlEncoding(b)
				}
				if !found {
					break
				}
			}
			pos = p
		case len(rest) > 1 && rest[0] == '<' && (rest[1] == '!' || rest[1] == '/' || rest[1] == '?'):
			end := bytes.IndexByte(rest[1:], '>')
			if end < 0 {
				return xmlEncoding(b)
			}
			pos += 1 + end
		}
	}
	return xmlEncoding(b)
}

// prescanMeta reads the attributes of a <meta> whose name ends at *pos
// and returns the encoding it declares, if any. more is false when b
// ended first.
func prescanMeta(b []byte, pos *int) (g encodingGuess, ok, more bool) {
	seen := map[string]bool{}
	gotPragma := false
	needPragma := 0 // 0: null, 1: true, 2: false
	var cs *encodingGuess
	csValid := false
	for {
		name, value, found, more := sniffAttribute(b, pos)
		if !more {
			return encodingGuess{}, false, false
		}
		if !found {
			break
		}
		if seen[string(name)] {
			continue
		}
		seen[string(name)] = true
		switch string(name) {
		case "http-equiv":
			gotPragma = gotPragma || string(value) == "content-type"
		case "content":
			if cs == nil {
				if e, ok := encodingFromContent(value); ok {
					cs, csValid, needPragma = &e, true, 1
				}
			}
		case "charset":
			e, ok := lookupEncoding(value)
			cs, csValid, needPragma = &e, ok, 2
		}
	}
	if needPragma == 0 || needPragma == 1 && !gotPragma || !csValid {
		return encodingGuess{}, false, true
	}
	return cs.forMeta(), true, true
}

// sniffAttribute is the prescan's "get an attribute" from *pos: the
// attribute's name and value, lower-cased, and found true, or found false
// when the tag ends at '>'. more is false when b ends first.
func sniffAttribute(b []byte, pos *int) (name, value []byte, found, more bool) {
	p := *pos
	defer func() { *pos = p }()
	for p < len(b) && isSpaceOrSlash(b[p]) {
		p++
	}
	if p >= len(b) {
		return nil, nil, false, false
	}
	if b[p] == '>' {
		return nil, nil, false, true
	}
	for ; ; p++ {
		if p >= len(b) {
			return nil, nil, false, false
		}
		c := b[p]
		switch {
		case c == '=' && len(name) > 0:
			p++
			return sniffValue(b, &p, name)
		case isHTMLSpace(c):
			for p < len(b) && isHTMLSpace(b[p]) {
				p++
			}
			if p >= len(b) {
				return nil, nil, false, false
			}
			if b[p] != '=' {
				return name, nil, true, true
			}
			p++
			return sniffValue(b, &p, name)
		case c == '/' || c == '>':
			return name, nil, true, true
		default:
			name = append(name, toLowerASCII(c))
		}
	}
}

// sniffValue is the "value" part of "get an attribute", from *pos just
// past the '='.
func sniffValue(b []byte, pos *int, name []byte) (_, value []byte, found, more bool) {
	p := *pos
	defer func() { *pos = p }()
	for p < len(b) && isHTMLSpace(b[p]) {
		p++
	}
	if p >= len(b) {
		return nil, nil, false, false
	}
	switch q := b[p]; q {
	case '"', '\'':
		end := bytes.IndexByte(b[p+1:], q)
		if end < 0 {
			p = len(b)
			return nil, nil, false, false
		}
		for _, c := range b[p+1 : p+1+end] {
			value = append(value, toLowerASCII(c))
		}
		p += end + 2
		return name, value, true, true
	case '>':
		return name, nil, true, true
	}
	for ; p < len(b); p++ {
		c := b[p]
		if isHTMLSpace(c) || c == '>' {
			return name, value, true, true
		}
		value = append(value, toLowerASCII(c))
	}
	return nil, nil, false, false
}

// encodingFromContent is the standard's "algorithm for extracting a
// character encoding from a meta element", given its content attribute.
func encodingFromContent(s []byte) (encodingGuess, bool) {
	pos := 0
	for {
		i := indexFold(s[pos:], "charset")
		if i < 0 {
			return encodingGuess{}, false
		}
		pos += i + len("charset")
		for pos < len(s) && isHTMLSpace(s[pos]) {
			pos++
		}
		if pos < len(s) && s[pos] == '=' {
			pos++
			break
		}
	}
	for pos < len(s) && isHTMLSpace(s[pos]) {
		pos++
	}
	if pos >= len(s) {
		return encodingGuess{}, false
	}
	if q := s[pos]; q == '"' || q == '\'' {
		end := bytes.IndexByte(s[pos+1:], q)
		if end < 0 {
			return encodingGuess{}, false
		}
		return lookupEncoding(s[pos+1 : pos+1+end])
	}
	end := bytes.IndexAny(s[pos:], "\t\n\f\r ;")
	if end < 0 {
		end = len(s) - pos
	}
	return lookupEncoding(s[pos : pos+end])
}

// xmlEncoding is the standard's "get an XML encoding": the encoding named
// by an XML declaration at the start of b.
func xmlEncoding(b []byte) (encodingGuess, bool) {
	if !bytes.HasPrefix(b, []byte("<?xml")) {
		return encodingGuess{}, false
	}
	end := bytes.IndexByte(b, '>')
	if end < 0 {
		return encodingGuess{}, false
	}
	decl := b[:end]
	i := bytes.Index(decl, []byte("encoding"))
	if i < 0 {
		return encodingGuess{}, false
	}
	p := i + len("encoding")
	skip := func() {
		for p < len(decl) && decl[p] <= 0x20 {
			p++
		}
	}
	skip()
	if p >= len(decl) || decl[p] != '=' {
		return encodingGuess{}, false
	}
	p++
	skip()
	if p >= len(decl) || decl[p] != '"' && decl[p] != '\'' {
		return encodingGuess{}, false
	}
	q := decl[p]
	p++
	n := bytes.IndexByte(decl[p:], q)
	if n < 0 {
		return encodingGuess{}, false
	}
	label := decl[p : p+n]
	for _, c := range label {
		if c <= 0x20 {
			return encodingGuess{}, false
		}
	}
	g, ok := lookupEncoding(label)
	if !ok {
		return encodingGuess{}, false
	}
	if g.name == "utf-16be" || g.name == "utf-16le" {
		g, ok = lookupEncoding([]byte("utf-8"))
	}
	return g, ok
}

// metaInDocument is what the standard's tree builder does with a <meta>
// while the encoding is tentative: it returns the encoding declared by the
// first <meta> start tag in the document r (already decoded to UTF-8)
// that declares a known one, by a charset attribute or by http-equiv
// "Content-Type" with a content attribute. Unlike the prescan it tokenizes
// the document, so a <meta> inside a comment, <script>, <style>, <title>,
// <textarea>, <noscript> or another raw text element does not count. The
// insertion modes in which the tree builder ignores a <meta> (inside
// <select>, in a frameset) are not followed: such a <meta> counts here.
func metaInDocument(r io.Reader) (encodingGuess, bool) {
	z := html.NewTokenizer(r)
	for {
		switch z.Next() {
		case html.ErrorToken:
			return encodingGuess{}, false
		case html.StartTagToken, html.SelfClosingTagToken:
			name, hasAttr := z.TagName()
			if string(name) != "meta" || !hasAttr {
				continue
			}
			if g, ok := metaTagEncoding(z); ok {
				return g.forMeta(), true
			}
		}
	}
}

// metaTagEncoding returns the encoding the attributes of the <meta> tag
// at z declare, the first of each name counting as the tokenizer says.
func metaTagEncoding(z *html.Tokenizer) (encodingGuess, bool) {
	var cs, httpEquiv, content []byte
	var haveCS, haveHTTPEquiv, haveContent bool
	for more := true; more; {
		var key, val []byte
		key, val, more = z.TagAttr()
		switch {
		case string(key) == "charset" && !haveCS:
			cs, haveCS = val, true
		case string(key) == "http-equiv" && !haveHTTPEquiv:
			httpEquiv, haveHTTPEquiv = val, true
		case string(key) == "content" && !haveContent:
			content, haveContent = val, true
		}
	}
	if haveCS {
		if g, ok := lookupEncoding(cs); ok {
			return g, true
		}
	}
	if haveContent && bytes.EqualFold(httpEquiv, []byte("content-type")) {
		return encodingFromContent(content)
	}
	return encodingGuess{}, false
}

// mayDeclareCharset reports whether b may hold a <meta> tag that declares
// an encoding: a "<meta" whose text up to the next '>' says "charset", in
// any case. It is the cheap test, linear in len(b), that spares most
// documents the tokenizing of [metaInDocument]. b is in an
// ASCII-compatible encoding.
func mayDeclareCharset(b []byte) bool {
	// gt and cs are the next '>' and "charset" at or after the last
	// "<meta" looked at: both only move forward.
	gt, cs := -1, -1
	for i := bytes.IndexByte(b, '<'); i >= 0; {
		if hasPrefixFold(b[i+1:], "meta") {
			if gt < i {
				if gt = bytes.IndexByte(b[i:], '>'); gt < 0 {
					gt = len(b)
				} else {
					gt += i
				}
			}
			if cs < i {
				j := indexFold(b[i:], "charset")
				if j < 0 {
					return false
				}
				cs = i + j
			}
			if cs < gt {
				return true
			}
		}
		j := bytes.IndexByte(b[i+1:], '<')
		if j < 0 {
			return false
		}
		i += 1 + j
	}
	return false
}

// indexFold returns the index of the first ASCII case-insensitive match
// of the lower-case word in s, or -1.
func indexFold(s []byte, word string) int {
	for i := 0; i+len(word) <= len(s); i++ {
		j := bytes.IndexAny(s[i:], word[:1]+string(word[0]-'a'+'A'))
		if j < 0 {
			return -1
		}
		i += j
		if i+len(word) <= len(s) && hasPrefixFold(s[i:], word) {
			return i
		}
	}
	return -1
}

func isHTMLSpace(c byte) bool {
	return c == '\t' || c == '\n' || c == '\f' || c == '\r' || c == ' '
}

func isSpaceOrSlash(c byte) bool { return isHTMLSpace(c) || c == '/' }

func isASCIILetter(c byte) bool { return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' }

func toLowerASCII(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}
