package report

import (
	"fmt"
	"strings"
)

// Severity ranks a finding: [Critical], [High] or [Low].
type Severity string

// The severities, worst first.
const (
	Critical Severity = "critical"
	High     Severity = "high"
	Low      Severity = "low"
)

// rank orders severities: higher is worse.
func (s Severity) rank() int {
	switch s {
	case Critical:
		return 3
	case High:
		return 2
	case Low:
		return 1
	}
	return 0
}

// AtLeast reports whether s is as bad as min or worse.
func (s Severity) AtLeast(min Severity) bool { return s.rank() >= min.rank() }

// ParseSeverity returns the severity named s ("critical", "high" or
// "low", any case).
func ParseSeverity(s string) (Severity, error) {
	v := Severity(strings.ToLower(s))
	if v.rank() == 0 {
		return "", fmt.Errorf("severity %q: want critical, high or low", s)
	}
	return v, nil
}

// Report is what the checks found in one or more crawl outputs. Its JSON
// form is the report's JSON format.
type Report struct {
	// Inputs are the files read, in order.
	Inputs []string `json:"inputs"`
	// Coverage says what the crawl covered and where it stopped.
	Coverage Coverage `json:"coverage"`
	// Overview holds the distributions drawn as charts.
	Overview Overview `json:"overview"`
	// Findings lists every check that found something, worst first.
	Findings []Finding `json:"findings"`
	// Checked lists the IDs of the checks that ran, found something or not.
	Checked []string `json:"checked"`
	// Notes says what could not be checked, and why.
	Notes []string `json:"notes,omitempty"`
	// Slowest, Largest and Deepest are the top pages by elapsed time, by
	// size and by link depth.
	Slowest []PageStat `json:"slowest"`
	Largest []PageStat `json:"largest"`
	Deepest []PageStat `json:"deepest"`
	// Compare is the comparison with an older crawl (--compare).
	Compare *Comparison `json:"compare,omitempty"`
}

// Worst returns the worst severity among the findings, "" when none.
func (r *Report) Worst() Severity {
	var w Severity
	for _, f := range r.Findings {
		if f.Severity.rank() > w.rank() {
			w = f.Severity
		}
	}
	return w
}

// Coverage describes the crawl the report is about.
type Coverage struct {
	// Mode is "crawl" when the records come from trawl crawl (some page
	// was discovered), "list" otherwise.
	Mode string `json:"mode"`
	// Records counts the records read; Duplicates those skipped because
	// their URL came earlier; Invalid the input lines that were no URL.
	Records    int `json:"records"`
	Duplicates int `json:"duplicates,omitempty"`
	Invalid    int `json:"invalid,omitempty"`
	// Seeds are the URLs at depth 0 (the first ones, up to 20);
	// SeedCount counts them all.
	Seeds     []string `json:"seeds"`
	SeedCount int      `json:"seed_count"`
	// Hosts counts the distinct hosts fetched; HostNames are the first
	// ones, sorted (up to 10).
	Hosts     int      `json:"hosts"`
	HostNames []string `json:"host_names"`
	// HTMLPages counts the successful HTML pages, which the content checks
	// look at.
	HTMLPages int `json:"html_pages"`
	// MaxDepth is the deepest link depth reached.
	MaxDepth int `json:"max_depth"`
	// Errors counts records with an error, RobotsBlocked those robots.txt
	// kept trawl from, OutOfScope redirects that left the scope,
	// Cancelled those the run stopped before finishing.
	Errors        int `json:"errors"`
	RobotsBlocked int `json:"robots_blocked"`
	OutOfScope    int `json:"out_of_scope"`
	Cancelled     int `json:"cancelled"`
	// LinksTruncated counts pages whose links were cut by --max-links.
	LinksTruncated int `json:"links_truncated"`
	// NotCrawled counts the same-host URLs that crawled pages link to
	// but that have no record: left out by --depth, --max-pages, the
	// scope or an interruption (crawl mode only).
	NotCrawled int `json:"not_crawled"`
	// OffHost counts the URLs on other hosts that crawled pages link to
	// and that have no record: outside the crawl's scope.
	OffHost int `json:"off_host"`
	// Incomplete is true when the run stopped early (cancelled records);
	// Truncated when anything above says the crawl did not see the whole
	// site, which makes claims about what is absent unsafe.
	Incomplete bool `json:"incomplete"`
	Truncated  bool `json:"truncated"`
	// First and Last are the earliest and latest fetch times.
	First string `json:"first_fetch,omitempty"`
	Last  string `json:"last_fetch,omitempty"`
}

// Overview holds the distributions of the overview charts.
type Overview struct {
	StatusClasses []Bucket `json:"status_classes"`
	ErrorKinds    []Bucket `json:"error_kinds"`
	Depths        []Bucket `json:"depths"`
	ResponseTimes []Bucket `json:"response_times"`
}

// Bucket is one bar of a chart.
type Bucket struct {
	Label string `json:"label"`
	Count int    `json:"count"`
}

// Finding is what one check found.
type Finding struct {
	Check
	// Count is the number of items found, even past the ones listed.
	Count int `json:"count"`
	// Items are the items, up to the builder's limit, in a stable order.
	Items []Item `json:"items"`
	// Truncated is true when Items holds fewer than Count.
	Truncated bool `json:"truncated,omitempty"`
}

// Item is one occurrence of a finding; which fields are set depends on
// the check.
type Item struct {
	// ID is stable across runs: the check's ID and a hash of what the
	// item is about (its URL, or the duplicated value).
	ID string `json:"id"`
	// URL is the page concerned (for a group: its first page).
	URL string `json:"url,omitempty"`
	// Status is the page's HTTP status; Error its error kind.
	Status int    `json:"status,omitempty"`
	Error  string `json:"error,omitempty"`
	// Referrer is the page the URL was first found on; LinkedFrom the
	// number of crawled pages that link to it.
	Referrer   string `json:"referrer,omitempty"`
	LinkedFrom int    `json:"linked_from,omitempty"`
	// Chain is every hop of a redirect, the URL first.
	Chain []string `json:"chain,omitempty"`
	// Value is the value at fault: a title, a description, a canonical
	// URL; Length its length in characters.
	Value  string `json:"value,omitempty"`
	Length int    `json:"length,omitempty"`
	// Count and URLs, for a group of duplicates: its size and its pages
	// (the first ones).
	Count int      `json:"count,omitempty"`
	URLs  []string `json:"urls,omitempty"`
	// H1Count is the number of <h1> elements of the page (h1-multiple).
	H1Count int `json:"h1_count,omitempty"`
}

// PageStat is a page in a top list.
type PageStat struct {
	URL   string `json:"url"`
	Value int64  `json:"value"`
}

// Comparison is how the crawl differs from an older one.
type Comparison struct {
	Old           []string `json:"old"`
	Added         Change   `json:"added"`
	Removed       Change   `json:"removed"`
	StatusChanged Change   `json:"status_changed"`
	TitleChanged  Change   `json:"title_changed"`
}

// Change is one kind of difference: how many, and the first ones.
type Change struct {
	Count int    `json:"count"`
	Items []Item `json:"items"`
}
