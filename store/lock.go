package store

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
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

// ErrNotPIDFile is returned by [AcquireLock] when the holder's pid file
// ([PIDPath]) exists with content that is not a process id: it is not
// trawl's, and trawl does not overwrite it.
var ErrNotPIDFile = errors.New("store: exists and is not a pid file")

// ErrNotRegularFile is returned by [AcquireLock] when the lock file exists
// and is not a regular file: opening a FIFO would block until a writer
// comes, and a device is no file to lock.
var ErrNotRegularFile = errors.New("store: not a regular file")

// PIDPath returns the path of the file that holds the process id of the
// holder of the lock file at path.
func PIDPath(path string) string { return path + ".pid" }

// A Lock is an exclusive advisory lock (flock) on a file, held until
// [Lock.Release] or until the process ends, however it ends: the kernel
// releases it with the last descriptor. A Lock conflicts with every other
// open of the file, in this process or another.
//
// The lock file itself is never written: it may be any file, even one
// with content (the output, say), and it stays byte for byte as it was.
// The holder's process id goes to a separate file, [PIDPath], created by
// the holder and removed by its Release.
type Lock struct {
	f       *os.File
	path    string
	pidPath string // the pid file this holder wrote, removed on Release
}

// AcquireLock opens the lock file at path, creating it empty if it is
// missing and never truncating it, and takes its lock without waiting. It
// then writes the process id into [PIDPath](path), for the message of a
// later run that finds the lock held. If the lock is held, AcquireLock
// returns a [*LockedError] with the holder's process id. A pid file that
// exists with other content than a process id fails with
// [ErrNotPIDFile], and the lock is not taken. The lock file is not
// removed on release: removing it would let two runs lock two different
// files of the same name.
func AcquireLock(ctx context.Context, path string) (*Lock, error) {
	return structured.RunSync(ctx, func(context.Context) (*Lock, error) {
		f, err := openLockFile(path)
		if err != nil {
			return nil, err
		}
		if err := tryFlock(f); err != nil {
			f.Close()
			if errors.Is(err, errWouldBlock) {
				return nil, &LockedError{Path: path, PID: holderPID(path)}
			}
			return nil, fmt.Errorf("lock %s: %w", path, err)
		}
		pidPath := PIDPath(path)
		if err := writePID(pidPath); err != nil {
			f.Close()
			return nil, fmt.Errorf("lock %s: %w", path, err)
		}
		return &Lock{f: f, path: path, pidPath: pidPath}, nil
	})
}

// Release removes the pid file, if it still holds this process's id, and
// releases the lock. Releasing twice returns an error matching
// os.ErrClosed.
func (l *Lock) Release() error {
	var err error
	if l.pidPath != "" {
		if pid, perr := readPID(l.pidPath); perr == nil && pid == os.Getpid() {
			if rerr := os.Remove(l.pidPath); rerr != nil && !errors.Is(rerr, os.ErrNotExist) {
				err = fmt.Errorf("unlock %s: %w", l.path, rerr)
			}
		}
		l.pidPath = ""
	}
	return errors.Join(err, l.f.Close())
}

// Path returns the lock file's path.
func (l *Lock) Path() string { return l.path }

// openLockFile opens the lock file at path read-only (flock needs no
// write access, and nothing is written), creating it empty if it is
// missing. It is created with O_EXCL, which follows no symbolic link: a
// link planted where a lock file in a shared directory (/tmp) goes must
// not make trawl create the file it points to. An existing file, or a
// link to one, is opened as it is.
func openLockFile(path string) (*os.File, error) {
	if fi, err := os.Stat(path); err == nil && !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("lock %s: %w", path, ErrNotRegularFile)
	}
	f, err := os.Open(path)
	if !errors.Is(err, os.ErrNotExist) {
		return f, err
	}
	f, err = os.OpenFile(path, os.O_RDONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if errors.Is(err, os.ErrExist) {
		// Created meanwhile by another run; or a link to a missing
		// file, which stays missing.
		return os.Open(path)
	}
	return f, err
}

// writePID writes the process id into the pid file at path, unless it
// exists with content that is not a process id (not trawl's). A symbolic
// link there is not followed (where the system can tell: oNoFollow), so
// that a link planted in a shared directory cannot make trawl write into
// the file it points to.
func writePID(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|oNoFollow, 0o644)
	if err != nil {
		return err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, 64))
	if err != nil {
		return err
	}
	if len(bytes.TrimSpace(b)) > 0 {
		if _, perr := parsePID(b); perr != nil {
			return fmt.Errorf("%s %w", path, ErrNotPIDFile)
		}
	}
	if err := f.Truncate(0); err != nil {
		return err
	}
	_, err = f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	return err
}

// holderPID returns the process id of the holder of the lock file at
// path from its pid file, or 0: the holder may not have written it yet.
func holderPID(path string) int {
	pid, err := readPID(PIDPath(path))
	if err != nil {
		return 0
	}
	return pid
}

// readPID returns the process id in the pid file at path.
func readPID(path string) (int, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, 64))
	if err != nil {
		return 0, err
	}
	return parsePID(b)
}

// errBadPID is the cause of a pid file that holds something else.
var errBadPID = errors.New("not a process id")

func parsePID(b []byte) (int, error) {
	if len(b) >= 64 {
		return 0, errBadPID
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || pid <= 0 {
		return 0, errBadPID
	}
	return pid, nil
}
