// Command serve serves trawl's generated sample site on 127.0.0.1 for
// benchmark scripts: it prints the base URL on stdout, then serves until
// it gets SIGINT or SIGTERM, or --for elapses.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/trawl-dev/trawl/crawler/demosite"
)

func main() {
	pages := flag.Int("pages", 20000, "pages in the site")
	seed := flag.Uint64("seed", 1, "seed of the site")
	limit := flag.Duration("for", 30*time.Minute, "stop serving after this long")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ctx, cancel := context.WithTimeout(ctx, *limit)
	defer cancel()
	site := demosite.Site{Pages: *pages, Seed: *seed}
	err := demosite.Serve(ctx, site, func(base string) { fmt.Println(base) })
	if err != nil {
		fmt.Fprintln(os.Stderr, "serve:", err)
		os.Exit(1)
	}
}
