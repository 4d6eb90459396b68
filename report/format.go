package report

import (
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"strings"
)

// Formats are the formats [Write] knows.
var Formats = []string{"html", "json", "md", "junit"}

// WriteJSON writes rep as indented JSON: the full lists.
func WriteJSON(w io.Writer, rep *Report) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(rep); err != nil {
		return fmt.Errorf("write json report: %w", err)
	}
	return nil
}

// mdRows bounds the rows of each Markdown table.
const mdRows = 100

// WriteMarkdown writes rep as Markdown: coverage, a summary table, and a
// table per finding of up to 100 rows.
func WriteMarkdown(w io.Writer, rep *Report) error {
	var b strings.Builder
	c := rep.Coverage
	fmt.Fprintf(&b, "# Site audit: %s\n\n", mdEscape(siteName(rep)))
	fmt.Fprintf(&b, "%d records (%s mode), %d HTML pages, %d hosts, deepest level %d, %d errors, %d blocked by robots.txt.\n",
		c.Records, c.Mode, c.HTMLPages, c.Hosts, c.MaxDepth, c.Errors, c.RobotsBlocked)
	if c.Incomplete {
		fmt.Fprintf(&b, "\n**Incomplete run**: %d URLs were cancelled.\n", c.Cancelled)
	}
	if c.NotCrawled > 0 {
		fmt.Fprintf(&b, "\n**Not the whole site**: %d same-host URLs are linked but were not crawled.\n", c.NotCrawled)
	}
	for _, n := range rep.Notes {
		fmt.Fprintf(&b, "\n- %s", mdEscape(n))
	}
	b.WriteString("\n\n")
	if c.Records == 0 {
		b.WriteString("**No records**: nothing to check.\n")
		_, err := io.WriteString(w, b.String())
		return err
	}
	if len(rep.Findings) == 0 {
		b.WriteString("**No issues found.**\n")
		_, err := io.WriteString(w, b.String())
		return err
	}
	b.WriteString("| Severity | Check | Count |\n|---|---|---:|\n")
	for _, f := range rep.Findings {
		fmt.Fprintf(&b, "| %s | %s (`%s`) | %d |\n", f.Severity, f.Title, f.ID, f.Count)
	}
	for _, f := range rep.Findings {
		fmt.Fprintf(&b, "\n## %s: %s (%d)\n\n%s\n\n| URL | Detail |\n|---|---|\n", f.Severity, f.Title, f.Count, mdEscape(f.Help))
		for _, it := range f.Items[:min(len(f.Items), mdRows)] {
			fmt.Fprintf(&b, "| %s | %s |\n", mdEscape(it.URL), mdEscape(detail(it)))
		}
		if f.Count > mdRows {
			fmt.Fprintf(&b, "\n%d more: see `--format json`.\n", f.Count-mdRows)
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// detail is an item's detail on one line of text.
func detail(it Item) string {
	var parts []string
	if it.Status != 0 {
		parts = append(parts, fmt.Sprintf("status %d", it.Status))
	}
	if it.Error != "" {
		parts = append(parts, it.Error)
	}
	if it.Referrer != "" {
		parts = append(parts, "first found on "+it.Referrer)
	}
	if it.LinkedFrom > 0 {
		parts = append(parts, fmt.Sprintf("linked from %d pages", it.LinkedFrom))
	}
	if len(it.Chain) > 0 {
		parts = append(parts, strings.Join(it.Chain, " → "))
	}
	if it.H1Count > 0 {
		parts = append(parts, fmt.Sprintf("%d h1", it.H1Count))
	}
	if it.Value != "" {
		parts = append(parts, fmt.Sprintf("%q", it.Value))
	}
	if it.Count > 0 {
		parts = append(parts, fmt.Sprintf("%d pages: %s", it.Count, strings.Join(it.URLs, ", ")))
	}
	return strings.Join(parts, "; ")
}

// mdEscape keeps s from breaking a Markdown table or becoming markup.
func mdEscape(s string) string {
	r := strings.NewReplacer(`\`, `\\`, "|", `\|`, "<", "&lt;", ">", "&gt;", "\n", " ", "\r", " ", "`", "\\`", "*", `\*`, "_", `\_`, "[", `\[`, "]", `\]`)
	return r.Replace(s)
}

// junit types: one test suite, a test case per check, a failure for
// each check that found something.
type junitSuites struct {
	XMLName xml.Name   `xml:"testsuites"`
	Suites  []junitSet `xml:"testsuite"`
}

type junitSet struct {
	Name     string      `xml:"name,attr"`
	Tests    int         `xml:"tests,attr"`
	Failures int         `xml:"failures,attr"`
	Cases    []junitCase `xml:"testcase"`
}

type junitCase struct {
	Name      string        `xml:"name,attr"`
	ClassName string        `xml:"classname,attr"`
	Failure   *junitFailure `xml:"failure,omitempty"`
}

type junitFailure struct {
	Message string `xml:"message,attr"`
	Type    string `xml:"type,attr"`
	Text    string `xml:",chardata"`
}

// WriteJUnit writes rep as JUnit XML: a test case per check that ran,
// failed when it found something, with up to 100 items in the failure.
func WriteJUnit(w io.Writer, rep *Report) error {
	found := map[string]Finding{}
	for _, f := range rep.Findings {
		found[f.ID] = f
	}
	set := junitSet{Name: "trawl report " + siteName(rep)}
	for _, id := range rep.Checked {
		jc := junitCase{Name: id, ClassName: "trawl.report"}
		if f, ok := found[id]; ok {
			var t strings.Builder
			for _, it := range f.Items[:min(len(f.Items), mdRows)] {
				fmt.Fprintf(&t, "%s %s\n", it.URL, detail(it))
			}
			jc.Failure = &junitFailure{Message: fmt.Sprintf("%s: %d %s", f.Title, f.Count, plural(f.Count, "item", "items")), Type: string(f.Severity), Text: t.String()}
			set.Failures++
		}
		set.Cases = append(set.Cases, jc)
	}
	set.Tests = len(set.Cases)
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return err
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(junitSuites{Suites: []junitSet{set}}); err != nil {
		return fmt.Errorf("write junit report: %w", err)
	}
	_, err := io.WriteString(w, "\n")
	return err
}
