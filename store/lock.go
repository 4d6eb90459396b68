package store

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/trawl-dev/trawl/structured"
)

// ErrLocked is matched by every [*LockedError].
var ErrLocked = errors.New("store: locked by another run")

// LockedError is returned by [AcquireLock] when another open of the lock
// file holds the lock, usually another trawl process.
type LockedError struct {
	Path string // the lock file
	PID  int    // the holder's process id as it wrote it, or 0 if unknown
}

// Error names the lock file and, when known, the holder.
func (e *LockedError) Error() string {
	if e.PID == 0 {
		return fmt.Sprintf("lock %s: held by another process", e.Path)
	}
	return fmt.Sprintf("lock %s: held by process %d", e.Path, e.PID)
}

// Is reports whether target is [ErrLocked].
func (e *LockedError) Is(target error) bool { return target == ErrLocked }

// A Lock is an exclusive advisory lock (flock) on a file, held until
// [Lock.Release] or until the process ends, however it ends: the kernel
// releases it with the last descriptor. A Lock conflicts with every other
// open of the file, in this process or another.
type Lock struct {
	f    *os.File
	path string
}

// AcquireLock creates the lock file at path if needed and takes its lock
// without waiting. It then writes the process id into the file, for the
// message of a later run that finds it held. If the lock is held,
// AcquireLock returns a [*LockedError] with the holder's process id.
// The file is not removed on release: removing it would let two runs
// lock two different files of the same name.
func AcquireLock(ctx context.Context, path string) (*Lock, error) {
	return structured.RunSync(ctx, func(context.Context) (*Lock, error) {
		f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
		if err != nil {
			return nil, err
		}
		if err := tryFlock(f); err != nil {
			f.Close()
			if errors.Is(err, errWouldBlock) {
				return nil, &LockedError{Path: path, PID: readPID(path)}
			}
			return nil, fmt.Errorf("lock %s: %w", path, err)
		}
		if err := writePID(f); err != nil {
			f.Close()
			return nil, fmt.Errorf("lock %s: %w", path, err)
		}
		return &Lock{f: f, path: path}, nil
	})
}

// Release empties the lock file and releases the lock. Releasing twice
// returns an error matching os.ErrClosed.
func (l *Lock) Release() error {
	if err := l.f.Truncate(0); err != nil {
		return err
	}
	return l.f.Close()
}

// Path returns the lock file's path.
func (l *Lock) Path() string { return l.path }

func writePID(f *os.File) error {
	if err := f.Truncate(0); err != nil {
		return err
	}
	_, err := f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	return err
}

// readPID returns the process id in the lock file, or 0: the holder may
// not have written it yet.
func readPID(path string) int {
	b, err := os.ReadFile(path)
	if err != nil || len(b) > 64 {
		return 0
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || pid < 0 {
		return 0
	}
	return pid
}
