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
	date := r.date
	if date.IsZero() {
		var err error
		if date, err = ParseDate(r.Header.Get("WARC-Date")); err != nil {
			return cdxEntry{}, false
		}
	}
	if target == "" {
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
	return string(e.appendLine(nil, p, file))
}

// appendLine appends the entry's CDXJ line for the record placed at p in
// the file named file to b: what json.Marshal writes of the entry's
// cdxJSON, written field by field (json.Marshal took a third of the CPU
// of a page's CDXJ line).
func (e cdxEntry) appendLine(b []byte, p Placement, file string) []byte {
	b = append(b, e.prefix...)
	b = append(b, `{"url":`...)
	b = appendJSONString(b, e.j.URL)
	b = append(b, `,"mime":`...)
	b = appendJSONString(b, e.j.Mime)
	if e.j.Status != "" {
		b = append(b, `,"status":`...)
		b = appendJSONString(b, e.j.Status)
	}
	if e.j.Digest != "" {
		b = append(b, `,"digest":`...)
		b = appendJSONString(b, e.j.Digest)
	}
	b = append(b, `,"length":"`...)
	b = strconv.AppendInt(b, p.Length, 10)
	b = append(b, `","offset":"`...)
	b = strconv.AppendInt(b, p.Offset, 10)
	b = append(b, `","filename":`...)
	b = appendJSONString(b, file)
	return append(b, '}')
}

// appendJSONString appends s as json.Marshal writes it: quoted as it is
// when it is printable ASCII without a character json.Marshal escapes,
// else by json.Marshal itself.
func appendJSONString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c > 0x7e || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			q, _ := json.Marshal(s)
			return append(b, q...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
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
func timestamp14(t time.Time) string {
	t = t.UTC()
	year, month, day := t.Date()
	if year < 0 || year > 9999 {
		return t.Format("20060102150405")
	}
	hour, minute, sec := t.Clock()
	var b [14]byte
	for i, v := range []int{year / 100, year % 100, int(month), day, hour, minute, sec} {
		b[2*i], b[2*i+1] = byte('0'+v/10), byte('0'+v%10)
	}
	return string(b[:])
}
