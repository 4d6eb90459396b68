package structured_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sort"
	"sync"
	"time"

	"github.com/trawl-dev/trawl/structured"
)

// Three tasks run concurrently; WithTaskGroup returns once all have.
func ExampleWithTaskGroup() {
	var mu sync.Mutex
	var pages []string
	err := structured.WithTaskGroup(context.Background(), func(ctx context.Context, tg *structured.TaskGroup) error {
		for _, p := range []string{"/a", "/b", "/c"} {
			tg.StartSoon(func(ctx context.Context) error {
				mu.Lock()
				defer mu.Unlock()
				pages = append(pages, p)
				return nil
			})
		}
		return nil
	})
	sort.Strings(pages)
	fmt.Println(pages, err)
	// Output: [/a /b /c] <nil>
}

// The first error cancels the other tasks; every real error comes back.
func ExampleWithTaskGroup_error() {
	errNotFound := errors.New("not found")
	err := structured.WithTaskGroup(context.Background(), func(ctx context.Context, tg *structured.TaskGroup) error {
		tg.StartSoon(func(ctx context.Context) error {
			<-ctx.Done() // a long task, cancelled by its sibling's failure
			return ctx.Err()
		})
		tg.StartSoon(func(ctx context.Context) error { return errNotFound })
		return nil
	})
	fmt.Println(errors.Is(err, errNotFound), err)
	// Output: true not found
}

// Start waits until a server task is listening and hands back its address.
func ExampleStart() {
	err := structured.WithTaskGroup(context.Background(), func(ctx context.Context, tg *structured.TaskGroup) error {
		addr, err := structured.Start(tg, func(ctx context.Context, started func(net.Addr)) error {
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				return err // returned by Start, not by the group
			}
			defer ln.Close()
			started(ln.Addr())
			<-ctx.Done()
			return nil
		})
		if err != nil {
			return err
		}
		fmt.Println(addr.Network())
		tg.CancelScope().Cancel() // stop the server: no error
		return nil
	})
	fmt.Println(err)
	// Output:
	// tcp
	// <nil>
}

// MoveOnAfter abandons slow work and lets the caller carry on.
func ExampleMoveOnAfter() {
	timedOut, err := structured.MoveOnAfter(context.Background(), 10*time.Millisecond, func(ctx context.Context) error {
		select {
		case <-time.After(time.Hour):
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	})
	fmt.Println(timedOut, err)
	// Output: true <nil>
}

// FailAfter turns an expired deadline into ErrTimeout.
func ExampleFailAfter() {
	err := structured.FailAfter(context.Background(), 10*time.Millisecond, func(ctx context.Context) error {
		<-ctx.Done()
		return ctx.Err()
	})
	fmt.Println(errors.Is(err, structured.ErrTimeout), errors.Is(err, context.DeadlineExceeded))
	// Output: true true
}

// Shielded runs cleanup even though the surrounding work is cancelled.
func ExampleShielded() {
	ctx, cancel := context.WithCancel(context.Background())
	cancel() // the run is being cancelled
	err := structured.Shielded(ctx, time.Second, func(ctx context.Context) error {
		fmt.Println("flushing, ctx.Err() =", ctx.Err())
		return nil
	})
	fmt.Println(err)
	// Output:
	// flushing, ctx.Err() = <nil>
	// <nil>
}
