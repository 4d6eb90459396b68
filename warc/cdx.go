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

// cdxLine returns the CDXJ line of a response or revisit record placed at
// p in the file named file; false for other records.
func cdxLine(r *Record, p Placement, file string) (string, bool) {
	typ := r.Type()
	if typ != TypeResponse && typ != TypeRevisit {
		return "", false
	}
	target := r.Header.Get("WARC-Target-URI")
	date, err := ParseDate(r.Header.Get("WARC-Date"))
	if err != nil || target == "" {
		return "", false
	}
	j := cdxJSON{URL: target, Mime: "unk", Length: strconv.FormatInt(p.Length, 10), Offset: strconv.FormatInt(p.Offset, 10), Filename: file}
	if head, _, err := SplitHTTP(r.Block); err == nil {
		if h, err := ParseHTTPResponse(head); err == nil {
			j.Status = strconv.Itoa(h.Status)
			if mt, _, err := mime.ParseMediaType(h.Header.Get("Content-Type")); err == nil {
				j.Mime = mt
			}
		}
	}
	if typ == TypeRevisit {
		j.Mime = "warc/revisit"
	}
	j.Digest = strings.TrimPrefix(r.Header.Get("WARC-Payload-Digest"), SHA1+":")
	b, _ := json.Marshal(j)
	return SURT(target) + " " + timestamp14(date) + " " + string(b), true
}

// sortCDX sorts CDXJ lines as pywb expects: by key and timestamp, byte
// order.
func sortCDX(lines []string) { slices.Sort(lines) }

// sortFiles sorts files by serial.
func sortFiles(fs []File) {
	slices.SortFunc(fs, func(a, b File) int { return a.Serial - b.Serial })
}

// timestamp14 is a CDX timestamp.
func timestamp14(t time.Time) string { return t.UTC().Format("20060102150405") }
