//go:build darwin || dragonfly || freebsd || linux || netbsd || openbsd

package store

import (
	"context"
	"errors"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// TestLockRefusesFIFO: a lock file that is a FIFO is refused at once
// instead of blocking in open until a writer comes.
func TestLockRefusesFIFO(t *testing.T) {
	path := filepath.Join(t.TempDir(), "fifo")
	if err := syscall.Mkfifo(path, 0o644); err != nil {
		t.Skipf("mkfifo: %v", err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	l, err := AcquireLock(ctx, path)
	if err == nil {
		l.Release()
		t.Fatal("locked a FIFO")
	}
	if !errors.Is(err, ErrNotRegularFile) {
		t.Fatalf("AcquireLock(FIFO) = %v, want ErrNotRegularFile", err)
	}
}
