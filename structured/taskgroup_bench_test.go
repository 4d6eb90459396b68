package structured

import (
	"context"
	"sync"
	"testing"

	"golang.org/x/sync/errgroup"
)

const benchTasks = 1000

func BenchmarkSpawn1000(b *testing.B) {
	ctx := context.Background()
	work := func() {}
	b.Run("TaskGroup", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_ = WithTaskGroup(ctx, func(ctx context.Context, tg *TaskGroup) error {
				for range benchTasks {
					tg.StartSoon(func(context.Context) error { work(); return nil })
				}
				return nil
			})
		}
	})
	b.Run("WaitGroup", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			var wg sync.WaitGroup
			for range benchTasks {
				wg.Add(1)
				go func() { defer wg.Done(); work() }()
			}
			wg.Wait()
		}
	})
	b.Run("errgroup", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			g, _ := errgroup.WithContext(ctx)
			for range benchTasks {
				g.Go(func() error { work(); return nil })
			}
			_ = g.Wait()
		}
	})
}
