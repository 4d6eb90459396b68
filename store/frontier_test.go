package store

import (
	"context"
	"fmt"
	"testing"

	"github.com/trawl-dev/trawl/structured"
)

// The behaviour shared with the Redis frontier is in the contract suite
// (frontier_contract_test.go); these are the memory frontier's own.

func TestMemoryFrontierAdmitLimitsNewURLs(t *testing.T) {
	n := 0
	f := NewMemoryFrontier(structured.Unbounded, func() bool { n++; return n <= 2 })
	defer f.Close()
	added := 0
	for i := range 5 {
		if ok, _ := f.Add(t.Context(), Request{URL: fmt.Sprintf("http://a.test/%d", i)}); ok {
			added++
		}
	}
	if added != 2 {
		t.Fatalf("%d URLs queued, want 2 admitted", added)
	}
}

// An Add that fails (here: a full queue and a cancelled context) queues
// nothing and forgets the URL, so that a later Add may queue it.
func TestMemoryFrontierFailedAddForgetsURL(t *testing.T) {
	f := NewMemoryFrontier(1, nil)
	defer f.Close()
	if _, err := f.Add(t.Context(), Request{URL: "http://a.test/1"}); err != nil {
		t.Fatal(err)
	}
	cancelled, cancel := context.WithCancel(t.Context())
	cancel()
	if added, err := f.Add(cancelled, Request{URL: "http://a.test/2"}); added || err == nil {
		t.Fatalf("Add on a full queue with a cancelled ctx = %v, %v; want false and an error", added, err)
	}
	if f.Pending() != 1 {
		t.Fatalf("pending = %d after a failed Add, want 1", f.Pending())
	}
	c := f.Consumer()
	defer c.Close()
	if _, err := c.Next(t.Context()); err != nil {
		t.Fatal(err)
	}
	if added, err := f.Add(t.Context(), Request{URL: "http://a.test/2"}); !added || err != nil {
		t.Fatalf("Add after the failure = %v, %v; want the URL queued", added, err)
	}
}

// TestMemoryFrontierRequeueSkipsAdmit: URLs restored from a journal are
// queued without asking admit (they were admitted by the interrupted
// run), but not when seen before.
func TestMemoryFrontierRequeueSkipsAdmit(t *testing.T) {
	ctx := t.Context()
	asked := 0
	f := NewMemoryFrontier(structured.Unbounded, func() bool { asked++; return false })
	defer f.Close()
	f.Seen("https://a/done")
	for _, u := range []string{"https://a/1", "https://a/done", "https://a/1"} {
		f.Requeue(ctx, Request{URL: u})
	}
	if asked != 0 || f.Pending() != 1 {
		t.Fatalf("after Requeue: admit asked %d times, %d pending; want 0 and 1", asked, f.Pending())
	}
	if added, _ := f.Add(ctx, Request{URL: "https://a/2"}); added || asked != 1 {
		t.Fatalf("Add: added %v, admit asked %d times; want refused by admit", added, asked)
	}
}
