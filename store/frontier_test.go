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
