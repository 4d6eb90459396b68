package cmd

import (
	"context"
	"errors"
	"net/url"

	"github.com/trawl-dev/trawl/crawler"
	"github.com/trawl-dev/trawl/store"
)

// openRedis joins (or starts) the shared run on --frontier redis://...:
// the frontier, the seen set, --max-pages and the statistics live there.
func (r *pipelineRun) openRedis(ctx context.Context) error {
	o := r.o
	opts := store.RedisOptions{PoolSize: o.Concurrency + 8}
	if o.Crawl {
		opts.MaxPages = o.MaxPages
	}
	run, err := o.runName()
	if err != nil {
		return usageError("--run: derive a name from the inputs: %v", err)
	}
	f, err := store.OpenRedisFrontier(ctx, o.Frontier, run, opts)
	if errors.Is(err, store.ErrRedisUnreachable) {
		return usageError("--frontier %s: %v", redactURL(o.Frontier), err)
	}
	if err != nil {
		return usageError("--frontier: %v", err)
	}
	r.redis, r.frontier = f, f
	o.warnf("trawl: run %s on %s as %s", run, redactURL(o.Frontier), f.ConsumerName())
	return nil
}

// redisOutput commits the results of a run on Redis once they are
// flushed: their entries are acknowledged only when the output holds them
// (at least in the operating system), so a process killed with results in
// its buffer leaves their URLs pending for another process. It also
// counts every result in the run's shared statistics.
type redisOutput struct {
	crawler.ResultWriter
	f *store.RedisFrontier
}

func (w redisOutput) Write(ctx context.Context, res *crawler.Result) error {
	if err := w.ResultWriter.Write(ctx, res); err != nil {
		return err
	}
	kind := ""
	if res.Error != nil {
		kind = string(res.Error.Kind)
	}
	w.f.RecordResult(kind)
	return nil
}

func (w redisOutput) Flush(ctx context.Context) error {
	if err := w.ResultWriter.Flush(ctx); err != nil {
		return err
	}
	return w.f.Commit(ctx)
}

// redactURL hides the password of a Redis URL.
func redactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return "redis://..."
	}
	return u.Redacted()
}
