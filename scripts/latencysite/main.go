// Command latencysite serves small HTML pages on 127.0.0.1 with a fixed
// delay before every response, so that one connection carries at most
// 1/delay requests a second: a stand-in for a remote site, whose
// throughput grows with the number of connections, hence of trawl
// processes. It prints its base URL on stdout and serves until SIGINT,
// SIGTERM or --for.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"sync/atomic"
	"syscall"
	"time"
)

func main() {
	delay := flag.Duration("delay", 10*time.Millisecond, "delay before every response")
	limit := flag.Duration("for", 10*time.Minute, "stop serving after this long")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ctx, cancel := context.WithTimeout(ctx, *limit)
	defer cancel()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, "latencysite:", err)
		os.Exit(1)
	}
	var served atomic.Int64
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-time.After(*delay):
		case <-r.Context().Done():
			return
		}
		served.Add(1)
		fmt.Fprintf(w, "<!doctype html><title>%s</title><body>ok</body>", r.URL.Path)
	})}
	fmt.Printf("http://%s\n", l.Addr())
	stopped := make(chan error, 1)
	context.AfterFunc(ctx, func() { stopped <- srv.Shutdown(context.Background()) })
	if err := srv.Serve(l); !errors.Is(err, http.ErrServerClosed) {
		fmt.Fprintln(os.Stderr, "latencysite:", err)
		os.Exit(1)
	}
	<-stopped
	fmt.Fprintf(os.Stderr, "latencysite: served %d requests\n", served.Load())
}
