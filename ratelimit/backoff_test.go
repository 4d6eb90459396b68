package ratelimit

import (
	"math/rand/v2"
	"testing"
	"time"
)

func TestBackoffCeiling(t *testing.T) {
	b := Backoff{Base: 100 * time.Millisecond, Max: time.Second}
	want := []time.Duration{100, 200, 400, 800, 1000, 1000}
	for i, w := range want {
		if got := b.Ceiling(i); got != w*time.Millisecond {
			t.Errorf("Ceiling(%d) = %v, want %v", i, got, w*time.Millisecond)
		}
	}
	if got := b.Ceiling(1 << 20); got != time.Second {
		t.Errorf("Ceiling of a huge attempt = %v, want Max", got)
	}
	if got := (Backoff{}).Ceiling(0); got != 500*time.Millisecond {
		t.Errorf("zero Backoff Ceiling(0) = %v, want 500ms", got)
	}
}

func TestBackoffFullJitter(t *testing.T) {
	b := Backoff{Base: 100 * time.Millisecond, Max: time.Second, Rand: rand.New(rand.NewPCG(1, 2))}
	for attempt := range 6 {
		ceiling := b.Ceiling(attempt)
		var low, high bool
		for range 1000 {
			d := b.Delay(attempt)
			if d < 0 || d > ceiling {
				t.Fatalf("Delay(%d) = %v outside [0, %v]", attempt, d, ceiling)
			}
			low = low || d < ceiling/4
			high = high || d > ceiling*3/4
		}
		if !low || !high {
			t.Errorf("Delay(%d) does not spread over [0, %v]", attempt, ceiling)
		}
	}
	// Seeded sources repeat.
	b1 := Backoff{Rand: rand.New(rand.NewPCG(7, 7))}
	b2 := Backoff{Rand: rand.New(rand.NewPCG(7, 7))}
	for i := range 10 {
		if b1.Delay(i) != b2.Delay(i) {
			t.Fatal("same seed, different delays")
		}
	}
}
