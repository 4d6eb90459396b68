package crawler

import (
	"maps"
	"strings"
	"unicode/utf8"
)

// CleanText returns s fit for a record's text field: each byte that is not
// part of valid UTF-8 becomes U+FFFD, and control characters are removed
// (C0 but tab and newline, DEL, C1), NUL among them. Pages are hostile:
// a raw ESC reaches whoever cats the CSV, and a NUL or a stray byte
// breaks tools downstream. Text without such characters is returned as it
// is, without copying.
func CleanText(s string) string {
	i := 0
	for i < len(s) {
		if c := s[i]; c >= 0x20 && c < 0x7f {
			i++ // printable ASCII, most of any text: no call
			continue
		}
		n := cleanPrefix(s[i:])
		if n == 0 {
			break
		}
		i += n
	}
	if i == len(s) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	b.WriteString(s[:i])
	for i < len(s) {
		if n := cleanPrefix(s[i:]); n > 0 {
			b.WriteString(s[i : i+n])
			i += n
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b.WriteRune(utf8.RuneError)
		}
		i += size // a control character is dropped
	}
	return b.String()
}

// cleanPrefix returns the length of the character at the start of s when
// it is kept as it is, and 0 when it must be replaced or dropped.
func cleanPrefix(s string) int {
	c := s[0]
	switch {
	case c >= 0x20 && c < 0x7f, c == '\t', c == '\n':
		return 1
	case c < utf8.RuneSelf:
		return 0
	}
	r, size := utf8.DecodeRuneInString(s)
	if r == utf8.RuneError && size == 1 || r >= 0x80 && r <= 0x9f {
		return 0
	}
	return size
}

// cleanStrings returns ss with [CleanText] applied to each, ss itself when
// none changes.
func cleanStrings(ss []string) []string {
	var out []string
	for i, s := range ss {
		c := CleanText(s)
		if out == nil {
			if c == s {
				continue
			}
			out = make([]string, len(ss))
			copy(out, ss[:i])
		}
		out[i] = c
	}
	if out == nil {
		return ss
	}
	return out
}

// cleanFields returns fields with [CleanText] applied to every value,
// fields itself when none changes.
func cleanFields(fields map[string][]string) map[string][]string {
	var out map[string][]string
	for name, values := range fields {
		c := cleanStrings(values)
		if out == nil {
			if len(c) == 0 || &c[0] == &values[0] {
				continue
			}
			out = maps.Clone(fields)
		}
		out[name] = c
	}
	if out == nil {
		return fields
	}
	return out
}

// clean applies [CleanText] to every text field of p. Links and the
// canonical URL are left as they are: [ResolveLink] gives printable ASCII
// only (FuzzResolveLink checks it), so cleaning them would only cost a
// scan of every link of every page.
func (p *Page) clean() {
	p.Title = CleanText(p.Title)
	p.Description = CleanText(p.Description)
	p.H1 = CleanText(p.H1)
	p.Lang = CleanText(p.Lang)
	p.Fields = cleanFields(p.Fields)
}

// cleaned returns a copy of r whose every text field has been through
// [CleanText]: what the outputs write. Most of a record is clean already
// (the page fields were cleaned at extraction); the rest comes from the
// input, the server and error messages.
func (r *Result) cleaned() Result {
	c := *r
	c.URL = CleanText(c.URL)
	c.Input = CleanText(c.Input)
	c.Host = CleanText(c.Host)
	c.FinalURL = CleanText(c.FinalURL)
	c.ContentType = CleanText(c.ContentType)
	c.RemoteAddr = CleanText(c.RemoteAddr)
	c.Proto = CleanText(c.Proto)
	c.TLSVersion = CleanText(c.TLSVersion)
	c.Redirects = cleanStrings(c.Redirects)
	p := c.page()
	p.clean()
	c.SetPage(p)
	if e := c.Error; e != nil {
		k, m := Kind(CleanText(string(e.Kind))), CleanText(e.Message)
		if k != e.Kind || m != e.Message {
			c.Error = &ResultError{Kind: k, Message: m}
		}
	}
	return c
}
