//go:build !(darwin || dragonfly || freebsd || linux || netbsd || openbsd)

package store

import (
	"errors"
	"os"
)

var errWouldBlock = errors.New("store: lock held")

// tryFlock fails: file locks are not implemented on this system.
func tryFlock(*os.File) error { return errors.ErrUnsupported }
