package structured

import (
	"context"
	"testing"

	"golang.org/x/sync/semaphore"
)

// The benchmarks compare Semaphore with golang.org/x/sync/semaphore.Weighted
// doing the same work: one permit taken and given back per operation.
// "contended" runs 4 goroutines per CPU on a single permit, so most
// acquisitions wait in the queue.

func BenchmarkSemaphore(b *testing.B) {
	ctx := context.Background()
	b.Run("uncontended", func(b *testing.B) {
		s := NewSemaphore(1)
		for b.Loop() {
			if err := s.Acquire(ctx); err != nil {
				b.Fatal(err)
			}
			_ = s.Release()
		}
	})
	b.Run("parallel-free", func(b *testing.B) {
		s := NewSemaphore(1 << 20)
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				_ = s.Acquire(ctx)
				_ = s.Release()
			}
		})
	})
	b.Run("contended", func(b *testing.B) {
		s := NewSemaphore(1)
		b.SetParallelism(4)
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				_ = s.Acquire(ctx)
				_ = s.Release()
			}
		})
	})
}

func BenchmarkXSyncWeighted(b *testing.B) {
	ctx := context.Background()
	b.Run("uncontended", func(b *testing.B) {
		s := semaphore.NewWeighted(1)
		for b.Loop() {
			if err := s.Acquire(ctx, 1); err != nil {
				b.Fatal(err)
			}
			s.Release(1)
		}
	})
	b.Run("parallel-free", func(b *testing.B) {
		s := semaphore.NewWeighted(1 << 20)
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				_ = s.Acquire(ctx, 1)
				s.Release(1)
			}
		})
	})
	b.Run("contended", func(b *testing.B) {
		s := semaphore.NewWeighted(1)
		b.SetParallelism(4)
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				_ = s.Acquire(ctx, 1)
				s.Release(1)
			}
		})
	})
}

func BenchmarkCapacityLimiter(b *testing.B) {
	ctx := context.Background()
	b.Run("uncontended", func(b *testing.B) {
		l := NewCapacityLimiter(1)
		borrower := new(Task)
		for b.Loop() {
			if err := l.AcquireOnBehalfOf(ctx, borrower); err != nil {
				b.Fatal(err)
			}
			_ = l.ReleaseOnBehalfOf(borrower)
		}
	})
}

func BenchmarkLock(b *testing.B) {
	ctx := context.Background()
	b.Run("uncontended", func(b *testing.B) {
		var l Lock
		for b.Loop() {
			_ = l.Lock(ctx)
			l.Unlock()
		}
	})
	b.Run("contended", func(b *testing.B) {
		var l Lock
		b.SetParallelism(4)
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				_ = l.Lock(ctx)
				l.Unlock()
			}
		})
	})
}
