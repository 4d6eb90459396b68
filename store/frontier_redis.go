package store

import (
	"context"
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
	// Consumer names this process in the run's consumer group. Empty means
	// "<hostname>-<pid>-<random>", unique per process.
	Consumer string
	// MaxPages bounds how many URLs the whole run queues, across every
	// process (--max-pages). Zero means no limit.
	MaxPages int
	// PoolSize is the number of connections to Redis. Every consumer
	// blocked in Next holds one, so it should exceed the number of
	// workers. Zero means 64.
	PoolSize int
	// Block bounds one blocking read of the queue: after it, Next looks for
	// entries to reclaim and for the end of the run. Zero means 500ms.
	Block time.Duration
	// AliveTTL is how long this process counts as alive after its last
	// heartbeat. Zero means 5s.
	AliveTTL time.Duration
	// ClaimAfter is the visibility timeout: an entry pending this long on
	// a consumer that is no longer alive is taken over. Zero means
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

// RedisFrontier is a [Frontier] shared by any number of trawl processes
// through one Redis server: the queue of a run is a Redis stream read
// through a consumer group (one consumer per process), the seen set is a
// Redis set of fingerprints, and the run's statistics are a hash. See the
// package documentation for the keys and for what is durable when.
//
// Every process of a run seeds it with the same inputs: the first one
// queues them, the others find them seen and queue nothing, and a process
// that joins late helps with what is left. An entry is acknowledged (and
// deleted from the stream) by Done, after its result was written; an
// entry left pending by a process that stopped heart-beating is taken
// over by another after [RedisOptions.ClaimAfter]. The run is over when
// the stream is empty and no live process is still seeding.
//
// [RedisFrontier.Heartbeat] must run, as a task of the caller's task
// group, for as long as the frontier is used.
type RedisFrontier struct {
	client *redis.Client
	run    string
	opts   RedisOptions
	keys   redisKeys

	mu        sync.Mutex
	inFlight  map[string]string // URL → stream entry ID, taken by this process
	written   map[string]bool   // entry IDs done, to acknowledge at Commit
	counts    map[string]int64  // statistics to add at Commit
	ended     bool              // the run was seen finished
	inputDone bool              // InputDone was called
	seeding   bool              // still in the seeders set

	onEmptyRead func() // tests: called after each read that found no entry
}

var _ Frontier = (*RedisFrontier)(nil)

const redisGroup = "trawl"

type redisKeys struct {
	prefix, queue, seen, seeders, admitted, stats, hash string
}

func newRedisKeys(run string) redisKeys {
	p := "trawl:" + run + ":"
	return redisKeys{prefix: p, queue: p + "queue", seen: p + "seen", seeders: p + "seeders", admitted: p + "admitted", stats: p + "stats", hash: p + "fingerprint"}
}

func (k redisKeys) alive(consumer string) string { return k.prefix + "alive:" + consumer }

// ErrRedisUnreachable is returned (wrapped) by [OpenRedisFrontier] when the
// server does not answer, and by the other methods when it stopped
// answering for longer than [RedisOptions.RetryFor].
var ErrRedisUnreachable = errors.New("redis unreachable")

// OpenRedisFrontier connects to the Redis server at rawURL
// ("redis://[user:pass@]host:port/db") and joins the run named run,
// creating its consumer group when it is new. It registers this process as
// alive and as a seeder until [RedisFrontier.InputDone]. Close must be
// called.
func OpenRedisFrontier(ctx context.Context, rawURL, run string, opts RedisOptions) (*RedisFrontier, error) {
	client, err := newRedisClient(rawURL, opts.PoolSize)
	if err != nil {
		return nil, err
	}
	opts = opts.withDefaults()
	f := &RedisFrontier{client: client, run: run, opts: opts, keys: newRedisKeys(run), inFlight: map[string]string{}, written: map[string]bool{}, counts: map[string]int64{}, seeding: true}
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
	err := f.client.XGroupCreateMkStream(ctx, f.keys.queue, redisGroup, "0").Err()
	if err != nil && !isBusyGroup(err) {
		return fmt.Errorf("create consumer group for run %s: %w", f.run, err)
	}
	if err := f.checkFingerprint(ctx); err != nil {
		return err
	}
	if err := f.beat(ctx); err != nil {
		return fmt.Errorf("join run %s: %w", f.run, err)
	}
	if err := f.client.SAdd(ctx, f.keys.seeders, f.opts.Consumer).Err(); err != nil {
		return fmt.Errorf("join run %s: %w", f.run, err)
	}
	return nil
}

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

func isBusyGroup(err error) bool {
	return err != nil && strings.HasPrefix(err.Error(), "BUSYGROUP")
}

// ConsumerName returns this process's consumer name in the run's group.
func (f *RedisFrontier) ConsumerName() string { return f.opts.Consumer }

// Heartbeat keeps this process alive in the run until ctx ends, refreshing
// its alive key every third of [RedisOptions.AliveTTL]. Run it as a task
// beside the pipeline; it returns nil when ctx ends. A failed refresh is
// tried again at the next beat.
func (f *RedisFrontier) Heartbeat(ctx context.Context) error {
	t := time.NewTicker(f.opts.AliveTTL / 3)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		_ = f.beat(ctx)
	}
}

func (f *RedisFrontier) beat(ctx context.Context) error {
	return f.client.Set(ctx, f.keys.alive(f.opts.Consumer), "1", f.opts.AliveTTL).Err()
}

// enqueueScript queues a request unless its fingerprint is in the seen set
// (or the run's page budget is spent): the check and the enqueue are one
// atomic step, so two processes that find the same link queue it once.
var enqueueScript = redis.NewScript(`
if redis.call('SISMEMBER', KEYS[1], ARGV[1]) == 1 then return 0 end
local max = tonumber(ARGV[6])
if max > 0 and redis.call('INCR', KEYS[3]) > max then return 0 end
redis.call('SADD', KEYS[1], ARGV[1])
redis.call('XADD', KEYS[2], '*', 'url', ARGV[2], 'depth', ARGV[3], 'source', ARGV[4], 'line', ARGV[5], 'input', ARGV[7])
return 1
`)

// fingerprintKey is the member of the seen set for s: its [Fingerprint]
// as 16 raw bytes (Redis strings are binary-safe).
func fingerprintKey(s string) string {
	fp := Fingerprint(s)
	return string(fp[:])
}

// Add implements [Frontier]: one atomic check-and-enqueue in Redis.
func (f *RedisFrontier) Add(ctx context.Context, req Request) (bool, error) {
	var added bool
	err := f.retry(ctx, "queue "+req.URL, func(ctx context.Context) error {
		n, err := enqueueScript.Run(ctx, f.client,
			[]string{f.keys.seen, f.keys.queue, f.keys.admitted},
			fingerprintKey(req.URL), req.URL, req.Depth, req.Source, req.Line, f.opts.MaxPages, req.Input).Int()
		added = n == 1
		return err
	})
	return added, err
}

// Seen implements [Frontier]: the URL joins the shared seen set. It
// retries within [RedisOptions.RetryFor] and then gives up silently (the
// URL may then be fetched again: at least once).
func (f *RedisFrontier) Seen(url string) {
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
}

// leaveSeeders removes this process from the seeders once its input is
// done.
func (f *RedisFrontier) leaveSeeders(ctx context.Context) error {
	f.mu.Lock()
	need := f.inputDone && f.seeding
	f.mu.Unlock()
	if !need {
		return nil
	}
	err := f.retry(ctx, "finish seeding", func(ctx context.Context) error {
		return f.client.SRem(ctx, f.keys.seeders, f.opts.Consumer).Err()
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
	if id, ok := f.inFlight[req.URL]; ok {
		delete(f.inFlight, req.URL)
		f.written[id] = true
	}
	return nil
}

// commitScript acknowledges entries (XACK) and deletes them from the
// stream, so that the stream holds exactly the entries queued or in
// flight, and adds to the run's statistics.
var commitScript = redis.NewScript(`
local n = tonumber(ARGV[2])
if n > 0 then
  local ids = {}
  for i = 1, n do ids[i] = ARGV[2 + i] end
  redis.call('XACK', KEYS[1], ARGV[1], unpack(ids))
  redis.call('XDEL', KEYS[1], unpack(ids))
end
for i = 3 + n, #ARGV, 2 do redis.call('HINCRBY', KEYS[2], ARGV[i], ARGV[i + 1]) end
return n
`)

// commitBatch bounds the entries acknowledged by one script call.
const commitBatch = 500

// Commit acknowledges every request marked Done and not yet committed, and
// adds the results recorded with RecordResult to the run's statistics.
// Call it after flushing the output that holds those results. When Redis
// cannot be reached within [RedisOptions.RetryFor] it returns an error
// and the entries stay pending: other processes fetch them again, and
// nothing is lost.
func (f *RedisFrontier) Commit(ctx context.Context) error {
	f.mu.Lock()
	ids, counts := slices.Collect(maps.Keys(f.written)), f.counts
	f.counts = map[string]int64{}
	f.mu.Unlock()
	for len(ids) > 0 || len(counts) > 0 {
		batch := ids[:min(len(ids), commitBatch)]
		args := []any{redisGroup, len(batch)}
		for _, id := range batch {
			args = append(args, id)
		}
		for k, n := range counts {
			args = append(args, k, n)
		}
		err := f.retry(ctx, "acknowledge results", func(ctx context.Context) error {
			return commitScript.Run(ctx, f.client, []string{f.keys.queue, f.keys.stats}, args...).Err()
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
		for _, id := range batch {
			delete(f.written, id)
		}
		f.mu.Unlock()
		ids, counts = ids[len(batch):], nil
	}
	return nil
}

// Pending implements [Frontier]: the number of entries queued or in
// flight in the whole run (the stream's length), asked of Redis within a
// second; when Redis does not answer, the requests this process took and
// has not finished.
func (f *RedisFrontier) Pending() int {
	f.mu.Lock()
	ended, local := f.ended, len(f.inFlight)+len(f.written)
	f.mu.Unlock()
	if ended && local == 0 {
		return 0
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	n, err := f.client.XLen(ctx, f.keys.queue).Result()
	if err != nil {
		return local
	}
	return int(n)
}

// Consumer implements [Frontier]. Every consumer of one RedisFrontier
// reads as the same consumer of the group: the process.
func (f *RedisFrontier) Consumer() Consumer { return redisConsumer{f} }

// Close leaves the run: this process is no longer alive nor seeding, so
// the entries it took and did not finish can be taken over at once, and
// closes the connections. It does not delete the run.
func (f *RedisFrontier) Close(ctx context.Context) error {
	err := f.client.Del(ctx, f.keys.alive(f.opts.Consumer)).Err()
	err = errors.Join(err, f.client.SRem(ctx, f.keys.seeders, f.opts.Consumer).Err())
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

// errNoEntry means a read found nothing to take.
var errNoEntry = errors.New("no entry")

type redisConsumer struct{ f *RedisFrontier }

// Next implements [Consumer]: a blocking read of new entries, bounded by
// [RedisOptions.Block]; when there are none, it takes over an entry
// abandoned by a dead process, or reports the end of the run.
func (c redisConsumer) Next(ctx context.Context) (Request, error) {
	f := c.f
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
		var req Request
		err := f.retry(ctx, "read queue", func(ctx context.Context) error {
			var err error
			req, err = f.read(ctx)
			if errors.Is(err, errNoEntry) {
				req, err = f.idle(ctx)
			}
			return err
		})
		switch {
		case err == nil:
			return req, nil
		case errors.Is(err, errNoEntry):
			if f.onEmptyRead != nil {
				f.onEmptyRead()
			}
			continue
		case errors.Is(err, structured.ErrEndOfStream):
			f.mu.Lock()
			f.ended = true
			f.mu.Unlock()
			return Request{}, err
		default:
			return Request{}, err
		}
	}
}

func (c redisConsumer) Close() error { return nil }

// read waits up to Block for a new entry of the queue.
func (f *RedisFrontier) read(ctx context.Context) (Request, error) {
	streams, err := f.client.XReadGroup(ctx, &redis.XReadGroupArgs{
		Group: redisGroup, Consumer: f.opts.Consumer,
		Streams: []string{f.keys.queue, ">"}, Count: 1, Block: f.opts.Block,
	}).Result()
	if errors.Is(err, redis.Nil) {
		return Request{}, errNoEntry
	}
	if err != nil {
		if isNoGroup(err) {
			err = f.recreateGroup(ctx, err)
		}
		return Request{}, err
	}
	for _, s := range streams {
		for _, m := range s.Messages {
			return f.take(m.ID, m.Values), nil
		}
	}
	return Request{}, errNoEntry
}

func isNoGroup(err error) bool {
	var rerr redis.Error
	return errors.As(err, &rerr) && strings.HasPrefix(rerr.Error(), "NOGROUP")
}

// recreateGroup recreates the consumer group when a Redis restarted
// without its data lost it; err is then retried.
func (f *RedisFrontier) recreateGroup(ctx context.Context, err error) error {
	if cerr := f.client.XGroupCreateMkStream(ctx, f.keys.queue, redisGroup, "0").Err(); cerr != nil && !isBusyGroup(cerr) {
		return cerr
	}
	return err
}

// idleScript runs when the queue has nothing new: it takes over one entry
// pending longer than ClaimAfter on a consumer whose alive key is gone, or
// says whether the run is still busy (entries queued or in flight, or a
// live process still seeding) or finished. A slow request of a live
// process is never taken, however long it takes: XAUTOCLAIM cannot tell
// the two apart, so the script walks the pending entries (at most 1000 a
// call) with XPENDING and claims with XCLAIM. It also takes back an entry
// pending on this very consumer that the process does not hold (ARGV[5:]
// are the entries it holds): one delivered by a read whose reply was lost
// when the connection broke.
var idleScript = redis.NewScript(`
local held = {}
for i = 5, #ARGV do held[ARGV[i]] = true end
local start = '-'
for page = 1, 10 do
  local pend = redis.call('XPENDING', KEYS[1], ARGV[1], 'IDLE', tonumber(ARGV[3]), start, '+', 100)
  for _, e in ipairs(pend) do
    local mine = e[2] == ARGV[2]
    if (mine and not held[e[1]]) or (not mine and redis.call('EXISTS', ARGV[4] .. 'alive:' .. e[2]) == 0) then
      local got = redis.call('XCLAIM', KEYS[1], ARGV[1], ARGV[2], tonumber(ARGV[3]), e[1])
      if #got > 0 and got[1] then return {'claimed', got[1][1], got[1][2]} end
    end
  end
  if #pend < 100 then break end
  start = '(' .. pend[#pend][1]
end
if redis.call('XLEN', KEYS[1]) > 0 then return {'busy'} end
for _, s in ipairs(redis.call('SMEMBERS', KEYS[2])) do
  if redis.call('EXISTS', ARGV[4] .. 'alive:' .. s) == 1 then return {'seeding'} end
  redis.call('SREM', KEYS[2], s)
end
return {'finished'}
`)

// idle reclaims an abandoned entry, or returns errNoEntry while the run is
// busy, or ErrEndOfStream once it is over.
func (f *RedisFrontier) idle(ctx context.Context) (Request, error) {
	args := []any{redisGroup, f.opts.Consumer, f.opts.ClaimAfter.Milliseconds(), f.keys.prefix}
	f.mu.Lock()
	for _, id := range f.inFlight {
		args = append(args, id)
	}
	for id := range f.written {
		args = append(args, id)
	}
	f.mu.Unlock()
	res, err := idleScript.Run(ctx, f.client, []string{f.keys.queue, f.keys.seeders}, args...).Slice()
	if err != nil {
		if isNoGroup(err) {
			err = f.recreateGroup(ctx, err)
		}
		return Request{}, err
	}
	switch res[0] {
	case "claimed":
		id, _ := res[1].(string)
		flat, _ := res[2].([]any)
		values := map[string]any{}
		for i := 0; i+1 < len(flat); i += 2 {
			k, _ := flat[i].(string)
			values[k] = flat[i+1]
		}
		return f.take(id, values), nil
	case "finished":
		return Request{}, structured.ErrEndOfStream
	}
	return Request{}, errNoEntry
}

// take records that this process holds entry id and decodes its request.
func (f *RedisFrontier) take(id string, values map[string]any) Request {
	str := func(k string) string { s, _ := values[k].(string); return s }
	depth, _ := strconv.Atoi(str("depth"))
	line, _ := strconv.Atoi(str("line"))
	req := Request{URL: str("url"), Depth: depth, Source: str("source"), Line: line, Input: str("input")}
	f.mu.Lock()
	f.inFlight[req.URL] = id
	f.mu.Unlock()
	return req
}
