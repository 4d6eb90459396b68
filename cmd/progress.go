package cmd

import (
	"context"
	"fmt"
	"time"

	"github.com/schollz/progressbar/v3"

	"github.com/trawl-dev/trawl/crawler"
	"github.com/trawl-dev/trawl/structured"
)

// progressInterval is how often the progress bar is redrawn.
const progressInterval = 150 * time.Millisecond

// progressBar draws the run's progress on stderr from its Stats.
type progressBar struct {
	bar   *progressbar.ProgressBar
	stats *crawler.Stats
	total int // input entries counted, -1 when unknown
	done  structured.Event
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
	p.bar.Describe(terminalSafe(fmt.Sprintf("trawl: %d failed", s.Failed)))
	if p.total >= 0 && s.Duplicates > 0 {
		p.bar.ChangeMax(p.total - s.Duplicates) // the total counts unique URLs
	}
	p.bar.Set(s.Done)
}

// finish stops the redraw task and clears the bar, before the summary.
func (p *progressBar) finish(s crawler.Summary) {
	if p == nil {
		return
	}
	p.done.Set()
	p.bar.Exit() // no more redraws
	p.bar.Clear()
}
