// Command hostsite serves small HTML pages on many loopback addresses at
// once (127.0.0.2, 127.0.0.3, ...), all on one port, with an optional
// delay before every response: a stand-in for many remote hosts, for
// scripts/bench-hosts.sh. It prints the port on stdout once every address
// listens and serves until SIGINT, SIGTERM or --for. robots.txt is a 404.
// With --log FILE it writes one line per page request, "<unix ns> <host>
// <path>", when it stops: for checking per-host rates at the server.
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
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/trawl-dev/trawl/structured"
)

func main() {
	hosts := flag.Int("hosts", 50, "number of addresses, from 127.0.0.2 up")
	delay := flag.Duration("delay", 0, "delay before every response")
	limit := flag.Duration("for", 10*time.Minute, "stop serving after this long")
	logPath := flag.String("log", "", "write the time, host and path of every page request to this file when stopping")
	flag.Parse()
	var logMu sync.Mutex
	var log strings.Builder
	if *hosts < 1 || *hosts > 250 {
		fmt.Fprintln(os.Stderr, "hostsite: --hosts must be between 1 and 250")
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ctx, cancel := context.WithTimeout(ctx, *limit)
	defer cancel()
	listeners, err := listen(*hosts)
	if err != nil {
		fmt.Fprintln(os.Stderr, "hostsite:", err)
		os.Exit(1)
	}
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/robots.txt" {
			http.NotFound(w, r)
			return
		}
		if *logPath != "" {
			logMu.Lock()
			fmt.Fprintf(&log, "%d %s %s\n", time.Now().UnixNano(), r.Host, r.URL.Path)
			logMu.Unlock()
		}
		if *delay > 0 {
			select {
			case <-time.After(*delay):
			case <-r.Context().Done():
				return
			}
		}
		fmt.Fprintf(w, "<!doctype html><title>%s%s</title><body>ok</body>", r.Host, r.URL.Path)
	})
	fmt.Println(listeners[0].Addr().(*net.TCPAddr).Port)
	err = structured.WithTaskGroup(ctx, func(ctx context.Context, tg *structured.TaskGroup) error {
		for _, l := range listeners {
			srv := &http.Server{Handler: handler}
			context.AfterFunc(ctx, func() { _ = srv.Shutdown(context.Background()) })
			tg.StartSoon(func(context.Context) error {
				if err := srv.Serve(l); !errors.Is(err, http.ErrServerClosed) {
					return err
				}
				return nil
			})
		}
		return nil
	})
	if err != nil && ctx.Err() == nil {
		fmt.Fprintln(os.Stderr, "hostsite:", err)
		os.Exit(1)
	}
	if *logPath != "" {
		logMu.Lock()
		defer logMu.Unlock()
		if err := os.WriteFile(*logPath, []byte(log.String()), 0o644); err != nil {
			fmt.Fprintln(os.Stderr, "hostsite:", err)
			os.Exit(1)
		}
	}
}

// listen listens on 127.0.0.2 .. 127.0.0.(n+1), all on one free port.
func listen(n int) ([]net.Listener, error) {
	var lastErr error
	for try := 0; try < 20; try++ {
		first, err := net.Listen("tcp", "127.0.0.2:0")
		if err != nil {
			return nil, err
		}
		port := strconv.Itoa(first.Addr().(*net.TCPAddr).Port)
		ls := []net.Listener{first}
		for i := 1; i < n; i++ {
			l, err := net.Listen("tcp", net.JoinHostPort(fmt.Sprintf("127.0.0.%d", 2+i), port))
			if err != nil {
				lastErr = err
				break
			}
			ls = append(ls, l)
		}
		if len(ls) == n {
			return ls, nil
		}
		for _, l := range ls {
			l.Close()
		}
	}
	return nil, fmt.Errorf("no port free on all %d addresses: %w", n, lastErr)
}
