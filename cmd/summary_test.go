package cmd

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/trawl-dev/trawl/crawler"
	"github.com/trawl-dev/trawl/store"
)

// TestRunExitCode: the exit code of a run that ran is decided by whether
// it completed, not by the status of its URLs; --strict adds 4.
func TestRunExitCode(t *testing.T) {
	done := crawler.Summary{Done: 3, Failed: 1, Complete: true}
	maxTime := crawler.Summary{Done: 2, Stopped: true, Pending: 5}
	tests := []struct {
		name   string
		c      outcome
		strict bool
		want   int
		why    string
	}{
		{"completed with a failed URL", outcome{sum: done}, false, ExitOK, ""},
		{"--strict, completed with a failed URL", outcome{sum: done}, true, ExitFailedStrict, ""},
		{"--strict, completed without failures", outcome{sum: crawler.Summary{Done: 3, Complete: true}}, true, ExitOK, ""},
		{"--max-time left URLs", outcome{sum: maxTime}, true, ExitIncomplete, "stopped early by --max-time: 5 URLs"},
		{"signal", outcome{sum: maxTime, interrupted: true}, false, ExitInterrupted, "interrupted by a signal"},
		{"output failed", outcome{sum: done, err: errors.New("disk full")}, false, ExitIncomplete, "writing the output failed"},
		{"spill failed", outcome{sum: maxTime, err: fmt.Errorf("x: %w", store.ErrSpill)}, false, ExitIncomplete, "spilling the queue to disk failed: 5 URLs"},
		{"frontier lost", outcome{sum: done, err: fmt.Errorf("x: %w", store.ErrRedisUnreachable)}, false, ExitIncomplete, "lost the shared frontier"},
	}
	for _, tt := range tests {
		why := tt.c.incomplete()
		if got := runExitCode(why == "", tt.c.interrupted, tt.strict, tt.c.sum.Failed); got != tt.want {
			t.Errorf("%s: exit code %d, want %d", tt.name, got, tt.want)
		}
		if (tt.why == "") != (why == "") || !strings.HasPrefix(why, tt.why) {
			t.Errorf("%s: incomplete() = %q, want %q…", tt.name, why, tt.why)
		}
	}
}
