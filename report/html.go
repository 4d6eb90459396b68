package report

import (
	"crypto/sha256"
	_ "embed"
	"encoding/base64"
	"fmt"
	"html/template"
	"io"
	"strconv"
	"strings"
	"time"
)

// MaxRows bounds the rows of each table of the HTML page; the JSON
// format lists every item.
const MaxRows = 1000

//go:embed report.html.tmpl
var pageTemplate string

// script is the page's only script: it sorts and filters the tables,
// reading nothing but the cells' text. It is ours, so it is trusted.
//
//go:embed report.js
var script string

// scriptHash is the script's CSP hash source.
var scriptHash = func() string {
	sum := sha256.Sum256([]byte(script))
	return "sha256-" + base64.StdEncoding.EncodeToString(sum[:])
}()

var page = template.Must(template.New("report").Funcs(template.FuncMap{
	"isHTTP":   isHTTP,
	"n":        thousands,
	"layout":   layout,
	"rows":     func(items []Item) []Item { return items[:min(len(items), MaxRows)] },
	"bytes":    humanBytes,
	"plural":   plural,
	"severity": func(s Severity) string { return string(s) },
	"top": func(id, title, unit string, stats []PageStat) topView {
		return topView{ID: id, Title: title, Unit: unit, Stats: stats[:min(len(stats), 20)]}
	},
	"change":  func(id, title string, c Change) changeView { return changeView{ID: id, Title: title, C: c} },
	"value":   formatValue,
	"hops":    func(chain []string) int { return max(len(chain)-1, 0) },
	"first10": func(urls []string) []string { return urls[:min(len(urls), 10)] },
	"cut":     cut,
}).Parse(pageTemplate))

// topView is a top list in the page.
type topView struct {
	ID, Title, Unit string
	Stats           []PageStat
}

// changeView is one kind of change in the comparison.
type changeView struct {
	ID, Title string
	C         Change
}

// formatValue writes a top list's value in its unit.
func formatValue(unit string, v int64) string {
	switch unit {
	case "Time":
		return thousands(v) + " ms"
	case "Size":
		return humanBytes(v)
	}
	return thousands(v)
}

// HTMLOptions are what the HTML page shows besides the report.
type HTMLOptions struct {
	// Generated is when the report was made; zero leaves it out.
	Generated time.Time
	// Version is trawl's version.
	Version string
}

// htmlPage is the template's data.
type htmlPage struct {
	*Report
	HTMLOptions
	Site       string
	Script     template.JS
	CSP        string
	Severities []sevCount
	Charts     []chart
	MaxRows    int
}

type sevCount struct {
	Severity Severity
	Count    int
	Checks   int
}

// WriteHTML writes rep as one self-contained HTML page.
func WriteHTML(w io.Writer, rep *Report, opts HTMLOptions) error {
	p := htmlPage{
		Report: rep, HTMLOptions: opts, Site: siteName(rep), MaxRows: MaxRows,
		Script: template.JS(script),
		CSP:    "default-src 'none'; style-src 'unsafe-inline'; img-src data:; script-src '" + scriptHash + "'; base-uri 'none'; form-action 'none'",
		Charts: charts(rep),
	}
	for _, s := range []Severity{Critical, High, Low} {
		sc := sevCount{Severity: s}
		for _, f := range rep.Findings {
			if f.Severity == s {
				sc.Count += f.Count
				sc.Checks++
			}
		}
		p.Severities = append(p.Severities, sc)
	}
	if err := page.Execute(w, p); err != nil {
		return fmt.Errorf("write html report: %w", err)
	}
	return nil
}

// siteName names the crawl in the page's title: the host of its first
// seed.
func siteName(rep *Report) string {
	if len(rep.Coverage.Seeds) > 0 {
		if h := hostOf(rep.Coverage.Seeds[0]); h != "" {
			return h
		}
	}
	return strings.Join(rep.Inputs, ", ")
}

// maxShown bounds the characters of a URL shown as text (the link keeps
// it whole), so that a table of hostile 8 KiB URLs stays readable and
// the page small.
const maxShown = 200

// cut shortens s to maxShown characters.
func cut(s string) string {
	if len(s) <= maxShown {
		return s
	}
	r := []rune(s)
	if len(r) <= maxShown {
		return s
	}
	return string(r[:maxShown-1]) + "…"
}

// isHTTP reports whether u may be a link in the page: http(s) only.
func isHTTP(u string) bool {
	l := strings.ToLower(u)
	return strings.HasPrefix(l, "http://") || strings.HasPrefix(l, "https://")
}

// layout returns the table layout of a check's items.
func layout(id string) string {
	switch id {
	case checkBroken4xx.ID, checkBroken5xx.ID, checkBrokenNetwork.ID:
		return "broken"
	case checkRedirectLoop.ID, checkRedirectError.ID, checkRedirectChain.ID:
		return "redirect"
	case checkTitleLong.ID, checkDescLong.ID:
		return "long"
	case checkTitleDup.ID, checkDescDup.ID, checkDupContent.ID:
		return "group"
	case checkCanonError.ID, checkCanonRedirect.ID, checkCanonNoindex.ID, checkCanonHost.ID:
		return "canonical"
	case checkNoindex.ID:
		return "noindex"
	case checkH1Multiple.ID:
		return "h1"
	}
	return "url"
}

// thousands writes n with thin separators: 1 234 567.
func thousands(n any) string {
	s := fmt.Sprint(n)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteString(",")
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

func humanBytes(n int64) string {
	switch {
	case n >= 1<<20:
		return strconv.FormatFloat(float64(n)/(1<<20), 'f', 1, 64) + " MiB"
	case n >= 1<<10:
		return strconv.FormatFloat(float64(n)/(1<<10), 'f', 1, 64) + " KiB"
	}
	return strconv.FormatInt(n, 10) + " B"
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// chart is a horizontal bar chart drawn as inline SVG.
type chart struct {
	Title  string
	Note   string
	Height int
	Bars   []bar
}

type bar struct {
	Label    string
	Count    int
	Y, TextY int
	W, NumX  float64
	Class    string
}

// The geometry of a chart, in SVG user units.
const (
	chartWidth = 360
	barX       = 96
	barMax     = 200
	barHeight  = 18
	barGap     = 6
)

func charts(rep *Report) []chart {
	o := rep.Overview
	cs := []chart{
		newChart("Pages by status", "", o.StatusClasses, func(l string) string { return "c" + l[:1] }),
		newChart("Response time", "pages that answered", o.ResponseTimes, nil),
		newChart("Link depth", "", o.Depths, nil),
	}
	if len(o.ErrorKinds) > 0 {
		cs = append(cs, newChart("Errors by kind", "", o.ErrorKinds[:min(len(o.ErrorKinds), 10)], func(string) string { return "cerr" }))
	}
	return cs
}

func newChart(title, note string, buckets []Bucket, class func(string) string) chart {
	most := 1
	for _, b := range buckets {
		most = max(most, b.Count)
	}
	c := chart{Title: title, Note: note, Height: len(buckets)*(barHeight+barGap) + barGap}
	for i, b := range buckets {
		y := barGap + i*(barHeight+barGap)
		w := float64(barMax) * float64(b.Count) / float64(most)
		if b.Count > 0 {
			w = max(w, 2)
		}
		cl := "cbar"
		if class != nil {
			cl = class(b.Label)
		}
		c.Bars = append(c.Bars, bar{Label: b.Label, Count: b.Count, Y: y, TextY: y + barHeight - 5, W: w, NumX: barX + w + 6, Class: cl})
	}
	return c
}
