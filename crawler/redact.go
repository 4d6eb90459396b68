package crawler

import (
	"context"
	"strings"
)

// RedactURL returns s with the password of its user information replaced
// by "***" ("https://user:***@host/"), as net/http prints URLs in its
// errors; s itself when it has no password. It is what trawl writes in
// place of a URL: records, error messages, warnings. It works on text, so
// it also redacts input lines that are not valid URLs. A user name alone
// is kept (Go's URL.Redacted does the same).
//
// A text that starts with a scheme has its authority after the scheme's
// ':' and any run of '/' and '\' that follows, as the WHATWG parser
// reads "http:/u:p@host/", "http:\\u:p@host/" and "http:u:p@host/"
// (input lines that do not parse are written as they are); other text
// has it after its first "://".
func RedactURL(s string) string {
	if strings.IndexByte(s, '@') < 0 {
		return s // no userinfo, so no password: every link of every page
	}
	t := s
	for len(t) > 0 && t[0] <= ' ' {
		t = t[1:] // C0 controls and space, as the URL parser skips them
	}
	if scheme, ok := schemeOf(t); ok {
		start := len(s) - len(t) + len(scheme) + 1
		for start < len(s) && (s[start] == '/' || s[start] == '\\') {
			start++
		}
		r, _ := redactAt(s, start)
		return r
	}
	i := strings.Index(s, "://")
	if i < 0 {
		return s
	}
	r, _ := redactAt(s, i+3)
	return r
}

// redactAt redacts the password of the authority that starts at offset
// start of s, and returns the result and the offset just past that
// authority in it.
func redactAt(s string, start int) (string, int) {
	rest := s[start:]
	end := strings.IndexAny(rest, "/?#\\ \t\r\n\"'<>")
	if end < 0 {
		end = len(rest)
	}
	at := strings.LastIndexByte(rest[:end], '@')
	if at < 0 {
		return s, start + end
	}
	name, pass, ok := strings.Cut(rest[:at], ":")
	if !ok || pass == "***" {
		return s, start + end
	}
	s = s[:start] + name + ":***" + rest[at:]
	return s, start + end - len(pass) + 3
}

// redactURLsIn redacts every URL in the text msg (an error message).
func redactURLsIn(msg string) string {
	for from := 0; ; {
		i := strings.Index(msg[from:], "://")
		if i < 0 {
			return msg
		}
		msg, from = redactAt(msg, from+i+3)
	}
}

// AddRequest adds req to the frontier f. A URL with a password is
// written out redacted (see [RedactURL]), so that is the form a resumed
// run finds done in the output: such a URL is first marked seen under its
// redacted form, and skipped when that was seen already.
func AddRequest(ctx context.Context, f Frontier, req Request) (bool, error) {
	if r := RedactURL(req.URL); r != req.URL {
		if isNew, err := f.MarkIfNew(ctx, r); err != nil || !isNew {
			return false, err
		}
	}
	return f.Add(ctx, req)
}
