// Package redistest starts a real redis-server for tests, on 127.0.0.1
// and a free port, with its files in a temporary directory, and stops it
// when the test ends.
package redistest

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// startTimeout bounds the start (and the stop) of a server.
const startTimeout = 20 * time.Second

// Server is a running redis-server.
type Server struct {
	t          *testing.T
	bin        string
	dir        string
	port       int
	persistent bool
	cmd        *exec.Cmd
	log        *logBuf
}

// An Option changes how the server runs.
type Option func(*Server)

// Persistent makes the server keep its data across Restart in an
// append-only file synced on every write. Without it, persistence is off.
func Persistent() Option { return func(s *Server) { s.persistent = true } }

// Start starts a redis-server and stops it at the end of t. Without one
// installed the test is skipped, or fails when CI=true.
func Start(t *testing.T, opts ...Option) *Server {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		msg := "redis-server is not installed (apt-get install -y redis-server)"
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	s := &Server{t: t, bin: bin, dir: t.TempDir()}
	for _, o := range opts {
		o(s)
	}
	s.port = freePort(t)
	s.start()
	t.Cleanup(func() { s.stop(syscall.SIGKILL) })
	return s
}

// URL is the server's address as trawl takes it: redis://127.0.0.1:port/0.
func (s *Server) URL() string { return fmt.Sprintf("redis://127.0.0.1:%d/0", s.port) }

// Restart stops the server (SIGTERM: a clean shutdown) and starts it again
// on the same port and directory.
func (s *Server) Restart() {
	s.t.Helper()
	s.stop(syscall.SIGTERM)
	s.start()
}

// Stop stops the server at once (SIGKILL); Start it again with Restart's
// second half, StartAgain.
func (s *Server) Stop() { s.stop(syscall.SIGKILL) }

// StartAgain starts a stopped server again on the same port and directory.
func (s *Server) StartAgain() {
	s.t.Helper()
	s.start()
}

func (s *Server) start() {
	s.t.Helper()
	args := []string{"--port", strconv.Itoa(s.port), "--bind", "127.0.0.1", "--dir", s.dir, "--save", ""}
	if s.persistent {
		args = append(args, "--appendonly", "yes", "--appendfsync", "always")
	} else {
		args = append(args, "--appendonly", "no")
	}
	s.log = &logBuf{}
	s.cmd = exec.Command(s.bin, args...)
	s.cmd.Stdout, s.cmd.Stderr = s.log, s.log
	if err := s.cmd.Start(); err != nil {
		s.t.Fatalf("start redis-server: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	if err := s.log.waitFor(ctx, "Ready to accept connections"); err != nil {
		s.stop(syscall.SIGKILL)
		s.t.Fatalf("redis-server did not start: %v\n%s", err, s.log)
	}
}

func (s *Server) stop(sig syscall.Signal) {
	if s.cmd == nil {
		return
	}
	_ = s.cmd.Process.Signal(sig)
	timer := time.AfterFunc(startTimeout, func() { _ = s.cmd.Process.Kill() })
	defer timer.Stop()
	_ = s.cmd.Wait()
	s.cmd = nil
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("find a free port: %v", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// logBuf collects the server's log and wakes waiters on every write.
type logBuf struct {
	mu      sync.Mutex
	buf     bytes.Buffer
	changed chan struct{}
}

func (b *logBuf) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf.Write(p)
	if b.changed != nil {
		close(b.changed)
		b.changed = nil
	}
	return len(p), nil
}

func (b *logBuf) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func (b *logBuf) waitFor(ctx context.Context, sub string) error {
	for {
		b.mu.Lock()
		ok := strings.Contains(b.buf.String(), sub)
		if b.changed == nil {
			b.changed = make(chan struct{})
		}
		ch := b.changed
		b.mu.Unlock()
		if ok {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}
