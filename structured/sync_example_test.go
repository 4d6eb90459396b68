package structured_test

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/trawl-dev/trawl/structured"
)

// Six tasks share a limiter of two tokens: each borrows one for itself
// before working, so no more than two work at once.
func ExampleCapacityLimiter() {
	limiter := structured.NewCapacityLimiter(2)
	var mu sync.Mutex
	working, most := 0, 0
	err := structured.WithTaskGroup(context.Background(), func(ctx context.Context, tg *structured.TaskGroup) error {
		for range 6 {
			tg.StartSoon(func(ctx context.Context) error {
				if err := limiter.Acquire(ctx); err != nil {
					return err
				}
				defer limiter.Release(ctx)
				mu.Lock()
				working++
				most = max(most, working)
				mu.Unlock()

				// ... fetch a page ...

				mu.Lock()
				working--
				mu.Unlock()
				return nil
			})
		}
		return nil
	})
	fmt.Println("error:", err)
	fmt.Println("never more than two at once:", most <= 2)
	fmt.Println("borrowed at the end:", limiter.BorrowedTokens())
	// Output:
	// error: <nil>
	// never more than two at once: true
	// borrowed at the end: 0
}

// Outside a task, name the borrower. A borrower holds at most one token,
// and only a borrower can give its token back.
func ExampleCapacityLimiter_onBehalfOf() {
	ctx := context.Background()
	limiter := structured.NewCapacityLimiter(2)
	fmt.Println(limiter.AcquireOnBehalfOf(ctx, "worker-1"))
	fmt.Println(limiter.AcquireOnBehalfOf(ctx, "worker-2"))

	err := limiter.TryAcquireOnBehalfOf("worker-3")
	fmt.Println(errors.Is(err, structured.ErrWouldBlock))
	err = limiter.AcquireOnBehalfOf(ctx, "worker-1")
	fmt.Println(errors.Is(err, structured.ErrAlreadyBorrowing))
	err = limiter.ReleaseOnBehalfOf("worker-3")
	fmt.Println(errors.Is(err, structured.ErrNotBorrowing))

	st := limiter.Statistics()
	fmt.Println(st.BorrowedTokens, "of", st.TotalTokens, "borrowed by", st.Borrowers)

	_ = limiter.SetTotalTokens(3)
	fmt.Println("available after raising the total:", limiter.AvailableTokens())
	// Output:
	// <nil>
	// <nil>
	// true
	// true
	// true
	// 2 of 2 borrowed by [worker-1 worker-2]
	// available after raising the total: 1
}

// A semaphore with a maximum value reports a release that has no matching
// acquire.
func ExampleSemaphore() {
	ctx := context.Background()
	sem := structured.NewSemaphore(1, structured.WithMaxValue(1))
	fmt.Println(sem.Acquire(ctx), sem.Value())
	fmt.Println(errors.Is(sem.TryAcquire(), structured.ErrWouldBlock))
	fmt.Println(sem.Release(), sem.Value())
	fmt.Println(errors.Is(sem.Release(), structured.ErrMaxValueExceeded))
	// Output:
	// <nil> 0
	// true
	// <nil> 1
	// true
}

// A task waits until another has finished setting things up.
func ExampleEvent() {
	var ready structured.Event // the zero value is ready to use
	var config string
	_ = structured.WithTaskGroup(context.Background(), func(ctx context.Context, tg *structured.TaskGroup) error {
		tg.StartSoon(func(ctx context.Context) error {
			if err := ready.Wait(ctx); err != nil {
				return err
			}
			fmt.Println("crawling with", config)
			return nil
		})
		config = "robots.txt loaded"
		ready.Set()
		return nil
	})
	// Output: crawling with robots.txt loaded
}
