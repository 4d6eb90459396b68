package crawler

import (
	"errors"
	"net"
	"net/url"
	"os"
	"syscall"
)

// netError is a transport failure with a message about what the user
// asked for — "connect 127.0.0.1:8902: connection refused" — instead of
// the nested text of net/http ("Get \"…\": dial tcp …: connect: …").
// It unwraps to the original error, so kinds and timeouts classify the
// same.
type netError struct {
	msg string
	err error
}

func (e *netError) Error() string { return e.msg }
func (e *netError) Unwrap() error { return e.err }

// plainNetError returns err with a plain message when it is one of the
// common transport failures, err itself otherwise.
func plainNetError(err error) error {
	var (
		op    *net.OpError
		dns   *net.DNSError
		errno syscall.Errno
	)
	switch {
	case errors.As(err, &dns):
		return &netError{msg: dns.Error(), err: err}
	case errors.As(err, &op) && op.Op == "dial" && op.Addr != nil:
		detail := op.Err
		if errors.As(op.Err, &errno) {
			detail = errno
		} else if sys := (*os.SyscallError)(nil); errors.As(op.Err, &sys) {
			detail = sys.Err
		}
		return &netError{msg: "connect " + op.Addr.String() + ": " + detail.Error(), err: err}
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		return &netError{msg: ue.Err.Error(), err: err}
	}
	return err
}
