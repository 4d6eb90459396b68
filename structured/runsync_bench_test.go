package structured

import (
	"context"
	"testing"
)

//go:noinline
func benchBlockingCall(context.Context) (int, error) { return 1, nil }

// BenchmarkRunSyncOverhead compares one RunSync call with the two things it
// stands for: calling fn directly, and a bare goroutine handing the result
// back on a channel. The difference is the price of the limiter and of the
// panic and cancellation handling.
func BenchmarkRunSyncOverhead(b *testing.B) {
	ctx := context.Background()
	b.Run("direct", func(b *testing.B) {
		for b.Loop() {
			if _, err := benchBlockingCall(ctx); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("goroutine+channel", func(b *testing.B) {
		for b.Loop() {
			ch := make(chan int, 1)
			go func() {
				v, _ := benchBlockingCall(ctx)
				ch <- v
			}()
			<-ch
		}
	})
	b.Run("RunSync", func(b *testing.B) {
		l := NewCapacityLimiter(DefaultWorkerTokens)
		for b.Loop() {
			if _, err := RunSync(ctx, benchBlockingCall, WithLimiter(l)); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("RunSync/parallel", func(b *testing.B) {
		l := NewCapacityLimiter(DefaultWorkerTokens)
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if _, err := RunSync(ctx, benchBlockingCall, WithLimiter(l)); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
	b.Run("RunSync/abandon", func(b *testing.B) {
		l := NewCapacityLimiter(DefaultWorkerTokens)
		for b.Loop() {
			if _, err := RunSync(ctx, benchBlockingCall, WithLimiter(l), AbandonOnCancel()); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkFileLines measures streaming lines through RunSync-offloaded
// reads of 64 KiB.
func BenchmarkFileLines(b *testing.B) {
	name := b.TempDir() + "/lines.txt"
	line := "https://example.com/some/path/to/a/page?with=query\n"
	content := make([]byte, 0, 10000*len(line))
	for range 10000 {
		content = append(content, line...)
	}
	if err := WriteFile(b.Context(), name, content, 0o644); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(content)))
	for b.Loop() {
		f, err := OpenFile(b.Context(), name, 0, 0)
		if err != nil {
			b.Fatal(err)
		}
		for _, err := range f.Lines(b.Context()) {
			if err != nil {
				b.Fatal(err)
			}
		}
		f.Close(b.Context())
	}
}
