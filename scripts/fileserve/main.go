// Command fileserve serves a directory on 127.0.0.1 for scripts/bench.sh
// when nginx is not installed: a plain net/http file server with
// keep-alives and no logging. It prints the base URL on stdout, then
// serves until SIGINT or SIGTERM, or until --for elapses.
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
	"syscall"
	"time"
)

func main() {
	dir := flag.String("dir", ".", "directory to serve")
	limit := flag.Duration("for", 30*time.Minute, "stop serving after this long")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ctx, cancel := context.WithTimeout(ctx, *limit)
	defer cancel()
	if err := serve(ctx, *dir); err != nil {
		fmt.Fprintln(os.Stderr, "fileserve:", err)
		os.Exit(1)
	}
}

// serve serves dir until ctx is done.
func serve(ctx context.Context, dir string) error {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	srv := &http.Server{
		Handler:           http.FileServer(http.Dir(dir)),
		ReadHeaderTimeout: 5 * time.Second,
		IdleTimeout:       time.Minute,
		MaxHeaderBytes:    16 << 10,
	}
	stop := context.AfterFunc(ctx, func() { srv.Close() })
	defer stop()
	fmt.Println("http://" + ln.Addr().String())
	if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
