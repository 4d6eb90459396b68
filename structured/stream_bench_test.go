package structured

import (
	"context"
	"sync"
	"testing"
)

// The memory stream benchmarks move b.N values from producers to consumers;
// each has a Go channel twin doing the same work, as the yardstick.

func BenchmarkMemoryStream(b *testing.B) {
	b.Run("buffered-64", func(b *testing.B) { benchStream(b, 64, 1, 1) })
	b.Run("rendezvous", func(b *testing.B) { benchStream(b, 0, 1, 1) })
	b.Run("4x4-buffered-64", func(b *testing.B) { benchStream(b, 64, 4, 4) })
	b.Run("rendezvous-cancellable", func(b *testing.B) { benchStreamCancellable(b, 0) })
}

func BenchmarkChannel(b *testing.B) {
	b.Run("buffered-64", func(b *testing.B) { benchChannel(b, 64, 1, 1) })
	b.Run("rendezvous", func(b *testing.B) { benchChannel(b, 0, 1, 1) })
	b.Run("4x4-buffered-64", func(b *testing.B) { benchChannel(b, 64, 4, 4) })
	b.Run("rendezvous-cancellable", func(b *testing.B) { benchChannelCancellable(b, 0) })
}

// benchShare splits n values between k workers.
func benchShare(n, k, i int) int {
	if i < n%k {
		return n/k + 1
	}
	return n / k
}

func benchStream(b *testing.B, size, producers, consumers int) {
	ctx := context.Background()
	tx, rx := NewMemoryStream[int](size)
	b.ReportAllocs()
	b.ResetTimer()
	var wg sync.WaitGroup
	for p := range producers {
		ptx := tx.Clone()
		wg.Go(func() {
			defer ptx.Close()
			for i := range benchShare(b.N, producers, p) {
				if err := ptx.Send(ctx, i); err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	tx.Close()
	for range consumers {
		crx := rx.Clone()
		wg.Go(func() {
			defer crx.Close()
			for {
				if _, err := crx.Receive(ctx); err != nil {
					return
				}
			}
		})
	}
	rx.Close()
	wg.Wait()
}

// benchChannel is benchStream's twin with plain channel operations: the
// strictest yardstick, as they cannot be cancelled.
func benchChannel(b *testing.B, size, producers, consumers int) {
	c := make(chan int, size)
	b.ReportAllocs()
	b.ResetTimer()
	var sends, wg sync.WaitGroup
	for p := range producers {
		sends.Go(func() {
			for i := range benchShare(b.N, producers, p) {
				c <- i
			}
		})
	}
	for range consumers {
		wg.Go(func() {
			for range c {
			}
		})
	}
	sends.Wait()
	close(c)
	wg.Wait()
}

// benchStreamCancellable moves b.N values from one producer to one consumer
// with a context that can be cancelled, as in a task, so that a waiting
// call has to watch it.
func benchStreamCancellable(b *testing.B, size int) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	tx, rx := NewMemoryStream[int](size)
	b.ReportAllocs()
	b.ResetTimer()
	var wg sync.WaitGroup
	wg.Go(func() {
		defer tx.Close()
		for i := range b.N {
			if err := tx.Send(ctx, i); err != nil {
				b.Error(err)
				return
			}
		}
	})
	for {
		if _, err := rx.Receive(ctx); err != nil {
			break
		}
	}
	wg.Wait()
}

// benchChannelCancellable is benchStreamCancellable's twin: channel
// operations in a select with the context.
func benchChannelCancellable(b *testing.B, size int) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	c := make(chan int, size)
	b.ReportAllocs()
	b.ResetTimer()
	var wg sync.WaitGroup
	wg.Go(func() {
		defer close(c)
		for i := range b.N {
			select {
			case c <- i:
			case <-ctx.Done():
				return
			}
		}
	})
	for done := false; !done; {
		select {
		case _, ok := <-c:
			done = !ok
		case <-ctx.Done():
			done = true
		}
	}
	wg.Wait()
}
