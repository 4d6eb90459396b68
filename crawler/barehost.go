package crawler

import (
	"errors"
	"fmt"
	"net/netip"
	"path"
	"strings"
)

// NormalizeInput normalises an entry of the input, a URL argument or a
// line of a file, as [Normalize] does, and also takes a bare host, as
// curl and httpx do: "example.com", "example.com/path",
// "127.0.0.1:8080/x" and "localhost:8901" (a host and port, not a scheme)
// become https://example.com/... with bare true, and the caller may fall
// back to http:// when https cannot connect. A bare host is a name with a
// dot, "localhost", or an IP address, with an optional port and path, and
// no user information.
//
// An entry that is neither gets an error of kind [KindInvalidURL] with a
// message for a person: "no scheme; did you mean https://foo/?",
// `unsupported scheme "htp"; did you mean https://example.com/?`.
func NormalizeInput(text string) (u string, bare bool, err error) {
	if b, ok := bareHostURL(text); ok {
		return b, true, nil
	}
	u, err = Normalize(text)
	if err == nil {
		return u, false, nil
	}
	return "", false, inputError(text, err)
}

// bareHostURL returns the https URL of text when it is a bare host.
func bareHostURL(text string) (string, bool) {
	t := trimURL(text)
	if t == "" || strings.Contains(t, "://") || IsURLArgument(t) || strings.ContainsAny(t, `\@ `) {
		return "", false
	}
	p, err := parseWHATWG(nil, "https://"+t)
	if err != nil || p.user != nil {
		return "", false
	}
	host := p.host
	if h, _, ok := strings.Cut(host, "]"); strings.HasPrefix(host, "[") && ok {
		host = h + "]"
	} else if i := strings.LastIndexByte(host, ':'); i >= 0 {
		host = host[:i]
	}
	// "3.5" or "12345" would be IPv4 addresses to a browser; as a bare
	// host only a dotted quad is one.
	orig, _, _ := strings.Cut(strings.SplitN(strings.SplitN(t, "?", 2)[0], "#", 2)[0], "/")
	if i := strings.LastIndexByte(orig, ':'); i >= 0 && !strings.HasPrefix(orig, "[") {
		orig = orig[:i]
	}
	if strings.Trim(orig, "0123456789.") == "" && strings.Count(orig, ".") != 3 {
		return "", false
	}
	_, ipErr := netip.ParseAddr(strings.Trim(host, "[]"))
	if !strings.Contains(host, ".") && host != "localhost" && ipErr != nil {
		return "", false
	}
	return p.String(), true
}

// isBareHostArgument tells whether a command-line argument that names no
// file is a bare host (see [NormalizeInput]). One that looks like a
// misspelt file name ("urls.txt", "list.csv") is not: the error naming
// the missing file helps more than a fetch of https://urls.txt/.
func isBareHostArgument(a string) bool {
	if _, ok := bareHostURL(a); !ok {
		return false
	}
	if strings.ContainsAny(a, "/:") {
		return true
	}
	switch strings.ToLower(path.Ext(a)) {
	case ".txt", ".csv", ".tsv", ".list", ".lst", ".json", ".jsonl", ".ndjson", ".log", ".dat", ".urls", ".gz", ".xml", ".html", ".md":
		return false
	}
	return true
}

// inputError rewrites the parse error of an input entry for a person:
// a missing scheme or a misspelt one gets a suggestion.
func inputError(text string, err error) error {
	t := trimURL(text)
	scheme, rest, ok := splitScheme(t)
	switch {
	case !ok:
		if _, err := Normalize("https://" + t); err == nil && !strings.HasPrefix(t, "/") {
			return newError(KindInvalidURL, text, fmt.Errorf("no scheme; did you mean https://%s?", t))
		}
		return newError(KindInvalidURL, text, errors.New("no scheme and no host: not a URL (want https://host/path, or host/path)"))
	case nearHTTP(strings.ToLower(scheme)):
		if u, err := Normalize("https://" + strings.TrimLeft(rest, `/\`)); err == nil {
			return newError(KindInvalidURL, text, fmt.Errorf("unsupported scheme %q; did you mean %s?", scheme, u))
		}
	}
	return err
}

// nearHTTP tells a misspelt http or https: one edit away from either.
func nearHTTP(s string) bool {
	return s != "http" && s != "https" && (editDistance(s, "http") <= 1 || editDistance(s, "https") <= 1)
}

// editDistance is the Levenshtein distance between a and b, bytes.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// HTTPForm is the http:// URL of a normalised https:// URL, for the
// fallback of a bare host.
func HTTPForm(u string) string { return "http://" + strings.TrimPrefix(u, "https://") }
