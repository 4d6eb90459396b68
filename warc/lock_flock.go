//go:build darwin || dragonfly || freebsd || linux || netbsd || openbsd

package warc

import (
	"errors"
	"os"
	"syscall"
)

// lockOpen takes the exclusive flock of f, an ".open" file, without
// waiting: its writer holds it for as long as the file is open, and the
// kernel drops it when that process ends, however it ends (kill -9
// included). It fails with an error matching errInUse when another open
// of the file holds the lock. Where the file system has no locks (some
// NFS mounts), it does nothing, as where flock is missing.
func lockOpen(f *os.File) error {
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		switch {
		case errors.Is(err, syscall.EWOULDBLOCK):
			return errInUse
		case errors.Is(err, syscall.ENOLCK), errors.Is(err, syscall.EOPNOTSUPP), errors.Is(err, syscall.ENOTSUP):
			return nil
		case !errors.Is(err, syscall.EINTR):
			return err
		}
	}
}
