package structured

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"
)

// streamOutcome is what a background Send or Receive returned.
type streamOutcome[T any] struct {
	v   T
	err error
}

// goStreamReceive runs rx.Receive(ctx) in a goroutine and returns a channel with
// its streamOutcome.
func goStreamReceive[T any](ctx context.Context, rx *ReceiveStream[T]) <-chan streamOutcome[T] {
	c := make(chan streamOutcome[T], 1)
	go func() {
		v, err := rx.Receive(ctx)
		c <- streamOutcome[T]{v, err}
	}()
	return c
}

// goStreamSend runs tx.Send(ctx, v) in a goroutine and returns a channel with
// its error.
func goStreamSend[T any](ctx context.Context, tx *SendStream[T], v T) <-chan error {
	c := make(chan error, 1)
	go func() { c <- tx.Send(ctx, v) }()
	return c
}

// awaitStream returns what c delivers, failing the test if nothing comes within
// a (bubble or real) second.
func awaitStream[T any](t *testing.T, c <-chan T) T {
	t.Helper()
	select {
	case v := <-c:
		return v
	case <-time.After(time.Second):
		t.Fatal("timed out waiting for a result")
		panic("unreachable")
	}
}

// stillWaiting fails the test if c has delivered. Call it after
// synctest.Wait.
func stillWaiting[T any](t *testing.T, c <-chan T, what string) {
	t.Helper()
	select {
	case v := <-c:
		t.Fatalf("%s returned %v, want it still waiting", what, v)
	default:
	}
}

func mustStreamSend[T any](t *testing.T, tx *SendStream[T], v T) {
	t.Helper()
	if err := tx.Send(context.Background(), v); err != nil {
		t.Fatalf("Send(%v) = %v", v, err)
	}
}

func mustStreamReceive[T comparable](t *testing.T, rx *ReceiveStream[T], want T) {
	t.Helper()
	v, err := rx.Receive(context.Background())
	if err != nil || v != want {
		t.Fatalf("Receive() = %v, %v; want %v, nil", v, err, want)
	}
}

func TestMemoryStreamBufferedKeepsOrderAndLimit(t *testing.T) {
	tx, rx := NewMemoryStream[int](3)
	for i := range 3 {
		if err := tx.TrySend(i); err != nil {
			t.Fatalf("TrySend(%d) = %v", i, err)
		}
	}
	if err := tx.TrySend(3); !errors.Is(err, ErrWouldBlock) {
		t.Fatalf("TrySend on a full buffer = %v, want ErrWouldBlock", err)
	}
	for i := range 3 {
		mustStreamReceive(t, rx, i)
	}
	if _, err := rx.TryReceive(); !errors.Is(err, ErrWouldBlock) {
		t.Fatalf("TryReceive on an empty buffer = %v, want ErrWouldBlock", err)
	}
	// The ring wraps around: keep it partly full while cycling.
	for i := range 20 {
		mustStreamSend(t, tx, i)
		mustStreamSend(t, tx, 100+i)
		mustStreamReceive(t, rx, i)
		mustStreamReceive(t, rx, 100+i)
	}
}

func TestMemoryStreamRendezvous(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		tx, rx := NewMemoryStream[string](0)
		if err := tx.TrySend("x"); !errors.Is(err, ErrWouldBlock) {
			t.Fatalf("TrySend with no receiver = %v, want ErrWouldBlock", err)
		}
		sent := goStreamSend(context.Background(), tx, "a")
		synctest.Wait()
		stillWaiting(t, sent, "Send on a rendezvous stream with no receiver")
		if st := tx.Stats(); st.TasksWaitingSend != 1 || st.CurrentBufferUsed != 0 {
			t.Fatalf("Stats() = %+v, want one waiting sender and an empty buffer", st)
		}
		if v, err := rx.TryReceive(); v != "a" || err != nil {
			t.Fatalf("TryReceive() = %q, %v; want the waiting sender's value", v, err)
		}
		if err := awaitStream(t, sent); err != nil {
			t.Fatalf("Send = %v after its value was taken", err)
		}

		got := goStreamReceive(context.Background(), rx)
		synctest.Wait()
		stillWaiting(t, got, "Receive on an empty rendezvous stream")
		if err := tx.TrySend("b"); err != nil {
			t.Fatalf("TrySend with a waiting receiver = %v", err)
		}
		if o := awaitStream(t, got); o.v != "b" || o.err != nil {
			t.Fatalf("Receive() = %+v, want b", o)
		}
	})
}

func TestMemoryStreamUnbounded(t *testing.T) {
	tx, rx := NewMemoryStream[int](Unbounded)
	const n = 10000
	for i := range n {
		if err := tx.TrySend(i); err != nil {
			t.Fatalf("TrySend(%d) on an unbounded stream = %v", i, err)
		}
	}
	st := rx.Stats()
	if st.CurrentBufferUsed != n || st.MaxBufferSize != Unbounded {
		t.Fatalf("Stats() = %+v, want %d used of Unbounded", st, n)
	}
	tx.Close()
	var got []int
	for v := range rx.All(context.Background()) {
		got = append(got, v)
	}
	if len(got) != n || !slices.IsSorted(got) {
		t.Fatalf("received %d values (sorted: %v), want 0..%d in order", len(got), slices.IsSorted(got), n-1)
	}
}

func TestNewMemoryStreamNegativeSizePanics(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Fatal("NewMemoryStream(-1) did not panic")
		}
	}()
	NewMemoryStream[int](-1)
}

func TestMemoryStreamDrainsThenEndOfStream(t *testing.T) {
	tx, rx := NewMemoryStream[int](4)
	mustStreamSend(t, tx, 1)
	mustStreamSend(t, tx, 2)
	tx.Close()
	mustStreamReceive(t, rx, 1)
	if v, err := rx.TryReceive(); v != 2 || err != nil {
		t.Fatalf("TryReceive() = %v, %v; want the last buffered value", v, err)
	}
	for range 2 { // and it stays at the end
		if _, err := rx.Receive(context.Background()); !errors.Is(err, ErrEndOfStream) {
			t.Fatalf("Receive after the drain = %v, want ErrEndOfStream", err)
		}
		if _, err := rx.TryReceive(); !errors.Is(err, ErrEndOfStream) {
			t.Fatalf("TryReceive after the drain = %v, want ErrEndOfStream", err)
		}
	}
}

func TestMemoryStreamEndOfStreamWakesWaitingReceiversOnlyAfterLastSendClone(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		tx, rx := NewMemoryStream[int](1)
		tx2 := tx.Clone()
		rx2 := rx.Clone()
		r1 := goStreamReceive(context.Background(), rx)
		r2 := goStreamReceive(context.Background(), rx2)
		synctest.Wait()
		tx.Close()
		synctest.Wait()
		stillWaiting(t, r1, "Receive while a send clone is open")
		stillWaiting(t, r2, "Receive while a send clone is open")
		tx2.Close()
		for _, r := range []<-chan streamOutcome[int]{r1, r2} {
			if o := awaitStream(t, r); !errors.Is(o.err, ErrEndOfStream) {
				t.Fatalf("waiting Receive = %+v after the last send clone closed, want ErrEndOfStream", o)
			}
		}
	})
}

func TestMemoryStreamBrokenResource(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		tx, rx := NewMemoryStream[int](2)
		rx2 := rx.Clone()
		mustStreamSend(t, tx, 1)
		mustStreamSend(t, tx, 2)
		waiting := goStreamSend(context.Background(), tx, 3)
		synctest.Wait()
		if err := rx.Close(); err != nil {
			t.Fatalf("Close of a receive clone while another is open = %v, want nil", err)
		}
		synctest.Wait()
		stillWaiting(t, waiting, "Send while a receive clone is open")

		err := rx2.Close()
		var ue *UndeliveredError[int]
		if !errors.As(err, &ue) || !slices.Equal(ue.Values, []int{1, 2}) {
			t.Fatalf("last receive Close = %v, want an UndeliveredError with [1 2]", err)
		}
		if err := awaitStream(t, waiting); !errors.Is(err, ErrBrokenResource) {
			t.Fatalf("waiting Send = %v after the last receive clone closed, want ErrBrokenResource", err)
		}
		if err := tx.Send(context.Background(), 4); !errors.Is(err, ErrBrokenResource) {
			t.Fatalf("Send = %v, want ErrBrokenResource", err)
		}
		if err := tx.TrySend(4); !errors.Is(err, ErrBrokenResource) {
			t.Fatalf("TrySend = %v, want ErrBrokenResource", err)
		}
		if st := tx.Stats(); st.CurrentBufferUsed != 0 || st.TasksWaitingSend != 0 {
			t.Fatalf("Stats() = %+v, want the buffer emptied and no waiting sender", st)
		}
		if err := rx2.Close(); err != nil {
			t.Fatalf("second Close of the last receive clone = %v, want nil", err)
		}
	})
}

func TestMemoryStreamLastReceiveCloseWithEmptyBufferReturnsNil(t *testing.T) {
	tx, rx := NewMemoryStream[int](2)
	mustStreamSend(t, tx, 1)
	mustStreamReceive(t, rx, 1)
	if err := rx.Close(); err != nil {
		t.Fatalf("Close = %v, want nil: nothing was left undelivered", err)
	}
}

func TestMemoryStreamClosedClone(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		tx, rx := NewMemoryStream[int](0)
		tx2, rx2 := tx.Clone(), rx.Clone()

		// Closing a clone fails the calls waiting on that clone only.
		s1 := goStreamSend(ctx, tx, 1)
		s2 := goStreamSend(ctx, tx2, 2)
		synctest.Wait()
		tx.Close()
		if err := awaitStream(t, s1); !errors.Is(err, ErrClosedResource) {
			t.Fatalf("Send waiting on a clone being closed = %v, want ErrClosedResource", err)
		}
		synctest.Wait()
		stillWaiting(t, s2, "Send on another, open clone")
		mustStreamReceive(t, rx, 2)
		if err := awaitStream(t, s2); err != nil {
			t.Fatal(err)
		}

		r1 := goStreamReceive(ctx, rx)
		r2 := goStreamReceive(ctx, rx2)
		synctest.Wait()
		if err := rx.Close(); err != nil {
			t.Fatal(err)
		}
		if o := awaitStream(t, r1); !errors.Is(o.err, ErrClosedResource) {
			t.Fatalf("Receive waiting on a clone being closed = %+v, want ErrClosedResource", o)
		}
		synctest.Wait()
		stillWaiting(t, r2, "Receive on another, open clone")
		mustStreamSend(t, tx2, 3)
		if o := awaitStream(t, r2); o.v != 3 || o.err != nil {
			t.Fatalf("Receive on the open clone = %+v, want 3", o)
		}

		// Every call on a closed clone fails; Close is idempotent.
		if err := tx.Send(ctx, 1); !errors.Is(err, ErrClosedResource) {
			t.Fatalf("Send on a closed clone = %v, want ErrClosedResource", err)
		}
		if err := tx.TrySend(1); !errors.Is(err, ErrClosedResource) {
			t.Fatalf("TrySend on a closed clone = %v, want ErrClosedResource", err)
		}
		if _, err := rx.Receive(ctx); !errors.Is(err, ErrClosedResource) {
			t.Fatalf("Receive on a closed clone = %v, want ErrClosedResource", err)
		}
		if _, err := rx.TryReceive(); !errors.Is(err, ErrClosedResource) {
			t.Fatalf("TryReceive on a closed clone = %v, want ErrClosedResource", err)
		}
		if err := tx.Close(); err != nil {
			t.Fatalf("second Close = %v, want nil", err)
		}
		if st := tx2.Stats(); st.OpenSendStreams != 1 || st.OpenReceiveStreams != 1 {
			t.Fatalf("Stats() = %+v: a second Close must not count twice", st)
		}
	})
}

func TestMemoryStreamCloneOfClosedClonePanics(t *testing.T) {
	tx, rx := NewMemoryStream[int](0)
	tx.Close()
	rx.Close()
	for name, clone := range map[string]func(){
		"SendStream":    func() { tx.Clone() },
		"ReceiveStream": func() { rx.Clone() },
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("Clone of a closed %s did not panic", name)
				}
			}()
			clone()
		}()
	}
}

func TestMemoryStreamStatsCountsClones(t *testing.T) {
	tx, rx := NewMemoryStream[int](5)
	txs := []*SendStream[int]{tx, tx.Clone(), tx.Clone()}
	rxs := []*ReceiveStream[int]{rx, rx.Clone()}
	mustStreamSend(t, tx, 1)
	want := MemoryStreamStats{CurrentBufferUsed: 1, MaxBufferSize: 5, OpenSendStreams: 3, OpenReceiveStreams: 2}
	if st := rx.Stats(); st != want {
		t.Fatalf("Stats() = %+v, want %+v", st, want)
	}
	txs[1].Close()
	rxs[0].Close()
	want.OpenSendStreams, want.OpenReceiveStreams = 2, 1
	if st := txs[2].Stats(); st != want {
		t.Fatalf("Stats() after closing one of each = %+v, want %+v", st, want)
	}
	// The stream ends only with the last send clone.
	txs[0].Close()
	mustStreamReceive(t, rxs[1], 1)
	if _, err := rxs[1].TryReceive(); !errors.Is(err, ErrWouldBlock) {
		t.Fatalf("TryReceive with a send clone open = %v, want ErrWouldBlock", err)
	}
	txs[2].Close()
	if _, err := rxs[1].TryReceive(); !errors.Is(err, ErrEndOfStream) {
		t.Fatalf("TryReceive after the last send clone closed = %v, want ErrEndOfStream", err)
	}
}

func TestMemoryStreamWaitingReceiversAreServedFIFO(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		tx, rx := NewMemoryStream[int](0)
		const n = 5
		var rs []<-chan streamOutcome[int]
		for range n {
			rs = append(rs, goStreamReceive(context.Background(), rx))
			synctest.Wait() // queued before the next one starts
		}
		if st := rx.Stats(); st.TasksWaitingReceive != n {
			t.Fatalf("Stats() = %+v, want %d waiting receivers", st, n)
		}
		for i := range n {
			if err := tx.TrySend(i); err != nil {
				t.Fatalf("TrySend(%d) = %v", i, err)
			}
		}
		for i, r := range rs {
			if o := awaitStream(t, r); o.v != i || o.err != nil {
				t.Fatalf("receiver %d got %+v, want %d: not first come, first served", i, o, i)
			}
		}
	})
}

func TestMemoryStreamWaitingSendersAreServedFIFO(t *testing.T) {
	for _, size := range []int{0, 2} {
		t.Run(fmt.Sprint("size=", size), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				tx, rx := NewMemoryStream[int](size)
				for i := range size {
					mustStreamSend(t, tx, -1-i)
				}
				const n = 5
				var ss []<-chan error
				for i := range n {
					ss = append(ss, goStreamSend(context.Background(), tx, i))
					synctest.Wait()
				}
				if st := tx.Stats(); st.TasksWaitingSend != n {
					t.Fatalf("Stats() = %+v, want %d waiting senders", st, n)
				}
				// TrySend cannot jump the queue.
				if err := tx.TrySend(99); !errors.Is(err, ErrWouldBlock) {
					t.Fatalf("TrySend with senders waiting = %v, want ErrWouldBlock", err)
				}
				for i := range size {
					mustStreamReceive(t, rx, -1-i)
				}
				for i := range n {
					mustStreamReceive(t, rx, i)
				}
				for _, s := range ss {
					if err := awaitStream(t, s); err != nil {
						t.Fatal(err)
					}
				}
			})
		})
	}
}

func TestMemoryStreamCancelledWaitHasNoEffect(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		tx, rx := NewMemoryStream[int](0)
		ctx, cancel := context.WithCancel(context.Background())
		s := goStreamSend(ctx, tx, 1)
		synctest.Wait()
		cancel()
		if err := awaitStream(t, s); !errors.Is(err, context.Canceled) {
			t.Fatalf("cancelled Send = %v, want context.Canceled", err)
		}
		if v, err := rx.TryReceive(); !errors.Is(err, ErrWouldBlock) {
			t.Fatalf("TryReceive after a cancelled Send = %v, %v; want ErrWouldBlock: the value must not be sent", v, err)
		}

		ctx, cancel = context.WithCancel(context.Background())
		r := goStreamReceive(ctx, rx)
		synctest.Wait()
		cancel()
		if o := awaitStream(t, r); !errors.Is(o.err, context.Canceled) {
			t.Fatalf("cancelled Receive = %+v, want context.Canceled", o)
		}
		if err := tx.TrySend(2); !errors.Is(err, ErrWouldBlock) {
			t.Fatalf("TrySend after a cancelled Receive = %v, want ErrWouldBlock: nobody waits", err)
		}
		if st := tx.Stats(); st.TasksWaitingSend != 0 || st.TasksWaitingReceive != 0 {
			t.Fatalf("Stats() = %+v, want no waiters left behind", st)
		}
	})
}

func TestMemoryStreamTimeoutWhileWaiting(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		_, rx := NewMemoryStream[int](1)
		start := time.Now()
		err := FailAfter(context.Background(), time.Minute, func(ctx context.Context) error {
			_, err := rx.Receive(ctx)
			return err
		})
		if !errors.Is(err, ErrTimeout) || time.Since(start) != time.Minute {
			t.Fatalf("Receive under FailAfter(1m) = %v after %v, want ErrTimeout after 1m", err, time.Since(start))
		}
	})
}

func TestMemoryStreamDoneContextFailsAtOnce(t *testing.T) {
	tx, rx := NewMemoryStream[int](1)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := tx.Send(ctx, 1); !errors.Is(err, context.Canceled) {
		t.Fatalf("Send with a done context = %v, want context.Canceled even with room", err)
	}
	mustStreamSend(t, tx, 1)
	if _, err := rx.Receive(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("Receive with a done context = %v, want context.Canceled even with a value buffered", err)
	}
	mustStreamReceive(t, rx, 1)
}

// A cancellation that arrives together with a hand-off must not lose the
// value nor report failure for an operation that took effect. The waiter
// may see its context done and its hand-off ready at the same time and
// look at either first; it may also withdraw before the hand-off. Whatever
// happens, the two sides must agree.
func TestMemoryStreamCancelRacingHandOffReportsTheHandOff(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		tx, rx := NewMemoryStream[int](0)
		for i := range 200 {
			ctx, cancel := context.WithCancel(context.Background())
			r := goStreamReceive(ctx, rx)
			synctest.Wait()
			cancel()
			sendErr := tx.TrySend(i)
			o := awaitStream(t, r)
			switch {
			case sendErr == nil && (o.v != i || o.err != nil):
				t.Fatalf("Receive whose hand-off raced its cancel = %+v, want %d, nil", o, i)
			case sendErr != nil && !errors.Is(o.err, context.Canceled):
				t.Fatalf("TrySend = %v but the waiting Receive = %+v", sendErr, o)
			}

			ctx, cancel = context.WithCancel(context.Background())
			s := goStreamSend(ctx, tx, i)
			synctest.Wait()
			cancel()
			v, recvErr := rx.TryReceive()
			err := awaitStream(t, s)
			switch {
			case recvErr == nil && (v != i || err != nil):
				t.Fatalf("TryReceive = %d but the Send whose value was taken as it was cancelled = %v", v, err)
			case recvErr != nil && !errors.Is(err, context.Canceled):
				t.Fatalf("TryReceive = %v but the waiting Send = %v", recvErr, err)
			}
		}
	})
}

func TestMemoryStreamAll(t *testing.T) {
	t.Run("ends at end of stream", func(t *testing.T) {
		tx, rx := NewMemoryStream[int](3)
		for i := range 3 {
			mustStreamSend(t, tx, i)
		}
		tx.Close()
		var got []int
		for v := range rx.All(context.Background()) {
			got = append(got, v)
		}
		if !slices.Equal(got, []int{0, 1, 2}) || rx.Err() != nil {
			t.Fatalf("All gave %v, Err() = %v; want [0 1 2], nil", got, rx.Err())
		}
	})
	t.Run("ends on cancel with the reason", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			tx, rx := NewMemoryStream[int](3)
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan []int)
			go func() {
				var got []int
				for v := range rx.All(ctx) {
					got = append(got, v)
				}
				done <- got
			}()
			mustStreamSend(t, tx, 7)
			synctest.Wait()
			stillWaiting(t, done, "All over an open stream")
			cancel()
			if got := awaitStream(t, done); !slices.Equal(got, []int{7}) {
				t.Fatalf("All gave %v, want [7]", got)
			}
			if err := rx.Err(); !errors.Is(err, context.Canceled) {
				t.Fatalf("Err() after a cancelled All = %v, want context.Canceled", err)
			}
			// A new loop starts afresh.
			tx.Close()
			for range rx.All(context.Background()) {
				t.Fatal("value from a drained stream")
			}
			if err := rx.Err(); err != nil {
				t.Fatalf("Err() after a loop that reached the end = %v, want nil", err)
			}
		})
	})
	t.Run("break leaves the rest", func(t *testing.T) {
		tx, rx := NewMemoryStream[int](3)
		for i := range 3 {
			mustStreamSend(t, tx, i)
		}
		for v := range rx.All(context.Background()) {
			if v == 1 {
				break
			}
		}
		if rx.Err() != nil {
			t.Fatalf("Err() after break = %v, want nil", rx.Err())
		}
		mustStreamReceive(t, rx, 2)
	})
	t.Run("closed clone", func(t *testing.T) {
		_, rx := NewMemoryStream[int](3)
		rx2 := rx.Clone()
		rx.Close()
		for range rx.All(context.Background()) {
			t.Fatal("value from a closed clone")
		}
		if err := rx.Err(); !errors.Is(err, ErrClosedResource) {
			t.Fatalf("Err() = %v, want ErrClosedResource", err)
		}
		rx2.Close()
	})
}

// TestMemoryStreamStress has many producers and consumers race over one
// stream while individual Send and Receive calls are cancelled at random
// moments, some of them exactly while a hand-off is under way. Every value
// whose Send returned nil must be received exactly once, and no value whose
// Send failed may be received at all.
func TestMemoryStreamStress(t *testing.T) {
	for _, size := range []int{0, 1, 16, Unbounded} {
		name := fmt.Sprint("size=", size)
		if size == Unbounded {
			name = "size=Unbounded"
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			stressMemoryStream(t, size)
		})
	}
}

func stressMemoryStream(t *testing.T, size int) {
	const producers, consumers, perProducer = 8, 8, 400
	tx, rx := NewMemoryStream[int](size)

	// Cancellers call the cancel functions of calls under way, after a
	// random number of scheduler yields, so that cancellation lands before,
	// during or after the hand-off.
	cancels := make(chan context.CancelFunc, 64)
	var cancellers sync.WaitGroup
	for range 2 {
		cancellers.Go(func() {
			for cancel := range cancels {
				for range rand.IntN(3) {
					runtime.Gosched()
				}
				cancel()
			}
		})
	}
	// call runs op with a context that is cancelled at a random moment for
	// about one call in three.
	call := func(op func(ctx context.Context) error) error {
		if rand.IntN(3) != 0 {
			return op(context.Background())
		}
		ctx, cancel := context.WithCancel(context.Background())
		cancels <- cancel
		err := op(ctx)
		cancel()
		return err
	}

	sent := make([]atomic.Int32, producers*perProducer)
	received := make([]atomic.Int32, producers*perProducer)
	var sends, wg sync.WaitGroup
	for p := range producers {
		ptx := tx.Clone()
		sends.Go(func() {
			defer ptx.Close()
			for i := range perProducer {
				v := p*perProducer + i
				err := call(func(ctx context.Context) error { return ptx.Send(ctx, v) })
				switch {
				case err == nil:
					sent[v].Add(1)
				case !errors.Is(err, context.Canceled):
					t.Errorf("Send(%d) = %v", v, err)
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
				var v int
				err := call(func(ctx context.Context) (err error) {
					v, err = crx.Receive(ctx)
					return err
				})
				switch {
				case err == nil:
					received[v].Add(1)
				case errors.Is(err, ErrEndOfStream):
					return
				case !errors.Is(err, context.Canceled):
					t.Errorf("Receive() = %v", err)
					return
				}
			}
		})
	}
	sends.Wait()
	wg.Wait()
	close(cancels)
	cancellers.Wait()
	if err := rx.Close(); err != nil {
		t.Errorf("Close of the last receive clone = %v, want nil: all was received", err)
	}

	nsent := 0
	for v := range sent {
		s, r := sent[v].Load(), received[v].Load()
		if s != r {
			t.Errorf("value %d: Send succeeded %d times, received %d times", v, s, r)
		}
		nsent += int(s)
	}
	if nsent == 0 || nsent == len(sent) {
		t.Logf("%d of %d sends succeeded: cancellation did not bite", nsent, len(sent))
	}
}
