package structured

import (
	"context"
	"time"
)

// Sleep waits for d, or until ctx is done, and then returns ctx.Err(): nil
// when the full time passed. A d of zero or less returns ctx.Err() at
// once. It is AnyIO's sleep: a checkpoint that cancellation interrupts.
func Sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
