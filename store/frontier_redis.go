package store

import (
	"container/heap"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/trawl-dev/trawl/structured"
)

// RedisOptions tune a [RedisFrontier]. The zero value is ready for
// production use; tests shorten the times.
type RedisOptions struct {
	// Consumer names this process in the run. Empty means
	// "<hostname>-<pid>-<random>", unique per process.
	Consumer string
	// MaxPages bounds how many URLs the whole run queues, across every
	// process (--max-pages). Zero means no limit.
	MaxPages int
	// PoolSize is the number of connections to Redis. Zero means 64.
	PoolSize int
	// Block bounds one wait of Next for work: after it, Next looks for
	// entries to reclaim and for the end of the run even when no wake-up
	// came. Zero means 500ms.
	Block time.Duration
	// AliveTTL is how long this process counts as alive after its last
	// heartbeat. Zero means 5s.
	AliveTTL time.Duration
	// ClaimAfter is the visibility timeout: an entry taken this long ago
	// by a process that is no longer alive is taken over. Zero means
	// AliveTTL.
	ClaimAfter time.Duration
	// RetryFor bounds how long a Redis call is retried, with backoff,
	// while Redis is unreachable. Zero means 10s.
	RetryFor time.Duration
}

func (o RedisOptions) withDefaults() RedisOptions {
	if o.Consumer == "" {
		host, _ := os.Hostname()
		o.Consumer = fmt.Sprintf("%s-%d-%04x", host, os.Getpid(), rand.N(1<<16))
	}
	if o.PoolSize <= 0 {
		o.PoolSize = 64
	}
	if o.Block <= 0 {
		o.Block = 500 * time.Millisecond
	}
	if o.AliveTTL <= 0 {
		o.AliveTTL = 5 * time.Second
	}
	if o.ClaimAfter <= 0 {
		o.ClaimAfter = o.AliveTTL
	}
	if o.RetryFor <= 0 {
		o.RetryFor = 10 * time.Second
	}
	return o
}

// A SlotGate gives a [RedisFrontier] this process's part of a host's
// limits. The frontier's shared schedule grants a host's turn for every
// process (its shared rate, its pause, its Crawl-delay); the gate holds
// the host's slots in this process (--per-host counts per process).
type SlotGate interface {
	// HostKey returns the key of url's host: requests with one key share
	// their limits, their queue and their place in the schedule.
	HostKey(url string) string
	// TakeSlot takes one of host's slots and returns it as a turn (nil
	// when every slot is busy). full reports that no slot is left free;
	// the gate's owner then calls [RedisFrontier.Wake] for host when one
	// is freed.
	TakeSlot(host string) (turn Turn, full bool)
}

// RedisFrontier is a [Frontier] shared by any number of trawl processes
// through one Redis server. Like [MemoryFrontier] it keeps a queue per
// host and a schedule of the hosts, here in Redis and shared by every
// process: Next hands out only a request whose host may start now, its
// turn (the shared rate's slot, past any pause or Crawl-delay) taken in
// the same Lua script that takes the request, so two processes never
// take the same turn of a host, and it waits, without polling, for the
// earliest host due or for new work. See the package documentation for
// the keys and for what is durable when.
//
// Every process of a run seeds it with the same inputs: the first one
// queues them, the others find them seen and queue nothing, and a process
// that joins late helps with what is left. A request taken is recorded
// as this process's until Commit acknowledges it, after its result was
// written; the requests of a process that stopped heart-beating are
// queued again by another after [RedisOptions.ClaimAfter]. The run is
// over when nothing is queued or taken and no live process is still
// seeding.
//
// [RedisFrontier.Heartbeat] must run, as a task of the caller's task
// group, for as long as the frontier is used.
type RedisFrontier struct {
	client *redis.Client
	run    string
	opts   RedisOptions
	keys   redisKeys

	mu        sync.Mutex
	inFlight  map[string]string                  // URL → queue member, taken by this process
	written   map[string]bool                    // members done, to acknowledge at Commit
	done      map[[FingerprintSize]byte]struct{} // URLs done in an earlier run (Seen)
	counts    map[string]int64                   // statistics to add at Commit
	ended     bool                               // the run was seen finished
	inputDone bool                               // InputDone was called
	seeding   bool                               // still in the seeders set
	gate      SlotGate                           // nil: no local slots, hosts keyed by defaultHostKey
	interval  time.Duration                      // the shared rate's interval (0: none), see SharedRate
	burst     int
	full      map[string]bool // hosts whose local slots are all busy
	lastIdle  time.Time       // last run of the idle script
	later     deferHeap       // requests deferred (Defer), still taken by this process
	laterSize int64           // memory of later, against maxDeferredBytes

	claim structured.Lock // one consumer of the process asks Redis and waits at a time
	wake  chan struct{}   // cap 1: new work may be there (Redis wake-up, freed slot)

	onEmptyRead func() // tests: called after each look that found nothing to take
	onSubscribe func() // tests: called by Heartbeat before it subscribes to wake-ups
}

var _ Deferrer = (*RedisFrontier)(nil)

// maxDeferredBytes bounds the memory of the requests a process holds
// deferred (see [RedisFrontier.Defer], [MemoryFrontier.Defer]): past it,
// the process takes no new request until some of them went on.
const maxDeferredBytes = 32 << 20

type redisKeys struct {
	prefix, seen, seeders, admitted, stats, hash, hosts, pending, consumers, wake, oldQueue string
}

func newRedisKeys(run string) redisKeys {
	p := "trawl:" + run + ":"
	return redisKeys{prefix: p, seen: p + "seen", seeders: p + "seeders", admitted: p + "admitted", stats: p + "stats", hash: p + "fingerprint",
		hosts: p + "hosts", pending: p + "pending", consumers: p + "consumers", wake: p + "wake", oldQueue: p + "queue"}
}

func (k redisKeys) alive(consumer string) string { return k.prefix + "alive:" + consumer }
func (k redisKeys) taken(consumer string) string { return k.prefix + "taken:" + consumer }

// ErrRedisUnreachable is returned (wrapped) by [OpenRedisFrontier] when the
// server does not answer, and by the other methods when it stopped
// answering for longer than [RedisOptions.RetryFor].
var ErrRedisUnreachable = errors.New("redis unreachable")

// OpenRedisFrontier connects to the Redis server at rawURL
// ("redis://[user:pass@]host:port/db") and joins the run named run. It
// registers this process as alive and as a seeder until
// [RedisFrontier.InputDone]. Close must be called.
func OpenRedisFrontier(ctx context.Context, rawURL, run string, opts RedisOptions) (*RedisFrontier, error) {
	client, err := newRedisClient(rawURL, opts.PoolSize)
	if err != nil {
		return nil, err
	}
	opts = opts.withDefaults()
	f := &RedisFrontier{client: client, run: run, opts: opts, keys: newRedisKeys(run), inFlight: map[string]string{}, written: map[string]bool{}, done: map[[FingerprintSize]byte]struct{}{},
		counts: map[string]int64{}, seeding: true, burst: 1, full: map[string]bool{}, wake: make(chan struct{}, 1)}
	if err := f.join(ctx); err != nil {
		client.Close()
		return nil, err
	}
	return f, nil
}

// quietRedisOnce silences go-redis's own logger, which prints to stderr:
// a library of trawl never prints, and every failure it logs reaches the
// caller as an error anyway.
var quietRedisOnce sync.Once

type quietLogger struct{}

func (quietLogger) Printf(context.Context, string, ...any) {}

func newRedisClient(rawURL string, poolSize int) (*redis.Client, error) {
	quietRedisOnce.Do(func() { redis.SetLogger(quietLogger{}) })
	ro, err := redis.ParseURL(rawURL)
	if err != nil {
		return nil, fmt.Errorf("redis url %q: %w", rawURL, err)
	}
	if poolSize > 0 {
		ro.PoolSize = poolSize
	}
	ro.MaxRetries = -1 // the frontier retries with its own, longer budget
	ro.DialTimeout = 2 * time.Second
	return redis.NewClient(ro), nil
}

func (f *RedisFrontier) join(ctx context.Context) error {
	if err := f.client.Ping(ctx).Err(); err != nil {
		return fmt.Errorf("%w: %s: %v", ErrRedisUnreachable, f.client.Options().Addr, err)
	}
	if err := f.checkFingerprint(ctx); err != nil {
		return err
	}
	if n, err := f.client.Exists(ctx, f.keys.oldQueue).Result(); err != nil {
		return fmt.Errorf("join run %s: %w", f.run, err)
	} else if n > 0 {
		return fmt.Errorf("join run %s: %w: its queue %s is one stream, this trawl keeps a queue per host; finish it with the trawl that started it, or name a new run with --run",
			f.run, ErrOldRunLayout, f.keys.oldQueue)
	}
	if err := f.beat(ctx); err != nil {
		return fmt.Errorf("join run %s: %w", f.run, err)
	}
	if err := f.client.SAdd(ctx, f.keys.seeders, f.opts.Consumer).Err(); err != nil {
		return fmt.Errorf("join run %s: %w", f.run, err)
	}
	return nil
}

// ErrOldRunLayout is returned (wrapped) by [OpenRedisFrontier] for a run
// started by an older trawl, which queued every URL in one stream: this
// trawl cannot share its queue.
var ErrOldRunLayout = errors.New("run uses an older queue layout")

// fingerprintName names the hash of the seen set's members, as the key
// "trawl:R:fingerprint" records it.
const fingerprintName = "sha256-128"

// ErrFingerprintMismatch is returned (wrapped) by [OpenRedisFrontier] for
// a run whose seen set holds fingerprints of another hash: one started by
// an older trawl (64-bit FNV-1a, which left no record of its hash). Its
// seen set cannot be shared: the run must be finished by the trawl that
// started it, or a new run named with --run.
var ErrFingerprintMismatch = errors.New("run uses another URL fingerprint")

// fingerprintScript records the run's fingerprint hash when the run is
// new and returns the hash recorded, or "fnv1a-64" for a run of an older
// trawl: a seen set and no record.
var fingerprintScript = redis.NewScript(`
local v = redis.call('GET', KEYS[1])
if v then return v end
if redis.call('EXISTS', KEYS[2]) == 1 then return 'fnv1a-64' end
redis.call('SET', KEYS[1], ARGV[1])
return ARGV[1]
`)

func (f *RedisFrontier) checkFingerprint(ctx context.Context) error {
	got, err := fingerprintScript.Run(ctx, f.client, []string{f.keys.hash, f.keys.seen}, fingerprintName).Text()
	if err != nil {
		return fmt.Errorf("join run %s: %w", f.run, err)
	}
	if got != fingerprintName {
		return fmt.Errorf("join run %s: %w: its seen set %s holds %s fingerprints, this trawl uses %s; finish it with the trawl that started it, or name a new run with --run",
			f.run, ErrFingerprintMismatch, f.keys.seen, got, fingerprintName)
	}
	return nil
}

// ConsumerName returns this process's consumer name in the run.
func (f *RedisFrontier) ConsumerName() string { return f.opts.Consumer }

// SetGate makes the frontier key hosts with g and take the host's slot in
// this process for every request it hands out, as the request's
// [Request.Turn]. Call it before Add. Without a gate, a request's host is
// what lies between "://" and the next '/' of its URL, and requests come
// without a turn.
func (f *RedisFrontier) SetGate(g SlotGate) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.gate = g
}

// Wake tells the frontier that one of host's slots in this process was
// freed, so that a consumer waiting for work asks again. The [SlotGate]'s
// owner calls it.
func (f *RedisFrontier) Wake(host string) {
	f.mu.Lock()
	wasFull := f.full[host]
	delete(f.full, host)
	f.mu.Unlock()
	if wasFull {
		f.signal()
	}
}

// signal wakes the consumer waiting for work, or the next one to wait.
func (f *RedisFrontier) signal() {
	select {
	case f.wake <- struct{}{}:
	default: // one wake-up pending is enough
	}
}

// Heartbeat keeps this process alive in the run until ctx ends, refreshing
// its alive key every third of [RedisOptions.AliveTTL], and listens for
// the run's wake-ups (new work, the end of the run) published by every
// process. Run it as a task beside the pipeline; it returns nil when ctx
// ends. A failed refresh is tried again at the next beat; lost wake-ups
// only delay Next until [RedisOptions.Block] has passed.
func (f *RedisFrontier) Heartbeat(ctx context.Context) error {
	t := time.NewTicker(f.opts.AliveTTL / 3)
	defer t.Stop()
	if f.onSubscribe != nil {
		f.onSubscribe()
	}
	sub := f.client.Subscribe(ctx, f.keys.wake)
	// A wake-up published before the subscription took effect is lost:
	// once Redis confirms it, the consumer looks again for what such a
	// wake-up announced, instead of waiting out Block.
	if _, err := sub.Receive(ctx); err == nil {
		f.signal()
	}
	wakes := sub.Channel(redis.WithChannelSize(1), redis.WithChannelSendTimeout(time.Second))
	defer func() {
		// The subscription's receiver ends once it has delivered what it
		// holds: drain it, so that it does not outlive the frontier.
		sub.Close()
		drain := time.NewTimer(2 * time.Second)
		defer drain.Stop()
		for {
			select {
			case _, ok := <-wakes:
				if ok {
					continue
				}
			case <-drain.C:
			}
			return
		}
	}()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
			_ = f.beat(ctx)
		case <-wakes:
			f.signal()
		}
	}
}

func (f *RedisFrontier) beat(ctx context.Context) error {
	return f.client.Set(ctx, f.keys.alive(f.opts.Consumer), "1", f.opts.AliveTTL).Err()
}

// fingerprintKey is the member of the seen set for s: its [Fingerprint]
// as 16 raw bytes (Redis strings are binary-safe).
func fingerprintKey(s string) string {
	fp := Fingerprint(s)
	return string(fp[:])
}

// hostKey returns the schedule's key for url's host.
func (f *RedisFrontier) hostKey(url string) string {
	f.mu.Lock()
	g := f.gate
	f.mu.Unlock()
	if g != nil {
		return g.HostKey(url)
	}
	return defaultHostKey(url)
}

// defaultHostKey is what lies between "://" and the next '/', '?' or '#'
// of url.
func defaultHostKey(url string) string {
	_, rest, _ := strings.Cut(url, "://")
	if i := strings.IndexAny(rest, "/?#"); i >= 0 {
		rest = rest[:i]
	}
	return rest
}

// entry is a queued request as its queue member holds it, after the
// ordering prefix.
type entry struct {
	URL    string `json:"u"`
	Source string `json:"s,omitempty"`
	Line   int    `json:"l,omitempty"`
	Input  string `json:"i,omitempty"`
}

// A queue member is the request's depth (depthWidth digits), the run's
// arrival counter (seqWidth digits, added by the script) and the entry as
// JSON: members of one host's queue (a sorted set, every score 0) sort by
// depth, then arrival.
const (
	depthWidth = 10
	seqWidth   = 15
)

func encodeMember(req Request) (string, error) {
	b, err := json.Marshal(entry{URL: req.URL, Source: req.Source, Line: req.Line, Input: req.Input})
	if err != nil {
		return "", fmt.Errorf("encode %s: %w", req.URL, err)
	}
	return fmt.Sprintf("%0*d", depthWidth, max(req.Depth, 0)) + string(b), nil
}

func decodeMember(m string) (Request, error) {
	if len(m) < depthWidth+seqWidth {
		return Request{}, fmt.Errorf("queue member %q: too short", m)
	}
	depth, err := strconv.Atoi(m[:depthWidth])
	if err != nil {
		return Request{}, fmt.Errorf("queue member %q: depth: %w", m, err)
	}
	var e entry
	if err := json.Unmarshal([]byte(m[depthWidth+seqWidth:]), &e); err != nil {
		return Request{}, fmt.Errorf("queue member %q: %w", m, err)
	}
	return Request{URL: e.URL, Depth: depth, Source: e.Source, Line: e.Line, Input: e.Input}, nil
}

// rateArgs returns the shared rate's interval in microseconds and burst,
// as the scripts take them.
func (f *RedisFrontier) rateArgs() (int64, int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.interval.Microseconds(), f.burst
}

// Add implements [Frontier]: one atomic check-and-enqueue in Redis, which
// also puts the host in the schedule if it was not there.
func (f *RedisFrontier) Add(ctx context.Context, req Request) (bool, error) {
	m, err := encodeMember(req)
	if err != nil {
		return false, err
	}
	host := f.hostKey(req.URL)
	iv, burst := f.rateArgs()
	var added bool
	err = f.retry(ctx, "queue "+req.URL, func(ctx context.Context) error {
		n, err := enqueueScript.Run(ctx, f.client, nil,
			f.keys.prefix, fingerprintKey(req.URL), host, m, f.opts.MaxPages, iv, burst).Int()
		added = n == 1
		return err
	})
	return added, err
}

// Seen implements [Frontier]: the URL joins the shared seen set. It
// retries within [RedisOptions.RetryFor] and then gives up silently (the
// URL may then be fetched again: at least once). The process also
// remembers it as done: when it takes the URL from the queue (queued
// again after this process was killed with its result written but not
// acknowledged, and resumed), it acknowledges it without handing it out.
func (f *RedisFrontier) Seen(url string) {
	f.mu.Lock()
	f.done[Fingerprint(url)] = struct{}{}
	f.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), f.opts.RetryFor)
	defer cancel()
	_ = f.retry(ctx, "mark "+url, func(ctx context.Context) error {
		return f.client.SAdd(ctx, f.keys.seen, fingerprintKey(url)).Err()
	})
}

// MarkIfNew implements [Frontier] on the shared seen set.
func (f *RedisFrontier) MarkIfNew(ctx context.Context, key string) (bool, error) {
	var isNew bool
	err := f.retry(ctx, "mark "+key, func(ctx context.Context) error {
		n, err := f.client.SAdd(ctx, f.keys.seen, fingerprintKey(key)).Result()
		isNew = n == 1
		return err
	})
	return isNew, err
}

// InputDone implements [Frontier]: this process stops counting as a
// seeder. If Redis cannot be told now, Next tells it later.
func (f *RedisFrontier) InputDone() {
	f.mu.Lock()
	f.inputDone = true
	f.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), f.opts.RetryFor)
	defer cancel()
	_ = f.leaveSeeders(ctx)
	f.signal()
}

// leaveSeeders removes this process from the seeders once its input is
// done, and wakes the processes waiting for work: the run may be over.
func (f *RedisFrontier) leaveSeeders(ctx context.Context) error {
	f.mu.Lock()
	need := f.inputDone && f.seeding
	f.mu.Unlock()
	if !need {
		return nil
	}
	err := f.retry(ctx, "finish seeding", func(ctx context.Context) error {
		pipe := f.client.TxPipeline()
		pipe.SRem(ctx, f.keys.seeders, f.opts.Consumer)
		pipe.Publish(ctx, f.keys.wake, "")
		_, err := pipe.Exec(ctx)
		return err
	})
	if err == nil {
		f.mu.Lock()
		f.seeding = false
		f.mu.Unlock()
	}
	return err
}

// Done implements [Frontier]: it notes that req's result is written. The
// entry is acknowledged by the next [RedisFrontier.Commit], which the
// caller makes once the output holding the result is flushed: a result
// in a buffer is lost if the process dies, and its URL must then stay
// pending for another process to fetch.
func (f *RedisFrontier) Done(ctx context.Context, req Request) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if m, ok := f.inFlight[req.URL]; ok {
		delete(f.inFlight, req.URL)
		f.written[m] = true
	}
	return nil
}

// commitBatch bounds the entries acknowledged by one script call.
const commitBatch = 500

// Commit acknowledges every request marked Done and not yet committed, and
// adds the results recorded with RecordResult to the run's statistics.
// Call it after flushing the output that holds those results. When Redis
// cannot be reached within [RedisOptions.RetryFor] it returns an error
// and the entries stay taken: other processes fetch them again once this
// one is gone, and nothing is lost.
func (f *RedisFrontier) Commit(ctx context.Context) error {
	f.mu.Lock()
	members, counts := slices.Collect(maps.Keys(f.written)), f.counts
	f.counts = map[string]int64{}
	f.mu.Unlock()
	for len(members) > 0 || len(counts) > 0 {
		batch := members[:min(len(members), commitBatch)]
		args := []any{f.keys.prefix, f.opts.Consumer, len(batch)}
		for _, m := range batch {
			args = append(args, m)
		}
		for k, n := range counts {
			args = append(args, k, n)
		}
		err := f.retry(ctx, "acknowledge results", func(ctx context.Context) error {
			return commitScript.Run(ctx, f.client, nil, args...).Err()
		})
		if err != nil {
			f.mu.Lock()
			for k, n := range counts {
				f.counts[k] += n // for the next Commit
			}
			f.mu.Unlock()
			return err
		}
		// Only now are they no longer held: until the acknowledgement is
		// made, the idle script must not take them back.
		f.mu.Lock()
		for _, m := range batch {
			delete(f.written, m)
		}
		f.mu.Unlock()
		members, counts = members[len(batch):], nil
	}
	return nil
}

// Pending implements [Frontier]: the number of requests queued or in
// flight in the whole run, asked of Redis within a second; when Redis
// does not answer, the requests this process took and has not finished.
func (f *RedisFrontier) Pending() int {
	f.mu.Lock()
	ended, local := f.ended, len(f.inFlight)+len(f.written)
	f.mu.Unlock()
	if ended && local == 0 {
		return 0
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	n, err := f.client.Get(ctx, f.keys.pending).Int()
	if errors.Is(err, redis.Nil) {
		return 0
	}
	if err != nil {
		return local
	}
	return n
}

// Consumer implements [Frontier]. Every consumer of one RedisFrontier
// takes requests as the same consumer of the run: the process.
func (f *RedisFrontier) Consumer() Consumer { return redisConsumer{f} }

// Close leaves the run: this process is no longer alive nor seeding, so
// the entries it took and did not finish can be taken over, and closes
// the connections. It does not delete the run.
func (f *RedisFrontier) Close(ctx context.Context) error {
	err := f.client.Del(ctx, f.keys.alive(f.opts.Consumer)).Err()
	err = errors.Join(err, f.client.SRem(ctx, f.keys.seeders, f.opts.Consumer).Err())
	f.client.Publish(ctx, f.keys.wake, "") // the others may take over, or end
	return errors.Join(err, f.client.Close())
}

// retry runs op until it succeeds, ctx ends, or RetryFor has passed,
// waiting with exponential backoff between attempts. Redis replies that
// are errors (a script error, a wrong type) are not retried.
func (f *RedisFrontier) retry(ctx context.Context, what string, op func(ctx context.Context) error) error {
	deadline := time.Now().Add(f.opts.RetryFor)
	wait := 50 * time.Millisecond
	for {
		err := op(ctx)
		switch {
		case err == nil || errors.Is(err, redis.Nil):
			return nil
		case errors.Is(err, errNoEntry) || errors.Is(err, structured.ErrEndOfStream):
			return err // answers, not failures
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		var rerr redis.Error
		if errors.As(err, &rerr) && !isTransient(rerr) {
			return fmt.Errorf("redis: %s: %w", what, err)
		}
		if time.Now().Add(wait).After(deadline) {
			return fmt.Errorf("redis: %s: gave up after %v: %w: %w", what, f.opts.RetryFor, ErrRedisUnreachable, err)
		}
		if err := structured.Sleep(ctx, wait); err != nil {
			return err
		}
		wait = min(2*wait, 2*time.Second)
	}
}

// isTransient tells server replies worth retrying: a server still loading
// its data after a restart, or one that lost its consumer group with it.
func isTransient(err redis.Error) bool {
	msg := err.Error()
	for _, p := range []string{"LOADING", "NOGROUP", "TRYAGAIN", "BUSY ", "MASTERDOWN"} {
		if strings.HasPrefix(msg, p) {
			return true
		}
	}
	return false
}

// errNoEntry means a look found nothing to take.
var errNoEntry = errors.New("no entry")

type redisConsumer struct{ f *RedisFrontier }

// Next implements [Consumer]: it takes a request of the host that has
// been ready the longest, with the host's turn, or waits until the
// earliest host is due, until another process (or this one) queues work
// or frees a slot, or until [RedisOptions.Block] has passed, and looks
// again. While nothing is to be taken it reclaims the requests of dead
// processes, and reports the end of the run. One consumer of the process
// asks Redis and waits at a time; the others wait for it.
func (c redisConsumer) Next(ctx context.Context) (Request, error) {
	f := c.f
	if err := f.claim.Lock(ctx); err != nil {
		return Request{}, err
	}
	defer f.claim.Unlock()
	forceIdle := false
	for {
		f.mu.Lock()
		ended := f.ended
		f.mu.Unlock()
		if ended {
			return Request{}, structured.ErrEndOfStream
		}
		if err := f.leaveSeeders(ctx); err != nil {
			return Request{}, err
		}
		select { // a wake-up from before this look is answered by it
		case <-f.wake:
		default:
		}
		req, due, err := f.take(ctx)
		if err == nil {
			return req, nil
		}
		if !errors.Is(err, errNoEntry) {
			return Request{}, err
		}
		f.mu.Lock()
		idleDue := forceIdle || time.Since(f.lastIdle) >= f.opts.Block
		f.mu.Unlock()
		if idleDue {
			reclaimed, err := f.idle(ctx)
			switch {
			case errors.Is(err, structured.ErrEndOfStream):
				f.mu.Lock()
				f.ended = true
				f.mu.Unlock()
				return Request{}, err
			case err != nil:
				return Request{}, err
			case reclaimed:
				continue
			}
		}
		if f.onEmptyRead != nil {
			f.onEmptyRead()
		}
		wait := f.opts.Block
		if due >= 0 {
			wait = min(wait, due)
		}
		t := time.NewTimer(wait)
		select {
		case <-t.C:
			forceIdle = false
		case <-f.wake:
			forceIdle = true // a process may have finished the run
		case <-ctx.Done():
			t.Stop()
			return Request{}, ctx.Err()
		}
		t.Stop()
	}
}

func (c redisConsumer) Close() error { return nil }

// Defer implements [Deferrer]. The request stays taken by this process
// in Redis (a process that dies holding it leaves it to be reclaimed like
// any other it took), and waits here, holding no slot and no worker,
// until d.NotBefore; Next then hands it out, ahead of the run's queue,
// once this process has a free slot of d.URL's host and the shared
// schedule grants that host's turn (its shared rate, pause and
// Crawl-delay). While this process holds more than maxDeferredBytes of
// deferred requests, it takes no new request from the run.
func (f *RedisFrontier) Defer(req Request, d Deferral) error {
	req.Turn = nil
	cost := int64(len(req.URL)) + requestOverhead + max(d.Bytes, 0)
	key := f.hostKey(d.URL)
	f.mu.Lock()
	heap.Push(&f.later, deferredRequest{req: req, key: key, at: d.NotBefore, cost: cost})
	f.laterSize += cost
	f.mu.Unlock()
	f.signal() // a consumer waiting for a later time looks again
	return nil
}

// takeDeferred hands out the first deferred request that is due and whose
// host may start now, with its turn: a free slot of this process and the
// host's turn in the shared schedule. When none may, ok is false and due
// is how long until one might (-1: none is deferred but for hosts whose
// slots are all busy, which Wake reports).
func (f *RedisFrontier) takeDeferred(ctx context.Context) (req Request, due time.Duration, ok bool, err error) {
	f.mu.Lock()
	now := time.Now()
	var dueNow []deferredRequest
	for len(f.later) > 0 && !f.later[0].at.After(now) {
		dueNow = append(dueNow, heap.Pop(&f.later).(deferredRequest))
	}
	gate := f.gate
	f.mu.Unlock()
	iv, burst := f.rateArgs()
	due = -1
	var back []deferredRequest // not handed out: put back in the heap
	for i, d := range dueNow {
		if ok || err != nil {
			back = append(back, dueNow[i:]...)
			break
		}
		f.mu.Lock()
		full := f.full[d.key]
		f.mu.Unlock()
		if full {
			back = append(back, d)
			continue
		}
		var turn Turn
		if gate != nil {
			var isFull bool
			if turn, isFull = gate.TakeSlot(d.key); isFull || turn == nil {
				f.mu.Lock()
				f.full[d.key] = true
				f.mu.Unlock()
			}
			if turn == nil {
				back = append(back, d)
				continue
			}
		}
		var us int64
		err = f.retry(ctx, "take the turn of "+d.key, func(ctx context.Context) error {
			var err error
			us, err = turnScript.Run(ctx, f.client, nil, f.keys.prefix, d.key, iv, burst).Int64()
			return err
		})
		if err != nil || us > 0 {
			if turn != nil {
				turn.Release()
			}
			if err == nil {
				d.at = now.Add(time.Duration(us) * time.Microsecond)
				if due < 0 || time.Duration(us)*time.Microsecond < due {
					due = time.Duration(us) * time.Microsecond
				}
			}
			back = append(back, d)
			continue
		}
		req, ok = d.req, true
		req.Turn = turn
		f.mu.Lock()
		f.laterSize -= d.cost
		f.mu.Unlock()
	}
	f.mu.Lock()
	// The earliest not due yet: before those put back, of which the ones
	// due already wait for a slot (Wake), and would hide it at the top.
	if len(f.later) > 0 {
		if d := max(f.later[0].at.Sub(now), 0); due < 0 || d < due {
			due = d
		}
	}
	for _, d := range back {
		heap.Push(&f.later, d)
	}
	f.mu.Unlock()
	return req, due, ok, err
}

// take takes the next request: a deferred one due whose host may start
// (see takeDeferred), or else one of the run's queue whose host may start
// now, with its turn. When none may, it returns errNoEntry and how long
// until the earliest is due (-1: none is queued or deferred, or only for
// hosts busy in this process).
func (f *RedisFrontier) take(ctx context.Context) (Request, time.Duration, error) {
	req, later, ok, err := f.takeDeferred(ctx)
	if ok || err != nil {
		return req, 0, err
	}
	f.mu.Lock()
	over := f.laterSize > maxDeferredBytes
	f.mu.Unlock()
	if over {
		return Request{}, later, errNoEntry
	}
	req, due, err := f.takeQueued(ctx)
	if errors.Is(err, errNoEntry) && later >= 0 && (due < 0 || later < due) {
		due = later
	}
	return req, due, err
}

// takeQueued takes the next request of a host that may start now, with
// its turn. When none may, it returns errNoEntry and how long until the
// earliest host not busy in this process is due (-1: none is queued).
func (f *RedisFrontier) takeQueued(ctx context.Context) (Request, time.Duration, error) {
	f.mu.Lock()
	full := slices.Collect(maps.Keys(f.full))
	gate := f.gate
	f.mu.Unlock()
	iv, burst := f.rateArgs()
	for {
		args := []any{f.keys.prefix, f.opts.Consumer, iv, burst, len(full)}
		for _, h := range full {
			args = append(args, h)
		}
		var res []any
		err := f.retry(ctx, "take from the queue", func(ctx context.Context) error {
			var err error
			res, err = claimScript.Run(ctx, f.client, nil, args...).Slice()
			return err
		})
		if err != nil {
			return Request{}, 0, err
		}
		kind, _ := res[0].(string)
		switch kind {
		case "wait":
			us, _ := res[1].(int64)
			return Request{}, time.Duration(max(us, 0)) * time.Microsecond, errNoEntry
		case "taken":
		default:
			return Request{}, -1, errNoEntry
		}
		m, _ := res[1].(string)
		host, _ := res[2].(string)
		req, err := decodeMember(m)
		if err != nil {
			return Request{}, 0, err
		}
		f.mu.Lock()
		_, done := f.done[Fingerprint(req.URL)]
		f.mu.Unlock()
		if done {
			err := f.retry(ctx, "acknowledge "+req.URL, func(ctx context.Context) error {
				return commitScript.Run(ctx, f.client, nil, f.keys.prefix, f.opts.Consumer, 1, m).Err()
			})
			if err != nil {
				return Request{}, 0, err
			}
			continue
		}
		if gate != nil {
			turn, isFull := gate.TakeSlot(host)
			if isFull {
				f.mu.Lock()
				f.full[host] = true
				f.mu.Unlock()
			}
			if turn == nil {
				// Every slot was taken meanwhile (a retry, a robots.txt):
				// the request goes back to the head of its host's queue;
				// the turn of the shared rate it took is spent.
				if err := f.putBack(ctx, m, host); err != nil {
					return Request{}, 0, err
				}
				full = append(full, host)
				continue
			}
			req.Turn = turn
		}
		f.mu.Lock()
		f.inFlight[req.URL] = m
		f.mu.Unlock()
		return req, 0, nil
	}
}

// putBack returns a request this process took to its host's queue.
func (f *RedisFrontier) putBack(ctx context.Context, m, host string) error {
	iv, burst := f.rateArgs()
	return f.retry(ctx, "give back a request", func(ctx context.Context) error {
		return putBackScript.Run(ctx, f.client, nil, f.keys.prefix, f.opts.Consumer, m, host, iv, burst).Err()
	})
}

// idle queues again the requests taken by dead processes, and those this
// process took and does not hold (a reply lost with a broken
// connection), once taken ClaimAfter ago. It reports whether it queued
// any; otherwise it returns nil while the run is busy, and
// ErrEndOfStream once it is over.
func (f *RedisFrontier) idle(ctx context.Context) (bool, error) {
	iv, burst := f.rateArgs()
	f.mu.Lock()
	f.lastIdle = time.Now()
	args := []any{f.keys.prefix, f.opts.Consumer, f.opts.ClaimAfter.Milliseconds(), iv, burst}
	for _, m := range f.inFlight {
		args = append(args, m)
	}
	for m := range f.written {
		args = append(args, m)
	}
	f.mu.Unlock()
	var res []any
	err := f.retry(ctx, "look for abandoned requests", func(ctx context.Context) error {
		var err error
		res, err = idleScript.Run(ctx, f.client, nil, args...).Slice()
		return err
	})
	if err != nil {
		return false, err
	}
	switch res[0] {
	case "reclaimed":
		return true, nil
	case "finished":
		return false, structured.ErrEndOfStream
	}
	return false, nil
}
