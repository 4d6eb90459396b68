package crawler

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// ErrLastmod is the error of a sitemap <lastmod> that is not a W3C
// Datetime.
var ErrLastmod = errors.New("not a W3C Datetime (YYYY, YYYY-MM, YYYY-MM-DD, or YYYY-MM-DDThh:mm[:ss[.s]] and a zone, Z or ±hh:mm)")

// latestZone is how far behind UTC the latest time zone is (UTC−12): a
// date without a time ends there last.
const latestZone = 12 * time.Hour

// lastmodForms are the W3C Datetime forms (https://www.w3.org/TR/NOTE-datetime)
// a sitemap's <lastmod> may take, with the span of time each denotes.
var lastmodForms = []struct {
	layout string
	span   func(t time.Time) time.Time // the end of the span that starts at t
}{
	{"2006", func(t time.Time) time.Time { return t.AddDate(1, 0, 0).Add(latestZone) }},
	{"2006-01", func(t time.Time) time.Time { return t.AddDate(0, 1, 0).Add(latestZone) }},
	{"2006-01-02", func(t time.Time) time.Time { return t.AddDate(0, 0, 1).Add(latestZone) }},
	{"2006-01-02T15:04Z07:00", func(t time.Time) time.Time { return t.Add(time.Minute) }},
	{"2006-01-02T15:04:05Z07:00", func(t time.Time) time.Time { return t.Add(time.Second) }},
}

// ParseLastmod reads a sitemap's <lastmod>, a W3C Datetime, as the span
// of time it names: as precise as it is written, so "2026-12-01" is the
// whole day (in any time zone: it ends at 12:00 UTC the next day, in the
// latest zone), "2026-12-01T10:30+01:00" a minute, a time with seconds
// (and fractions of one) a second. A page modified at that
// time was modified before end. A time of day must carry its zone (Z or
// ±hh:mm), as the W3C note says; anything else fails with [ErrLastmod].
func ParseLastmod(s string) (start, end time.Time, err error) {
	s = strings.TrimSpace(s)
	// Most precise first: a sitemap's lastmod is mostly a time with
	// seconds, and a failed parse costs an error. A text parses in one
	// form only, so the order changes nothing else.
	for _, f := range slices.Backward(lastmodForms) {
		if t, err := time.Parse(f.layout, s); err == nil {
			return t, f.span(t), nil
		}
	}
	return time.Time{}, time.Time{}, fmt.Errorf("lastmod %q: %w", s, ErrLastmod)
}
