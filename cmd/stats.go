package cmd

import (
	"context"
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/trawl-dev/trawl/store"
)

// StatsOptions are the flags of `trawl stats`.
type StatsOptions struct {
	IO       *IOStreams
	Frontier string
	Run      string
}

// NewCmdStats returns `trawl stats`: the shared statistics of a run on a
// Redis frontier. runF, when not nil, replaces the run function (tests).
func NewCmdStats(io *IOStreams, runF func(context.Context, *StatsOptions) error) *cobra.Command {
	o := &StatsOptions{IO: io}
	c := &cobra.Command{
		Use:   "stats --frontier redis://host:port/db --run NAME",
		Short: "Show the statistics of a run shared on Redis",
		Long: `Show the statistics that every process of a run on a Redis frontier adds
to: results done and failed (by error kind), URLs queued or in flight,
entries taken and not yet acknowledged, and the processes alive now.
A process that died after writing a result but before acknowledging it
makes that URL count twice: the counts are at least once, like the
union of the outputs.`,
		Example: `  trawl stats --frontier redis://127.0.0.1:6379/0 --run nightly`,
		Args:    cobra.NoArgs,
		RunE: func(c *cobra.Command, args []string) error {
			if !isRedisURL(o.Frontier) {
				return usageError("--frontier %q: want redis://[user:pass@]host:port/db", o.Frontier)
			}
			if o.Run == "" {
				return usageError("--run NAME is required: the name printed when the run started, or given with --run")
			}
			if runF != nil {
				return runF(c.Context(), o)
			}
			return runStats(c.Context(), o)
		},
	}
	c.Flags().StringVar(&o.Frontier, "frontier", "", "the Redis server of the run: redis://[user:pass@]host:port/db")
	c.Flags().StringVar(&o.Run, "run", "", "name of the run")
	return c
}

func runStats(ctx context.Context, o *StatsOptions) error {
	s, err := store.ReadRunStats(ctx, o.Frontier, o.Run)
	if errors.Is(err, store.ErrRedisUnreachable) {
		return usageError("--frontier %s: %v", redactURL(o.Frontier), err)
	}
	if err != nil {
		return fmt.Errorf("stats: %w", err)
	}
	fmt.Fprintf(o.IO.Out, "run:       %s\n%s", terminalSafe(o.Run), terminalSafeLines(fmt.Sprint(s)))
	return nil
}
