//go:build !(darwin || dragonfly || freebsd || linux || netbsd || openbsd)

package store

import (
	"errors"
	"os"
)

var errWouldBlock = errors.New("store: lock held")

// oNoFollow is 0: there is no flag to refuse symbolic links here (and no
// lock either).
const oNoFollow = 0

// tryFlock fails: file locks are not implemented on this system.
func tryFlock(*os.File) error { return errors.ErrUnsupported }
