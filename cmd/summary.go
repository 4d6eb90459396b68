package cmd

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/trawl-dev/trawl/crawler"
	"github.com/trawl-dev/trawl/store"
)

// addReportFlags defines the flags about how a run reports its end: the
// exit code under --strict and the machine-readable summary.
func addReportFlags(fs *pflag.FlagSet, o *RunOptions) {
	fs.BoolVar(&o.Strict, "strict", false, "exit 4 when the run completed but some URLs failed (default: 0, whatever their status)")
	fs.StringVar(&o.SummaryJSON, "summary-json", "", "write the final counters as one JSON object to FILE (for cron and workflow wrappers)")
}

// outcome is how a run that got as far as running ended.
type outcome struct {
	sum         crawler.Summary
	err         error // the run or its output failed
	interrupted bool  // a signal stopped it
}

// incomplete says why the run did not complete, "" when it did: every URL
// has a record.
func (c outcome) incomplete() string {
	left := fmt.Sprintf("%d URLs queued or in flight left undone (--resume continues)", c.sum.Pending)
	switch {
	case c.interrupted:
		return "interrupted by a signal, stopped early: " + left
	case errors.Is(c.err, store.ErrRedisUnreachable):
		return "lost the shared frontier"
	case errors.Is(c.err, store.ErrSpill):
		return "spilling the queue to disk failed: " + left
	case c.err != nil:
		return "writing the output failed"
	case c.sum.Stopped && !c.sum.Complete:
		return "stopped early by --max-time: " + left
	case !c.sum.Complete:
		return left
	}
	return ""
}

// finishRun reports the end of a run — the summary on stderr, the
// --summary-json file — and returns the error that carries its exit
// code ([runExitCode]).
func finishRun(o *RunOptions, c outcome) error {
	why := c.incomplete()
	code := runExitCode(why == "", c.interrupted, o.Strict, c.sum.Failed)
	if !o.Quiet {
		printSummary(o.IO.ErrOut, c.sum, why, o.Resume)
	}
	err := c.err
	if o.SummaryJSON != "" {
		if werr := writeSummaryJSON(o.SummaryJSON, c.sum, why, code); werr != nil {
			err = errors.Join(err, fmt.Errorf("--summary-json: %w", werr))
			if code == ExitOK || code == ExitFailedStrict {
				code = ExitIncomplete
			}
		}
	}
	switch {
	case errors.Is(c.err, store.ErrRedisUnreachable):
		err = fmt.Errorf("stopped: lost the Redis frontier; the URLs not acknowledged stay pending for the other processes: %w", err)
	case c.err != nil:
		// The run itself failed (output unwritable, disk full): not a
		// usage error.
		err = fmt.Errorf("run: %w", err)
	}
	if code == ExitOK && err == nil {
		return nil
	}
	return &ExitError{Code: code, Err: err}
}

// printSummary writes the end-of-run summary; why says why the run is
// incomplete, "" when it completed.
// resumed says that the run continued another (--resume): URLs of the
// inputs done by that run are skipped with the duplicates.
func printSummary(w io.Writer, s crawler.Summary, why string, resumed bool) {
	urls := "URLs"
	if s.Done == 1 {
		urls = "URL"
	}
	fmt.Fprintf(w, "trawl: %d %s in %s (%.1f pages/s), %d failed, %s received\n",
		s.Done, urls, s.Elapsed.Round(time.Millisecond), s.PagesPerSecond(), s.Failed, humanBytes(s.Bytes))
	if len(s.ByStatus) > 0 {
		fmt.Fprintf(w, "  by status: %s\n", joinCounts(s.ByStatus))
	}
	if len(s.ByKind) > 0 {
		fmt.Fprintf(w, "  by error:  %s\n", joinCounts(kindCounts(s.ByKind)))
	}
	if len(s.ByChange) > 0 {
		fmt.Fprintf(w, "  by change: %s\n", joinCounts(s.ByChange))
	}
	if s.Rendered > 0 {
		fmt.Fprintf(w, "  rendered:  %d pages in a browser", s.Rendered)
		if s.RenderTimeouts > 0 {
			fmt.Fprintf(w, ", %d cut short by --render-timeout", s.RenderTimeouts)
		}
		fmt.Fprintln(w)
	}
	lines := "lines"
	if s.InputLines == 1 {
		lines = "line"
	}
	switch {
	case s.Duplicates > 0 && resumed:
		fmt.Fprintf(w, "  input:     %d %s read, %d skipped (done before --resume, or duplicates)\n", s.InputLines, lines, s.Duplicates)
	case s.Duplicates > 0:
		fmt.Fprintf(w, "  input:     %d %s read, %d duplicates skipped\n", s.InputLines, lines, s.Duplicates)
	}
	if why != "" {
		fmt.Fprintf(w, "trawl: incomplete: %s\n", why)
		return
	}
	fmt.Fprintf(w, "trawl: completed: every URL has a record\n")
}

func kindCounts(m map[crawler.Kind]int) map[string]int {
	kinds := make(map[string]int, len(m))
	for k, n := range m {
		kinds[string(k)] = n
	}
	return kinds
}

func joinCounts(m map[string]int) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s %d", terminalSafe(k), m[k])
	}
	return strings.Join(parts, ", ")
}

// SummaryJSON is what --summary-json writes: the final counters of a run,
// one JSON object. Its field names are a public format.
type SummaryJSON struct {
	Complete       bool           `json:"complete"`                  // every URL has a record
	Reason         string         `json:"reason,omitempty"`          // why not, when not complete
	ExitCode       int            `json:"exit_code"`                 // the exit code of the run
	URLs           int            `json:"urls"`                      // records written
	Failed         int            `json:"failed"`                    // records with an error
	Pending        int            `json:"pending"`                   // URLs queued or in flight left undone
	ByStatus       map[string]int `json:"by_status"`                 // records by status class: 2xx, 3xx, 4xx, 5xx, none
	ByError        map[string]int `json:"by_error"`                  // failures by error kind
	ByChange       map[string]int `json:"by_change,omitempty"`       // with --since: records by change (new, changed, unchanged, gone)
	Rendered       int            `json:"rendered,omitempty"`        // pages rendered in a browser (--render)
	RenderTimeouts int            `json:"render_timeouts,omitempty"` // of which --render-timeout cut the wait short
	InputLines     int            `json:"input_lines"`               // entries read from the inputs
	Duplicates     int            `json:"duplicates"`                // input entries skipped as already seen
	Bytes          int64          `json:"bytes"`                     // body bytes received
	DurationMS     int64          `json:"duration_ms"`               // how long the run took
	PagesPerSecond float64        `json:"pages_per_second"`          // URLs over duration
	FinishedAt     string         `json:"finished_at"`               // RFC 3339, UTC
	Interrupted    bool           `json:"interrupted,omitempty"`     // a signal stopped the run
}

// writeSummaryJSON writes the summary to path, whole or not at all: into
// a temporary file next to it, renamed over it. A path that is not a
// regular file (/dev/stdout, a pipe) is written directly.
func writeSummaryJSON(path string, s crawler.Summary, why string, code int) error {
	doc := SummaryJSON{
		Complete: why == "", Reason: why, ExitCode: code,
		URLs: s.Done, Failed: s.Failed, Pending: s.Pending,
		ByStatus: s.ByStatus, ByError: kindCounts(s.ByKind), ByChange: s.ByChange,
		Rendered: s.Rendered, RenderTimeouts: s.RenderTimeouts,
		InputLines: s.InputLines, Duplicates: s.Duplicates, Bytes: s.Bytes,
		DurationMS: s.Elapsed.Milliseconds(), PagesPerSecond: s.PagesPerSecond(),
		FinishedAt:  time.Now().UTC().Format("2006-01-02T15:04:05.000Z07:00"),
		Interrupted: code == ExitInterrupted,
	}
	if doc.ByStatus == nil {
		doc.ByStatus = map[string]int{}
	}
	b, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		return err
	}
	b = append(b, '\n')
	if st, err := os.Stat(path); err == nil && !st.Mode().IsRegular() {
		return os.WriteFile(path, b, 0o644)
	}
	return writeFileWhole(path, b)
}

// writeFileWhole writes data to path whole or not at all: into a
// temporary file next to it (mode 0644), synced, renamed over it.
func writeFileWhole(path string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), filepath.Base(path)+".*.tmp")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name()) // after a successful rename, a no-op
	_, err = tmp.Write(data)
	if err == nil {
		err = tmp.Chmod(0o644)
	}
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
