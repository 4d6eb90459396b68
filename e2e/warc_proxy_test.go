//go:build linux

package e2e

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/trawl-dev/trawl/structured"
	"github.com/trawl-dev/trawl/warc"
)

// connectProxy is a CONNECT proxy on loopback that wants the basic
// credentials user:pass and tunnels every CONNECT to the address to,
// whatever its target; asked returns the targets it was asked for.
func connectProxy(t *testing.T, to, user, pass string) (*httptest.Server, func() []string) {
	var mu sync.Mutex
	var asked []string
	want := "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+pass))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		asked = append(asked, r.Method+" "+r.Host)
		mu.Unlock()
		if r.Header.Get("Proxy-Authorization") != want {
			w.Header().Set("Proxy-Authenticate", `Basic realm="e2e"`)
			http.Error(w, "who are you", http.StatusProxyAuthRequired)
			return
		}
		if r.Method != http.MethodConnect {
			http.Error(w, "CONNECT only", http.StatusMethodNotAllowed)
			return
		}
		up, err := net.Dial("tcp", to)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		conn, _, err := w.(http.Hijacker).Hijack()
		if err != nil {
			up.Close()
			return
		}
		io.WriteString(conn, "HTTP/1.1 200 Connection established\r\n\r\n")
		structured.WithTaskGroup(context.Background(), func(ctx context.Context, tg *structured.TaskGroup) error {
			for _, p := range [][2]net.Conn{{conn, up}, {up, conn}} {
				tg.StartSoon(func(context.Context) error {
					io.Copy(p[0], p[1])
					conn.Close()
					up.Close()
					return nil
				})
			}
			return nil
		})
	}))
	t.Cleanup(srv.Close)
	return srv, func() []string {
		mu.Lock()
		defer mu.Unlock()
		return append([]string(nil), asked...)
	}
}

// TestWarcProxy: under --warc, an https page fetched through a proxy
// (--proxy, or HTTPS_PROXY) is archived like a direct one: the plain
// HTTP/1.1 above TLS, named by the target's URL, digests verified. The
// proxy gets its credentials in the CONNECT; they appear in no WARC file
// and not on stderr; a proxy refusing them fails the URL (kind connect,
// naming the proxy with its password redacted). The environment's rules
// hold: NO_PROXY and loopback targets go direct.
func TestWarcProxy(t *testing.T) {
	t.Parallel()
	ctx := testContext(t)
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		fmt.Fprintf(w, "<title>%s %s</title>", r.Proto, r.Host)
	}))
	srv.EnableHTTP2 = true
	srv.StartTLS()
	t.Cleanup(srv.Close)
	_, port, _ := net.SplitHostPort(srv.Listener.Addr().String())
	target := "https://example.com:" + port + "/" // the proxy tunnels it to srv; its certificate is for example.com
	dir := t.TempDir()
	ca := filepath.Join(dir, "ca.pem")
	if err := os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o644); err != nil {
		t.Fatal(err)
	}
	const secret = "s3cret-pw"
	proxy, asked := connectProxy(t, srv.Listener.Addr().String(), "alice", secret)
	withCreds := strings.Replace(proxy.URL, "http://", "http://alice:"+secret+"@", 1)

	run := func(name string, env []string, args ...string) ([]warcLine, archived) {
		t.Helper()
		out, prefix := filepath.Join(dir, name+".jsonl"), filepath.Join(dir, name)
		cmd := trawlCmd(ctx, append([]string{"fetch", "-q", "--no-robots", "--retries", "0", "-o", out, "--warc", prefix}, args...)...)
		cmd.Env = append(append(cmd.Env, "SSL_CERT_FILE="+ca), env...)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		if err := cmd.Run(); err != nil {
			t.Fatalf("%s: trawl: %v\n%s", name, err, stderr.String())
		}
		if strings.Contains(stderr.String(), secret) {
			t.Errorf("%s: stderr holds the proxy's password:\n%s", name, stderr.String())
		}
		a := readArchive(t, prefix)
		for _, f := range a.files {
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			zr, err := gzip.NewReader(bytes.NewReader(b))
			if err != nil {
				t.Fatal(err)
			}
			plain, err := io.ReadAll(zr)
			if err != nil {
				t.Fatal(err)
			}
			for _, s := range []string{secret, base64.StdEncoding.EncodeToString([]byte("alice:" + secret))} {
				if bytes.Contains(plain, []byte(s)) || bytes.Contains(b, []byte(s)) {
					t.Errorf("%s: %s holds the proxy's credentials (%s)", name, f, s)
				}
			}
		}
		if b, _ := os.ReadFile(out); bytes.Contains(b, []byte(secret)) {
			t.Errorf("%s: the output holds the proxy's password:\n%s", name, b)
		}
		return readWarcLines(t, out), a
	}
	wantArchived := func(name string, lines []warcLine, a archived, url, host string) {
		t.Helper()
		if len(lines) != 1 || lines[0].Status != 200 || lines[0].Proto != "HTTP/1.1" || lines[0].Warc == nil {
			t.Fatalf("%s: records %+v, want one page over HTTP/1.1 with its warc place", name, lines)
		}
		checkPages(t, lines, a)
		var req, resp *warc.ReadRecord
		for _, r := range a.recs {
			switch r.Type() {
			case warc.TypeRequest:
				req = r
			case warc.TypeResponse:
				resp = r
			}
		}
		if req == nil || resp == nil {
			t.Fatalf("%s: no request and response records", name)
		}
		if got := resp.Header.Get("WARC-Target-URI"); got != url || req.Header.Get("WARC-Target-URI") != url {
			t.Errorf("%s: target %s, want %s", name, got, url)
		}
		if want := "GET / HTTP/1.1\r\nHost: " + host + "\r\n"; !bytes.HasPrefix(req.Block, []byte(want)) {
			t.Errorf("%s: request block %q, want it to start with %q", name, req.Block, want)
		}
		if want := fmt.Sprintf("<title>HTTP/1.1 %s</title>", host); !bytes.HasPrefix(resp.Block, []byte("HTTP/1.1 200 OK\r\n")) || !bytes.HasSuffix(resp.Block, []byte(want)) {
			t.Errorf("%s: response block %q, want the plain-text response ending %q", name, resp.Block, want)
		}
	}

	lines, a := run("flag", nil, "--proxy", withCreds, target)
	wantArchived("--proxy", lines, a, target, "example.com:"+port)
	lines, a = run("env", []string{"HTTPS_PROXY=" + withCreds}, target)
	wantArchived("HTTPS_PROXY", lines, a, target, "example.com:"+port)
	if got, want := fmt.Sprint(asked()), fmt.Sprintf("[CONNECT example.com:%s CONNECT example.com:%s]", port, port); got != want {
		t.Errorf("the proxy was asked %s, want %s", got, want)
	}

	// Loopback goes direct with a proxy from the environment (Go's rule),
	// and so does a NO_PROXY host: the proxy hears of neither.
	lines, a = run("loopback", []string{"HTTPS_PROXY=" + withCreds}, srv.URL+"/")
	wantArchived("loopback", lines, a, srv.URL+"/", srv.Listener.Addr().String())
	lines, _ = run("noproxy", []string{"HTTPS_PROXY=" + withCreds, "NO_PROXY=example.com"}, target)
	if len(lines) != 1 || lines[0].Error == nil || !strings.Contains(string(*lines[0].Error), `"dns"`) {
		t.Errorf("NO_PROXY: records %+v, want the direct lookup of example.com failing with kind dns", lines)
	}
	if n := len(asked()); n != 2 {
		t.Errorf("the proxy was asked %v, want nothing more than the two CONNECTs", asked())
	}

	// Wrong credentials: the proxy answers 407.
	wrong := strings.Replace(proxy.URL, "http://", "http://alice:wrong-"+secret+"@", 1)
	lines, a = run("refused", nil, "--proxy", wrong, target)
	var e struct{ Kind, Message string }
	if len(lines) != 1 || lines[0].Error == nil || json.Unmarshal(*lines[0].Error, &e) != nil {
		t.Fatalf("refused: records %+v, want one failed page", lines)
	}
	redacted := strings.Replace(proxy.URL, "http://", "http://alice:***@", 1)
	if e.Kind != "connect" || !strings.Contains(e.Message, redacted) || !strings.Contains(e.Message, "407 Proxy Authentication Required") {
		t.Errorf("refused: error %+v, want kind connect naming %s and the status", e, redacted)
	}
	for _, r := range a.recs {
		if r.Type() != warc.TypeWarcinfo {
			t.Errorf("refused: %s record, want none but warcinfo (the target never answered)", r.Type())
		}
	}
}
