package structured_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"

	"github.com/trawl-dev/trawl/structured"
)

// Several producers and several consumers share one stream. Each producer
// owns a send clone and closes it when it is done; each consumer ranges
// over a receive clone of its own. The loops end when the last send clone
// is closed and the buffer is drained.
func ExampleNewMemoryStream() {
	ctx := context.Background()
	var (
		mu  sync.Mutex
		got []int
	)
	err := structured.WithTaskGroup(ctx, func(ctx context.Context, tg *structured.TaskGroup) error {
		tx, rx := structured.NewMemoryStream[int](4)
		for p := range 3 {
			ptx := tx.Clone()
			tg.StartSoon(func(ctx context.Context) error {
				defer ptx.Close()
				for i := range 3 {
					if err := ptx.Send(ctx, 10*p+i); err != nil {
						return err
					}
				}
				return nil
			})
		}
		tx.Close() // the producers hold the remaining send clones
		for range 2 {
			crx := rx.Clone()
			tg.StartSoon(func(ctx context.Context) error {
				defer crx.Close()
				for v := range crx.All(ctx) {
					mu.Lock()
					got = append(got, v)
					mu.Unlock()
				}
				return crx.Err()
			})
		}
		return rx.Close()
	})
	slices.Sort(got)
	fmt.Println(got, err)
	// Output: [0 1 2 10 11 12 20 21 22] <nil>
}

// All ends when its context is done; Err tells why the loop stopped.
func ExampleReceiveStream_All() {
	tx, rx := structured.NewMemoryStream[string](structured.Unbounded)
	tx.TrySend("a")
	tx.TrySend("b")

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	for v := range rx.All(ctx) {
		fmt.Println(v)
		if v == "b" {
			cancel() // the next step sees the done context
		}
	}
	fmt.Println(rx.Err())
	// Output:
	// a
	// b
	// context canceled
}

// Closing the last receive clone hands back the values that were sent but
// never received, so that they can be put somewhere safe.
func ExampleUndeliveredError() {
	tx, rx := structured.NewMemoryStream[string](8)
	tx.TrySend("https://example.com/a")
	tx.TrySend("https://example.com/b")

	err := rx.Close()
	var ue *structured.UndeliveredError[string]
	if errors.As(err, &ue) {
		fmt.Println("requeue:", ue.Values)
	}
	fmt.Println(tx.TrySend("https://example.com/c"))
	// Output:
	// requeue: [https://example.com/a https://example.com/b]
	// structured: broken resource: no receiver left
}
