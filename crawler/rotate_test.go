package crawler

import (
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"reflect"
	"testing"
	"time"
)

// waitingForIdle returns how many hosts t keeps in its queue of requests
// waiting for an idle connection (the unexported Transport.idleConnWait).
func waitingForIdle(t *testing.T, tr *http.Transport) int {
	t.Helper()
	f := reflect.ValueOf(tr).Elem().FieldByName("idleConnWait")
	if !f.IsValid() {
		t.Skip("net/http.Transport has no idleConnWait any more: check whether rotatingTransport is still needed")
	}
	return f.Len()
}

// A transport over many hosts that refuse connections keeps no per-host
// entry past its rotation: memory stays bounded over a million unreachable
// hosts, and requests to a live host still work after a rotation.
func TestTransportForgetsUnreachableHosts(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close() // nothing listens on port now: connections are refused
	live := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, "ok")
	}))
	defer live.Close()

	const every, hosts = 100, 1000
	r := newRotatingTransport(newTransport(&Config{PerHost: 2, Timeout: 10 * time.Second}), every)
	defer r.CloseIdleConnections()
	first := r.current()
	for i := range hosts {
		req, err := http.NewRequestWithContext(t.Context(), http.MethodGet,
			fmt.Sprintf("http://127.1.%d.%d:%d/", i/256, i%256, port), nil)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := r.RoundTrip(req)
		if err == nil {
			resp.Body.Close()
			t.Fatalf("%s answered: want a refused connection", req.URL)
		}
		if n := waitingForIdle(t, r.current()); n >= every {
			t.Fatalf("after %d unreachable hosts the transport keeps %d of them, want fewer than %d", i+1, n, every)
		}
	}
	if r.current() == first {
		t.Fatalf("no rotation after %d failures", hosts)
	}
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, live.URL, nil)
	resp, err := r.RoundTrip(req)
	if err != nil {
		t.Fatalf("live host after rotations: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("live host after rotations: status %d", resp.StatusCode)
	}
}
