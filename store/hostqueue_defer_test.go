package store

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"testing/synctest"
	"time"

	"github.com/trawl-dev/trawl/structured"
)

// A deferred request is handed out again when due, at the front of its
// host's queue (ahead of the host's backlog, behind nothing), with its
// Resume, its host's turn, and stays pending meanwhile: the frontier
// ends only after its Done.
func TestDeferredRequestGoesFirstWhenDue(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := NewMemoryFrontier(structured.Unbounded, nil)
		defer f.Close()
		g := newSlotGate(f, 1)
		for _, u := range []string{"http://a/1", "http://a/2", "http://a/3", "http://b/1"} {
			if _, err := f.Add(t.Context(), Request{URL: u}); err != nil {
				t.Fatal(err)
			}
		}
		f.InputDone()
		c := f.Consumer()
		start := time.Now()
		var got []string
		take := func() Request {
			t.Helper()
			req, err := c.Next(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			if req.Turn == nil {
				t.Fatalf("%s handed out without a turn", req.URL)
			}
			got = append(got, fmt.Sprintf("%s@%v", req.URL, time.Since(start)))
			return req
		}
		first := take() // a/1
		first.Turn.Release()
		// Its retry is due in 1s, and goes on at host b (a redirect hop).
		first.Resume = "state"
		if err := f.Defer(first, Deferral{URL: "http://a/1", NotBefore: start.Add(time.Second)}); err != nil {
			t.Fatal(err)
		}
		if n := f.Pending(); n != 4 {
			t.Fatalf("pending %d after Defer, want 4", n)
		}
		for range 2 { // b/1 and a/2, at once
			req := take()
			req.Turn.Release()
			_ = f.Done(t.Context(), req)
		}
		time.Sleep(time.Second) // a/3 is ready meanwhile
		again := take()         // due at 1s: ahead of a/3
		if again.URL != "http://a/1" || again.Resume != "state" {
			t.Fatalf("got %+v, want a/1 with its Resume", again)
		}
		if g.busy() != 1 {
			t.Fatalf("%d turns held, want the deferred request's", g.busy())
		}
		again.Turn.Release()
		_ = f.Done(t.Context(), again)
		last := take()
		last.Turn.Release()
		_ = f.Done(t.Context(), last)
		if _, err := c.Next(t.Context()); !errors.Is(err, structured.ErrEndOfStream) {
			t.Fatalf("Next after the last Done: %v, want the end", err)
		}
		want := "[http://a/1@0s http://a/2@0s http://b/1@0s http://a/1@1s http://a/3@1s]"
		if fmt.Sprint(got) != want && fmt.Sprint(got) != "[http://a/1@0s http://b/1@0s http://a/2@0s http://a/1@1s http://a/3@1s]" {
			t.Fatalf("handed out %v\nwant        %v", got, want)
		}
	})
}

// A deferred request that goes on at another host is scheduled by that
// host: it waits for a turn of the host of its Deferral's URL.
func TestDeferredRequestWaitsForItsNextHost(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := NewMemoryFrontier(structured.Unbounded, nil)
		defer f.Close()
		newSlotGate(f, 1)
		for _, u := range []string{"http://a/1", "http://b/1"} {
			if _, err := f.Add(t.Context(), Request{URL: u}); err != nil {
				t.Fatal(err)
			}
		}
		f.InputDone()
		c := f.Consumer()
		a, _ := c.Next(t.Context())
		b, _ := c.Next(t.Context()) // holds b's only slot
		a.Turn.Release()
		if err := f.Defer(a, Deferral{URL: "http://b/2", NotBefore: time.Now()}); err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(t.Context(), time.Hour)
		defer cancel()
		got := make(chan Request, 1)
		err := structured.WithTaskGroup(ctx, func(ctx context.Context, tg *structured.TaskGroup) error {
			tg.StartSoon(func(ctx context.Context) error {
				req, err := c.Next(ctx)
				got <- req
				return err
			})
			synctest.Wait()
			if len(got) != 0 {
				t.Errorf("the deferred request was handed out while its next host's slot was busy")
			}
			b.Turn.Release()
			f.Wake("b")
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if req := <-got; req.URL != "http://a/1" || req.Turn == nil {
			t.Fatalf("got %+v, want a/1 with b's turn", req)
		}
	})
}

// Deferred requests count against the frontier's bounds: with room for
// two requests, one queued and one deferred make Add wait, until the
// deferred one is handed out again. After Close, Defer fails.
func TestDeferredRequestsCountAgainstBounds(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := NewMemoryFrontier(2, nil)
		for _, u := range []string{"http://a/1", "http://a/2"} {
			if _, err := f.Add(t.Context(), Request{URL: u}); err != nil {
				t.Fatal(err)
			}
		}
		c := f.Consumer()
		req, _ := c.Next(t.Context())
		if err := f.Defer(req, Deferral{URL: req.URL, NotBefore: time.Now().Add(time.Minute)}); err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
		_, err := f.Add(ctx, Request{URL: "http://a/3"})
		cancel()
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Add with one queued and one deferred in room for two: %v, want it to wait", err)
		}
		if _, err := c.Next(t.Context()); err != nil { // a/2
			t.Fatal(err)
		}
		if _, err := f.Add(t.Context(), Request{URL: "http://a/3"}); err != nil {
			t.Fatal(err)
		}
		f.Close()
		if err := f.Defer(req, Deferral{URL: req.URL}); !errors.Is(err, structured.ErrClosedResource) {
			t.Fatalf("Defer after Close: %v", err)
		}
	})
}

// Deferred requests hold memory that cannot spill (their state, their
// captured exchanges): past maxDeferredBytes of them the frontier hands
// out no new request, only the deferred ones when due, as the Redis
// frontier does. Set up as the CLI sets it (a budget, a spill, a list's
// producer waiting for room for hosts), a list of hosts that all fail
// with a retryable error (nothing listening) deferred every one of them
// before: 2,000 × 64 KiB held at once under a 1 MiB budget.
func TestDeferredRequestsBoundMemory(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := NewMemoryFrontier(structured.Unbounded, nil)
		defer f.Close()
		f.SetMemoryBudget(1 << 20)
		f.SetSpill(t.TempDir(), nil)
		f.SetWaitForHosts(true)
		newSlotGate(f, 1)
		const hosts, bytes = 2000, 64 << 10
		start := time.Now()
		early, done := 0, 0
		err := structured.WithTaskGroup(t.Context(), func(ctx context.Context, tg *structured.TaskGroup) error {
			tg.StartSoon(func(ctx context.Context) error {
				for i := range hosts {
					if _, err := f.Add(ctx, Request{URL: fmt.Sprintf("http://h%d.test/", i)}); err != nil {
						return err
					}
				}
				f.InputDone()
				return nil
			})
			c := f.Consumer()
			for {
				req, err := c.Next(ctx)
				if errors.Is(err, structured.ErrEndOfStream) {
					return nil
				}
				if err != nil {
					return err
				}
				req.Turn.Release()
				if req.Resume != nil {
					done++
					if err := f.Done(ctx, req); err != nil {
						return err
					}
					continue
				}
				if time.Since(start) < time.Hour {
					early++
				}
				req.Resume = "retry"
				if err := f.Defer(req, Deferral{URL: req.URL, NotBefore: time.Now().Add(time.Hour), Bytes: bytes}); err != nil {
					return err
				}
			}
		})
		if err != nil {
			t.Fatal(err)
		}
		if done != hosts {
			t.Fatalf("%d requests done, want %d", done, hosts)
		}
		if most := maxDeferredBytes/bytes + 1; early > most {
			t.Errorf("%d requests (%d MiB) deferred at once, want at most %d (%d MiB)", early, early*bytes>>20, most, maxDeferredBytes>>20)
		}
	})
}
