//go:build unix

package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"go.uber.org/goleak"
)

// update regenerates the golden files in testdata/.
var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// trawlBin is the binary under test, built once by TestMain.
var trawlBin string

// testTimeout bounds every test's waits and subprocesses.
const testTimeout = 60 * time.Second

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "trawl-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		os.Exit(1)
	}
	trawlBin = filepath.Join(dir, "trawl")
	build := exec.Command("go", "build", "-o", trawlBin, "github.com/trawl-dev/trawl")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "e2e: build trawl:", err)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	goleak.VerifyTestMain(m, goleak.Cleanup(func(code int) {
		os.RemoveAll(dir)
		os.Exit(code)
	}))
}

// testContext returns a context that ends at the test's deadline.
func testContext(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	t.Cleanup(cancel)
	return ctx
}

// proc is a running trawl process with its output captured.
type proc struct {
	t      *testing.T
	ctx    context.Context
	cmd    *exec.Cmd
	stdout *watchBuf
	stderr *watchBuf
	done   chan struct{} // closed when the process was waited for
	code   int
}

// trawlCmd returns the command running trawl with args under ctx, with
// an environment free of proxies.
func trawlCmd(ctx context.Context, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, trawlBin, args...)
	for _, kv := range os.Environ() {
		if !strings.Contains(strings.ToLower(strings.SplitN(kv, "=", 2)[0]), "proxy") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	// At the deadline, SIGQUIT makes trawl dump its goroutines on stderr,
	// which the failing test prints; WaitDelay then kills it.
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGQUIT) }
	cmd.WaitDelay = 5 * time.Second
	return cmd
}

// startTrawl starts trawl with args; stdin may be nil. The process is
// killed at the end of the test if it is still running.
func startTrawl(t *testing.T, ctx context.Context, stdin io.Reader, args ...string) *proc {
	t.Helper()
	p := &proc{t: t, ctx: ctx, cmd: trawlCmd(ctx, args...), stdout: &watchBuf{}, stderr: &watchBuf{}, done: make(chan struct{})}
	p.cmd.Stdin = stdin
	p.cmd.Stdout, p.cmd.Stderr = p.stdout, p.stderr
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("start trawl %v: %v", args, err)
	}
	t.Cleanup(func() {
		select {
		case <-p.done:
		default:
			p.cmd.Process.Kill()
			p.cmd.Wait()
		}
	})
	return p
}

// wait waits for the process to end and returns its exit code; -1 when
// a signal killed it. It fails the test when the deadline passed.
func (p *proc) wait() int {
	p.t.Helper()
	err := p.cmd.Wait()
	close(p.done)
	p.code = exitCode(p.t, err)
	if ctxErr := p.ctx.Err(); ctxErr != nil {
		p.t.Fatalf("trawl %v did not end before the deadline (%v); stderr:\n%s", p.cmd.Args[1:], ctxErr, p.stderr)
	}
	return p.code
}

// signal sends sig to the process.
func (p *proc) signal(sig os.Signal) {
	p.t.Helper()
	if err := p.cmd.Process.Signal(sig); err != nil {
		p.t.Fatalf("signal %v: %v", sig, err)
	}
}

func exitCode(t *testing.T, err error) int {
	t.Helper()
	var exit *exec.ExitError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &exit):
		return exit.ExitCode()
	}
	t.Fatalf("wait for trawl: %v", err)
	return 0
}

// runResult is what a finished trawl run left.
type runResult struct {
	code   int
	stdout string
	stderr string
}

// runTrawl runs trawl with args to its end.
func runTrawl(t *testing.T, ctx context.Context, stdin io.Reader, args ...string) runResult {
	t.Helper()
	p := startTrawl(t, ctx, stdin, args...)
	code := p.wait()
	return runResult{code: code, stdout: p.stdout.String(), stderr: p.stderr.String()}
}

// watchBuf is a buffer that a test can wait on: exec's copying goroutine
// writes into it, and waitFor returns once a condition on its contents
// holds.
type watchBuf struct {
	mu      sync.Mutex
	buf     bytes.Buffer
	changed chan struct{} // closed and replaced on every write
}

func (w *watchBuf) Write(b []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf.Write(b)
	if w.changed != nil {
		close(w.changed)
		w.changed = nil
	}
	return len(b), nil
}

func (w *watchBuf) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.String()
}

// waitFor waits until cond holds for the contents, or ctx ends.
func (w *watchBuf) waitFor(ctx context.Context, cond func(string) bool) error {
	for {
		w.mu.Lock()
		s := w.buf.String()
		if w.changed == nil {
			w.changed = make(chan struct{})
		}
		ch := w.changed
		w.mu.Unlock()
		if cond(s) {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return fmt.Errorf("waiting for output: %w; got so far:\n%s", ctx.Err(), s)
		}
	}
}

// lines is a condition: at least n complete lines.
func lines(n int) func(string) bool {
	return func(s string) bool { return strings.Count(s, "\n") >= n }
}

// contains is a condition: s holds sub.
func contains(sub string) func(string) bool {
	return func(s string) bool { return strings.Contains(s, sub) }
}

// record is one JSON line of trawl's output, the fields the tests check.
type record struct {
	URL       string              `json:"url"`
	FinalURL  string              `json:"final_url"`
	Status    int                 `json:"status"`
	Title     string              `json:"title"`
	Links     []string            `json:"links"`
	Depth     int                 `json:"depth"`
	Referrer  string              `json:"referrer"`
	Fields    map[string][]string `json:"fields"`
	Line      int                 `json:"line"`
	FetchedAt string              `json:"fetched_at"`
	Error     *struct {
		Kind    string `json:"kind"`
		Message string `json:"message"`
	} `json:"error"`
}

// parseJSONL parses output that must be whole JSON lines: every line one
// JSON object, the last one ended by a line break.
func parseJSONL(t *testing.T, out string) []record {
	t.Helper()
	if out == "" {
		return nil
	}
	if !strings.HasSuffix(out, "\n") {
		t.Fatalf("output ends with a partial line: %q", out[strings.LastIndexByte(out, '\n')+1:])
	}
	var recs []record
	for i, line := range strings.Split(strings.TrimSuffix(out, "\n"), "\n") {
		var r record
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			t.Fatalf("line %d is not a JSON object: %v\n%s", i+1, err, line)
		}
		if !strings.HasPrefix(line, "{") {
			t.Fatalf("line %d is not a JSON object: %s", i+1, line)
		}
		recs = append(recs, r)
	}
	return recs
}

// byURL indexes records by url and fails on a URL seen twice.
func byURL(t *testing.T, recs []record) map[string]record {
	t.Helper()
	m := make(map[string]record, len(recs))
	for _, r := range recs {
		if _, dup := m[r.URL]; dup {
			t.Errorf("url %s appears more than once in the output", r.URL)
		}
		m[r.URL] = r
	}
	return m
}

// writeFile writes content to a new file in the test's temp dir.
func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// serverLatency makes a test server's handler answer d later, as a slow
// server would, or returns false at once when the request is cancelled
// (the client gave up, or the server is closing).
func serverLatency(r *http.Request, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-r.Context().Done():
		return false
	}
}

// gate is a handler that holds every request until the test opens it,
// or its client goes away, then answers a small page. A test opens it
// at its end (defer g.open()) at the latest, before the server closes,
// which waits for the requests held.
type gate struct {
	ch      chan struct{}
	once    sync.Once
	arrived chan struct{} // a value per request held, while there is room
}

func newGate() *gate { return &gate{ch: make(chan struct{}), arrived: make(chan struct{}, 1)} }

// open lets the held requests and those to come through.
func (g *gate) open() { g.once.Do(func() { close(g.ch) }) }

func (g *gate) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	select {
	case g.arrived <- struct{}{}:
	default:
	}
	select {
	case <-g.ch:
		io.WriteString(w, "<html><title>through</title></html>")
	case <-r.Context().Done():
	}
}
