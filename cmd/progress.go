package cmd

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/schollz/progressbar/v3"

	"github.com/trawl-dev/trawl/crawler"
	"github.com/trawl-dev/trawl/structured"
)

// progressInterval is how often the progress bar is redrawn.
const progressInterval = 150 * time.Millisecond

// progressBar draws the run's progress on stderr from its Stats.
type progressBar struct {
	// mu orders the redraws, the messages written between them and the
	// final clear: nothing is written into a half-drawn bar line.
	mu    sync.Mutex
	bar   *progressbar.ProgressBar
	stats *crawler.Stats
	total int // input entries counted, -1 when unknown
	done  structured.Event
	ended bool
}

// progressAuto is --progress auto: draw the bar on a terminal stderr
// only when the records go where nobody reads them while trawl runs: to
// -o FILE (a regular file, or one still to be created) or to a stdout
// that is a regular file or /dev/null. A stdout on the terminal would mix
// records and bar fragments on one screen, and so would a pipe to a
// program that prints there (trawl fetch | jq). That pipe cannot be told
// from one into a file (| gzip > out.gz), so a pipe gets no bar either:
// when in doubt, no bar. --progress always draws it regardless.
func (o *RunOptions) progressAuto() bool {
	if !o.IO.StderrTTY {
		return false
	}
	if o.Output == "" {
		return o.IO.StdoutFile
	}
	st, err := os.Stat(o.Output)
	if errors.Is(err, os.ErrNotExist) {
		return true
	}
	if err != nil {
		return false
	}
	if st.Mode().IsRegular() {
		return true
	}
	null, err := os.Stat(os.DevNull)
	return err == nil && os.SameFile(st, null)
}

// startProgress starts a task in tg that redraws the bar until finish is
// called. A nil *progressBar (no bar wanted) is valid and does nothing.
func startProgress(ctx context.Context, tg *structured.TaskGroup, o *RunOptions, stats *crawler.Stats, total int) *progressBar {
	p := &progressBar{stats: stats, total: total}
	opts := []progressbar.Option{
		progressbar.OptionSetWriter(o.IO.ErrOut),
		progressbar.OptionSetDescription("trawl"),
		progressbar.OptionShowCount(),
		progressbar.OptionShowIts(),
		progressbar.OptionSetItsString("pages"),
		progressbar.OptionThrottle(100 * time.Millisecond),
		progressbar.OptionEnableColorCodes(!o.IO.NoColor),
		progressbar.OptionSetSpinnerChangeInterval(0), // we redraw; no goroutine of its own
		progressbar.OptionClearOnFinish(),
	}
	if total < 0 {
		opts = append(opts, progressbar.OptionSpinnerType(14))
	} else {
		opts = append(opts, progressbar.OptionSetWidth(30))
	}
	p.bar = progressbar.NewOptions(total, opts...)
	tg.StartSoon(func(ctx context.Context) error {
		for {
			timedOut, _ := structured.MoveOnAfter(ctx, progressInterval, p.done.Wait)
			if !timedOut {
				return nil
			}
			p.draw()
		}
	})
	return p
}

func (p *progressBar) draw() {
	s := p.stats.Snapshot(time.Now())
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ended {
		return
	}
	p.bar.Describe(terminalSafe(fmt.Sprintf("trawl: %d failed", s.Failed)))
	if p.total >= 0 && s.Duplicates > 0 {
		p.bar.ChangeMax(p.total - s.Duplicates) // the total counts unique URLs
	}
	p.bar.Set(s.Done)
}

// message clears the bar and runs write, which prints a message on the
// bar's stream; the next redraw draws the bar again below it. On a nil
// bar it just runs write.
func (p *progressBar) message(write func()) {
	if p == nil {
		write()
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.ended {
		p.bar.Clear()
	}
	write()
}

// finish stops the redraw task and clears the bar, before the summary.
func (p *progressBar) finish(s crawler.Summary) {
	if p == nil {
		return
	}
	p.done.Set()
	p.mu.Lock()
	defer p.mu.Unlock()
	p.ended = true
	p.bar.Exit() // no more redraws
	p.bar.Clear()
}
