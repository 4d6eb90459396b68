package warc

import (
	"encoding/json"
	"mime"
	"net/netip"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// SURT returns the Sort-friendly URI Reordering Transform of rawURL as
// pywb and the Wayback Machine key their indexes: scheme and "www."
// dropped, host labels reversed and joined by commas, then ")" and the
// path and query, lower-cased, with the query's parameters sorted.
// "https://www.Example.com:8080/a?b=2&a=1" becomes
// "com,example:8080)/a?a=1&b=2".
func SURT(rawURL string) string {
	u, err := url.Parse(rawURL)
	if err != nil || u.Host == "" {
		return strings.ToLower(rawURL)
	}
	host := strings.TrimPrefix(strings.ToLower(u.Hostname()), "www.")
	key := host // an IP literal stays as it is
	if _, err := netip.ParseAddr(host); err != nil {
		labels := strings.Split(host, ".")
		slices.Reverse(labels)
		key = strings.Join(labels, ",")
	}
	if p := u.Port(); p != "" && !(p == "80" && u.Scheme == "http") && !(p == "443" && u.Scheme == "https") {
		key += ":" + p
	}
	path := u.EscapedPath()
	if path == "" {
		path = "/"
	}
	key += ")" + path
	if u.RawQuery != "" {
		params := strings.Split(u.RawQuery, "&")
		slices.Sort(params)
		key += "?" + strings.Join(params, "&")
	}
	return strings.ToLower(key)
}

// cdxJSON is the JSON block of a CDXJ line, pywb's field names; numbers
// are strings as pywb writes them.
type cdxJSON struct {
	URL      string `json:"url"`
	Mime     string `json:"mime"`
	Status   string `json:"status,omitempty"`
	Digest   string `json:"digest,omitempty"`
	Length   string `json:"length"`
	Offset   string `json:"offset"`
	Filename string `json:"filename"`
}

// cdxEntry is the CDXJ line of a record but for where it is.
type cdxEntry struct {
	prefix string // key and timestamp
	j      cdxJSON
}

// cdxEntryOf returns the CDXJ entry of a response or revisit record
// whose HTTP head (nil when it has none) is head; false for other
// records.
func cdxEntryOf(r *Record, head *HTTPResponseHead) (cdxEntry, bool) {
	typ := r.Type()
	if typ != TypeResponse && typ != TypeRevisit {
		return cdxEntry{}, false
	}
	target := r.Header.Get("WARC-Target-URI")
	date, err := ParseDate(r.Header.Get("WARC-Date"))
	if err != nil || target == "" {
		return cdxEntry{}, false
	}
	j := cdxJSON{URL: target, Mime: "unk"}
	if head != nil {
		j.Status = strconv.Itoa(head.Status)
		if mt, _, err := mime.ParseMediaType(head.Header.Get("Content-Type")); err == nil {
			j.Mime = mt
		}
	}
	if typ == TypeRevisit {
		j.Mime = "warc/revisit"
	}
	j.Digest = strings.TrimPrefix(r.Header.Get("WARC-Payload-Digest"), SHA1+":")
	return cdxEntry{prefix: SURT(target) + " " + timestamp14(date) + " ", j: j}, true
}

// line is the entry's CDXJ line for the record placed at p in the file
// named file.
func (e cdxEntry) line(p Placement, file string) string {
	e.j.Length, e.j.Offset, e.j.Filename = strconv.FormatInt(p.Length, 10), strconv.FormatInt(p.Offset, 10), file
	b, _ := json.Marshal(e.j)
	return e.prefix + string(b)
}

// cdxLine returns the CDXJ line of a response or revisit record placed
// at p in the file named file; false for other records.
func cdxLine(r *Record, p Placement, file string) (string, bool) {
	head, _ := httpHeadOf(r)
	e, ok := cdxEntryOf(r, head)
	if !ok {
		return "", false
	}
	return e.line(p, file), true
}

// sortFiles sorts files by serial.
func sortFiles(fs []File) {
	slices.SortFunc(fs, func(a, b File) int { return a.Serial - b.Serial })
}

// timestamp14 is a CDX timestamp.
func timestamp14(t time.Time) string { return t.UTC().Format("20060102150405") }
