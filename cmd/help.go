package cmd

import (
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/trawl-dev/trawl/crawler"
)

// flagGroups order the flags of fetch, crawl and demo in their help by
// purpose. A flag in no group is listed under "Other flags".
var flagGroups = []struct {
	title string
	names []string
}{
	{"Input (URLs, files of URLs, - or piped standard input)", []string{"no-fallback-http"}},
	{"Output", []string{"output", "format", "fields", "select", "content-selector", "exclude-selector", "markdown-links", "store", "output-dir", "csv-raw", "max-links", "progress", "quiet", "summary-json", "strict"}},
	{"Requests", []string{"timeout", "retries", "max-body", "header", "user-agent", "proxy", "cookies", "sensitive-header", "location-trusted", "deny-private"}},
	{"Politeness", []string{"concurrency", "per-host", "rate", "burst", "no-robots", "max-retry-after", "queue-memory", "spill-dir"}},
	{"Crawl", []string{"scope", "include", "exclude", "depth", "max-pages", "sitemap"}},
	{"Cron & resume", []string{"resume", "lock", "max-time", "grace"}},
	{"JavaScript pages (headless Chromium)", []string{"render", "render-wait", "render-timeout", "render-tabs", "render-recycle", "render-block", "screenshot", "full-page", "chrome"}},

	{"Archiving (WARC)", []string{"warc", "warc-max-size", "warc-digest", "warc-cdx", "warc-compress", "warc-no-compress", "warc-keep-credentials", "warc-header"}},
	{"Shared run (several processes, one Redis frontier)", []string{"frontier", "run"}},
	{"Sample site", []string{"pages", "seed"}},
}

// flagsBlock is the part of cobra's usage template that lists the local
// flags in one block.
const flagsBlock = `{{if .HasAvailableLocalFlags}}

Flags:
{{.LocalFlags.FlagUsages | trimTrailingWhitespaces}}{{end}}`

func init() {
	cobra.AddTemplateFunc("groupedFlagUsages", groupedFlagUsages)
}

// groupHelp makes c's help list its flags in [flagGroups], and completes
// the values of the flags that take a fixed set.
func groupHelp(c *cobra.Command) {
	tmpl := c.UsageTemplate()
	if strings.Contains(tmpl, flagsBlock) {
		c.SetUsageTemplate(strings.Replace(tmpl, flagsBlock, `{{if .HasAvailableLocalFlags}}{{groupedFlagUsages .}}{{end}}`, 1))
	}
	complete := func(flag string, values ...string) {
		if c.Flags().Lookup(flag) != nil {
			_ = c.RegisterFlagCompletionFunc(flag, cobra.FixedCompletions(values, cobra.ShellCompDirectiveNoFileComp))
		}
	}
	complete("format", "jsonl", "csv")
	complete("progress", "auto", "always", "never")
	complete("scope", crawler.ScopeModeNames()...)
	if c.Flags().Lookup("fields") != nil {
		_ = c.RegisterFlagCompletionFunc("fields", completeFields)
	}
}

// groupedFlagUsages lists c's local flags under the titles of
// [flagGroups], aligned as one table.
func groupedFlagUsages(c *cobra.Command) string {
	local := c.LocalFlags()
	all := pflag.NewFlagSet(c.Name(), pflag.ContinueOnError)
	all.SortFlags = false
	var titles []string // the title before each flag, or ""
	last := ""
	add := func(title string, f *pflag.Flag) {
		if f == nil || f.Hidden || all.Lookup(f.Name) != nil {
			return
		}
		all.AddFlag(f)
		if title == last {
			titles = append(titles, "")
			return
		}
		titles, last = append(titles, title), title
	}
	for _, g := range flagGroups {
		for _, n := range g.names {
			add(g.title, local.Lookup(n))
		}
	}
	var rest []*pflag.Flag
	local.VisitAll(func(f *pflag.Flag) { rest = append(rest, f) })
	for _, f := range rest {
		if all.Lookup(f.Name) == nil && !f.Hidden {
			add("Other flags", f)
		}
	}
	lines := strings.Split(strings.TrimRight(all.FlagUsages(), "\n"), "\n")
	if len(lines) != len(titles) { // a usage of several lines: no groups
		return "\n\nFlags:\n" + strings.TrimRight(local.FlagUsages(), " \n")
	}
	var b strings.Builder
	for i, l := range lines {
		if titles[i] != "" {
			fmt.Fprintf(&b, "\n\n%s:", titles[i])
		}
		b.WriteString("\n" + strings.TrimRight(l, " "))
	}
	return b.String()
}

// completeFields completes --fields, a comma-separated list: the names
// not yet given after the last comma, in the form of the names before it
// (name, or +name to add to the default fields); both forms first.
func completeFields(c *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
	i := strings.LastIndexByte(toComplete, ',')
	given := strings.Split(toComplete[:i+1], ",")
	var forms []string
	switch {
	case i < 0:
		forms = []string{"", "+"}
	case isAddForm(given):
		forms = []string{"+"}
	default:
		forms = []string{""}
	}
	var out []string
	for _, form := range forms {
		for _, n := range append(slices.Clone(crawler.OutputFields), "error_kind", "error_message") {
			if n := form + n; !slices.Contains(given, n) && strings.HasPrefix(toComplete[:i+1]+n, toComplete) {
				out = append(out, toComplete[:i+1]+n)
			}
		}
	}
	return out, cobra.ShellCompDirectiveNoFileComp | cobra.ShellCompDirectiveNoSpace
}

// unknownFlag matches pflag's errors for a flag it does not know.
var unknownFlag = regexp.MustCompile(`^unknown (?:shorthand )?flag: (?:--([^ =]+)|'(.)' in -)`)

// flagError is the usage error for a flag that did not parse: a flag
// that does not exist gets the closest one as a suggestion, and where to
// find them all.
func flagError(c *cobra.Command, err error) error {
	m := unknownFlag.FindStringSubmatch(err.Error())
	if m == nil {
		return err
	}
	hint := fmt.Sprintf("%s --help lists the flags", c.CommandPath())
	if name := m[1]; name != "" {
		if s := closestFlag(c, name); s != "" {
			return fmt.Errorf("%w; did you mean --%s? (%s)", err, s, hint)
		}
	}
	return fmt.Errorf("%w (%s)", err, hint)
}

// closestFlag is the visible flag of c nearest to name: one it starts,
// or one at most two edits away; "" when none is.
func closestFlag(c *cobra.Command, name string) string {
	best, bestD := "", 3
	c.Flags().VisitAll(func(f *pflag.Flag) {
		if f.Hidden {
			return
		}
		d := levenshtein(name, f.Name)
		if strings.HasPrefix(f.Name, name) && len(name) >= 3 {
			d = min(d, 1)
		}
		if d < bestD {
			best, bestD = f.Name, d
		}
	})
	return best
}

// levenshtein is the edit distance between a and b, bytes.
func levenshtein(a, b string) int {
	prev, cur := make([]int, len(b)+1), make([]int, len(b)+1)
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
