package cmd

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/trawl-dev/trawl/crawler"
)

// prettyTitleMax is the most runes of a title shown on a terminal line.
const prettyTitleMax = 100

// prettyOutput is the output on a terminal when no --format is given:
// one short line per URL, for a person rather than a program,
//
//	200  https://example.com/  Example Domain
//	404  https://example.com/missing
//	---  https://down.example/  connect: connection refused
//
// the status coloured by its class unless NO_COLOR is set. Everything in
// it that came from the input or the network passes [terminalSafe]. JSON
// Lines stay the format of pipes and files, and of --format jsonl.
type prettyOutput struct {
	sink  crawler.LineSink
	color bool
}

// Write implements [crawler.ResultWriter].
func (p *prettyOutput) Write(ctx context.Context, r *crawler.Result) error {
	return p.sink.Write(ctx, []byte(p.line(r)))
}

// Flush implements [crawler.ResultWriter].
func (p *prettyOutput) Flush(ctx context.Context) error { return p.sink.Flush(ctx) }

func (p *prettyOutput) line(r *crawler.Result) string {
	var b strings.Builder
	status := "---"
	if r.Status > 0 {
		status = fmt.Sprintf("%3d", r.Status)
	}
	b.WriteString(p.paint(statusColor(r), status))
	b.WriteString("  ")
	b.WriteString(terminalSafe(r.URL))
	if r.FinalURL != "" && r.FinalURL != r.URL {
		b.WriteString(" -> ")
		b.WriteString(terminalSafe(r.FinalURL))
	}
	if r.Title != "" {
		b.WriteString("  ")
		b.WriteString(terminalSafe(shorten(r.Title, prettyTitleMax)))
	}
	for _, name := range slices.Sorted(maps.Keys(r.Fields)) {
		fmt.Fprintf(&b, "  %s=%s", terminalSafe(name), terminalSafe(shorten(strings.Join(r.Fields[name], ","), prettyTitleMax)))
	}
	if r.Error != nil && !(r.Error.Kind == crawler.KindHTTP && r.Status > 0) { // the status says it
		b.WriteString("  ")
		b.WriteString(p.paint("31", terminalSafe(string(r.Error.Kind))))
		if r.Error.Message != "" {
			b.WriteString(": ")
			b.WriteString(terminalSafe(r.Error.Message))
		}
	}
	return b.String()
}

// statusColor is the SGR colour of a result's status: green 2xx, cyan
// 3xx, yellow 4xx, red 5xx and no response.
func statusColor(r *crawler.Result) string {
	switch {
	case r.Status >= 200 && r.Status < 300 && r.Error == nil:
		return "32"
	case r.Status >= 300 && r.Status < 400:
		return "36"
	case r.Status >= 400 && r.Status < 500:
		return "33"
	case r.Status >= 200 && r.Status < 300:
		return "33" // a page with an error (body too large, ...)
	}
	return "31"
}

func (p *prettyOutput) paint(sgr, s string) string {
	if !p.color {
		return s
	}
	return "\x1b[" + sgr + "m" + s + "\x1b[0m"
}

// shorten cuts s to at most n runes, marking the cut with "…".
func shorten(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	i, k := 0, 0
	for i = range s {
		if k == n-1 {
			break
		}
		k++
	}
	return s[:i] + "…"
}

// wantPretty tells whether the records go to the terminal as
// [prettyOutput]: stdout is a terminal, no -o, and neither --format nor
// --fields asks for a machine format.
func (o *RunOptions) wantPretty() bool {
	return o.Output == "" && o.IO.StdoutTTY && !o.formatSet && len(o.Fields) == 0 && len(o.addedFields) == 0
}

// prettyHint is what `trawl demo` prints last on a terminal: how to get
// the records in their machine form.
const prettyHint = "trawl: these lines are for reading; for JSON Lines pipe the output (trawl demo | jq .), add -o FILE or --format jsonl"
