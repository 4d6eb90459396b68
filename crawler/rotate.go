package crawler

import (
	"net/http"
	"sync"
)

// rotateAfterErrors is how many failed round trips a transport serves
// before [rotatingTransport] replaces it with a fresh clone.
const rotateAfterErrors = 1024

// rotatingTransport is an [http.Transport] replaced by a fresh clone of
// itself every rotateAfterErrors failed round trips. net/http keeps, for
// every host whose request got no connection (refused, timed out, no such
// host), an entry in its queue of requests waiting for an idle connection
// (Transport.idleConnWait): the entry is dropped only when a connection to
// that host becomes idle, which for a host that never answers is never.
// Over a million unreachable hosts that alone held about 550 bytes per
// host; no field or method of Transport clears it (golang/go#50798 was
// closed unmerged). Dropping the whole transport drops those entries; the
// cost is the idle connections of the old one, at most once per 1,024
// failures. Requests in flight on the old transport finish there.
type rotatingTransport struct {
	mu     sync.Mutex
	cur    *http.Transport
	errors int // failed round trips on cur
	every  int
}

func newRotatingTransport(t *http.Transport, every int) *rotatingTransport {
	return &rotatingTransport{cur: t, every: every}
}

// current returns the transport new requests go to.
func (r *rotatingTransport) current() *http.Transport {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.cur
}

// RoundTrip sends req on the current transport, counting a failure
// against it.
func (r *rotatingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	t := r.current()
	resp, err := t.RoundTrip(req)
	if err != nil {
		r.failed(t)
	}
	return resp, err
}

// failed counts a failed round trip on t, and replaces t by a clone once
// it has failed every times.
func (r *rotatingTransport) failed(t *http.Transport) {
	r.mu.Lock()
	if t != r.cur {
		r.mu.Unlock()
		return
	}
	r.errors++
	if r.errors < r.every {
		r.mu.Unlock()
		return
	}
	r.cur, r.errors = t.Clone(), 0
	r.mu.Unlock()
	t.CloseIdleConnections()
}

// CloseIdleConnections closes the current transport's idle connections
// (an old one's were closed when it was replaced).
func (r *rotatingTransport) CloseIdleConnections() {
	r.current().CloseIdleConnections()
}
