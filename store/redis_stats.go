package store

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// RecordResult counts one written result in the run's shared statistics
// at the next Commit: done, and when kind is not empty, failed and the
// count for its error kind. Like the output, the statistics are at least
// once: a URL fetched again after its process died may count twice.
func (f *RedisFrontier) RecordResult(kind string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.counts["done"]++
	if kind != "" {
		f.counts["failed"]++
		f.counts["kind:"+kind]++
	}
}

// RunStats are the shared statistics of a run on Redis.
type RunStats struct {
	Done    int            // results written, by every process
	Failed  int            // results with an error
	ByKind  map[string]int // failures by error kind
	Queued  int            // requests queued or in flight
	Pending int            // entries taken by a process and not yet acknowledged
	Alive   []string       // consumers that are alive now
	Seen    int            // size of the seen set
}

// String formats the statistics for people, one fact a line.
func (s RunStats) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "done:      %d\nfailed:    %d\n", s.Done, s.Failed)
	kinds := make([]string, 0, len(s.ByKind))
	for k := range s.ByKind {
		kinds = append(kinds, k)
	}
	sort.Strings(kinds)
	for _, k := range kinds {
		fmt.Fprintf(&b, "  %s: %d\n", k, s.ByKind[k])
	}
	fmt.Fprintf(&b, "queued:    %d (in flight %d)\nseen:      %d\nprocesses: %d alive %v\n",
		s.Queued, s.Pending, s.Seen, len(s.Alive), s.Alive)
	return b.String()
}

// ReadRunStats reads the statistics of the run named run from the Redis
// server at rawURL. A run nobody started reads as all zeros.
func ReadRunStats(ctx context.Context, rawURL, run string) (RunStats, error) {
	client, err := newRedisClient(rawURL, 2)
	if err != nil {
		return RunStats{}, err
	}
	defer client.Close()
	keys := newRedisKeys(run)
	if err := client.Ping(ctx).Err(); err != nil {
		return RunStats{}, fmt.Errorf("%w: %s: %v", ErrRedisUnreachable, client.Options().Addr, err)
	}
	h, err := client.HGetAll(ctx, keys.stats).Result()
	if err != nil {
		return RunStats{}, fmt.Errorf("read statistics of run %s: %w", run, err)
	}
	s := RunStats{ByKind: map[string]int{}}
	for k, v := range h {
		n, _ := strconv.Atoi(v)
		switch {
		case k == "done":
			s.Done = n
		case k == "failed":
			s.Failed = n
		case strings.HasPrefix(k, "kind:"):
			s.ByKind[strings.TrimPrefix(k, "kind:")] = n
		}
	}
	queued, _ := client.Get(ctx, keys.pending).Int()
	s.Queued = queued
	consumers, _ := client.SMembers(ctx, keys.consumers).Result()
	for _, c := range consumers {
		n, _ := client.HLen(ctx, keys.taken(c)).Result()
		s.Pending += int(n)
	}
	seen, _ := client.SCard(ctx, keys.seen).Result()
	s.Seen = int(seen)
	iter := client.Scan(ctx, 0, keys.prefix+"alive:*", 100).Iterator()
	for iter.Next(ctx) {
		s.Alive = append(s.Alive, strings.TrimPrefix(iter.Val(), keys.prefix+"alive:"))
	}
	sort.Strings(s.Alive)
	return s, iter.Err()
}
