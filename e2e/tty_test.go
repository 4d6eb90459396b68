//go:build unix

package e2e

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/creack/pty"

	"github.com/trawl-dev/trawl/structured"
)

// ttyOpts says which of trawl's streams are on the pseudo-terminal
// besides stderr, which always is.
type ttyOpts struct {
	stdout bool      // stdout on the terminal too; otherwise a pipe
	stdin  bool      // stdin on the terminal; otherwise stdinR
	stdinR io.Reader // stdin when not on the terminal (nil: /dev/null)
	env    []string  // added to the environment, NO_COLOR removed
}

// startOnTTY starts trawl with stderr (and what o says) on a new
// pseudo-terminal of 160 columns. What the terminal shows goes to
// p.stderr, read by a task in tg until the process and its terminal are
// gone; stdout, when a pipe, to p.stdout.
func startOnTTY(t *testing.T, ctx context.Context, tg *structured.TaskGroup, o ttyOpts, args ...string) *ttyProc {
	t.Helper()
	ptmx, tty, err := pty.Open()
	if err != nil {
		t.Skipf("no pseudo-terminal: %v", err)
	}
	if err := pty.Setsize(ptmx, &pty.Winsize{Rows: 50, Cols: 160}); err != nil {
		t.Fatal(err)
	}
	cmd := trawlCmd(ctx, args...)
	env := cmd.Env[:0]
	for _, kv := range cmd.Env {
		if !strings.HasPrefix(kv, "NO_COLOR=") {
			env = append(env, kv)
		}
	}
	cmd.Env = append(env, o.env...)
	p := &proc{t: t, ctx: ctx, cmd: cmd, stdout: &watchBuf{}, stderr: &watchBuf{}, done: make(chan struct{})}
	cmd.Stderr = tty
	cmd.Stdout = p.stdout
	if o.stdout {
		cmd.Stdout = tty
	}
	cmd.Stdin = o.stdinR
	if o.stdin {
		cmd.Stdin = tty
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start trawl %v: %v", args, err)
	}
	tp := &ttyProc{proc: p, tty: tty, drained: make(chan struct{})}
	tg.StartSoon(func(ctx context.Context) error {
		defer close(tp.drained)
		defer ptmx.Close()
		io.Copy(p.stderr, ptmx) // ends with EIO once no one holds the terminal
		return nil
	})
	t.Cleanup(func() {
		select {
		case <-p.done:
		default:
			p.cmd.Process.Kill()
			p.cmd.Wait()
		}
		tty.Close()
	})
	return tp
}

// ttyProc is trawl started by startOnTTY.
type ttyProc struct {
	*proc
	tty     *os.File      // our end of the terminal's slave side
	drained chan struct{} // closed when all it showed is in stderr
}

// wait waits for the process to end and for all it wrote on the terminal
// to be read. The slave side stays open here until the process has
// ended: on Linux, the last close of it can drop what was not yet read.
func (p *ttyProc) wait() int {
	p.t.Helper()
	code := p.proc.wait()
	p.tty.Close()
	select {
	case <-p.drained:
	case <-p.ctx.Done():
		p.t.Fatalf("terminal output not drained: %v", p.ctx.Err())
	}
	return code
}

// onTTY runs body with a task group for startOnTTY.
func onTTY(t *testing.T, ctx context.Context, body func(ctx context.Context, tg *structured.TaskGroup)) {
	t.Helper()
	if err := structured.WithTaskGroup(ctx, func(ctx context.Context, tg *structured.TaskGroup) error {
		body(ctx, tg)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
}

// screenLines returns the lines a terminal shows for out: each carriage
// return goes back to the start of the line, and what follows overwrites
// what was there.
func screenLines(out string) []string {
	var lines []string
	for _, l := range strings.Split(strings.ReplaceAll(out, "\r\n", "\n"), "\n") {
		var shown []rune
		for _, piece := range strings.Split(l, "\r") {
			for i, r := range []rune(piece) {
				if i < len(shown) {
					shown[i] = r
				} else {
					shown = append(shown, r)
				}
			}
		}
		lines = append(lines, strings.TrimRight(string(shown), " "))
	}
	return lines
}

// hasBar tells whether out holds a progress bar drawing.
func hasBar(out string) bool {
	return strings.Contains(strings.ReplaceAll(out, "\r\n", "\n"), "\r") || strings.Contains(out, "% |") || strings.Contains(out, "pages/hr")
}

// TestProgressAutoOnTerminal: with stderr on a terminal, --progress auto
// draws the bar when the records go to -o FILE, but not when stdout is
// the same terminal (records and bar would mix on one screen) nor when it
// is a pipe (trawl fetch | jq prints on that terminal too): no bar
// fragment ever lands in a line of records. All three runs wait at the
// same site until the -o run has drawn its bar twice.
func TestProgressAutoOnTerminal(t *testing.T) {
	t.Parallel()
	ctx := testContext(t)
	s := newSite(t, numberedPages(6), 0)
	out := filepath.Join(t.TempDir(), "out.jsonl")
	onTTY(t, ctx, func(ctx context.Context, tg *structured.TaskGroup) {
		file := startOnTTY(t, ctx, tg, ttyOpts{stdout: true}, "fetch", "-o", out, s.URL+"/p/0", s.URL+"/p/1")
		term := startOnTTY(t, ctx, tg, ttyOpts{stdout: true}, "fetch", s.URL+"/p/2", s.URL+"/p/3")
		pipe := startOnTTY(t, ctx, tg, ttyOpts{}, "fetch", s.URL+"/p/4", s.URL+"/p/5")
		if err := s.waitHeld(ctx, 6); err != nil {
			t.Fatal(err)
		}
		if err := file.stderr.waitFor(ctx, func(s string) bool { return strings.Count(s, "% |") >= 2 }); err != nil {
			t.Fatalf("-o FILE with stderr on a terminal: no progress bar drawn: %v", err)
		}
		s.release()
		for _, p := range []*ttyProc{file, term, pipe} {
			if code := p.wait(); code != 0 {
				t.Errorf("trawl %v: exit code %d, want 0; terminal:\n%q", p.cmd.Args[1:], code, p.stderr)
			}
		}
		if screen := term.stderr.String(); hasBar(screen) {
			t.Errorf("stdout on the terminal: progress bar drawn among the records:\n%q", screen)
		}
		if screen := pipe.stderr.String(); hasBar(screen) {
			t.Errorf("stdout a pipe: progress bar drawn on the terminal:\n%q", screen)
		}
		if recs := parseJSONL(t, pipe.stdout.String()); len(recs) != 2 {
			t.Errorf("stdout a pipe: %d JSON records, want 2:\n%s", len(recs), pipe.stdout)
		}
	})
}

// TestProgressClearedBeforeMessage: the notice of a first Ctrl-C is
// written on a line of its own, the bar cleared first, not after the
// bar's last drawing.
func TestProgressClearedBeforeMessage(t *testing.T) {
	t.Parallel()
	ctx := testContext(t)
	s := newSite(t, numberedPages(2), 0)
	out := filepath.Join(t.TempDir(), "out.jsonl")
	onTTY(t, ctx, func(ctx context.Context, tg *structured.TaskGroup) {
		p := startOnTTY(t, ctx, tg, ttyOpts{stdout: true}, "fetch", "-o", out, s.URL+"/p/0", s.URL+"/p/1")
		if err := s.waitHeld(ctx, 2); err != nil {
			t.Fatal(err)
		}
		if err := p.stderr.waitFor(ctx, contains("% |")); err != nil {
			t.Fatalf("no progress bar drawn: %v", err)
		}
		p.signal(os.Interrupt)
		if err := p.stderr.waitFor(ctx, contains("trawl: stopping")); err != nil {
			t.Fatal(err)
		}
		s.release()
		p.wait()
		found := false
		for _, l := range screenLines(p.stderr.String()) {
			if strings.Contains(l, "trawl: stopping") {
				found = true
				if !strings.HasPrefix(l, "trawl: stopping") {
					t.Errorf("the stop notice shares its line with the bar: %q", l)
				}
			}
		}
		if !found {
			t.Errorf("no stop notice on the terminal:\n%q", p.stderr)
		}
	})
}

// TestTerminalReadableLines: with stdout on a terminal and no --format,
// each URL gets one short line, status, URL and title, coloured by
// status class, with what came from the network escaped; NO_COLOR drops
// the colour, and --format jsonl gives JSON Lines on the terminal too.
func TestTerminalReadableLines(t *testing.T) {
	t.Parallel()
	ctx := testContext(t)
	s := newSite(t, map[string]page{
		"/ok":  htmlPage("Hello world", "<p>hi</p>"),
		"/bad": {status: 500, ctype: "text/plain", body: "oops"},
	}, -1)
	onTTY(t, ctx, func(ctx context.Context, tg *structured.TaskGroup) {
		color := startOnTTY(t, ctx, tg, ttyOpts{stdout: true}, "fetch", "--retries", "0", s.URL+"/ok", s.URL+"/missing", s.URL+"/bad")
		plain := startOnTTY(t, ctx, tg, ttyOpts{stdout: true, env: []string{"NO_COLOR=1"}}, "fetch", "-c", "1", s.URL+"/ok", s.URL+"/missing")
		jsonl := startOnTTY(t, ctx, tg, ttyOpts{stdout: true}, "fetch", "--format", "jsonl", s.URL+"/ok")
		color.wait()
		plain.wait()
		jsonl.wait()
		screen := color.stderr.String()
		for _, want := range []string{
			"\x1b[32m200\x1b[0m  " + s.URL + "/ok  Hello world",
			"\x1b[33m404\x1b[0m  " + s.URL + "/missing",
			"\x1b[31m500\x1b[0m  " + s.URL + "/bad",
		} {
			if !strings.Contains(screen, want+"\r\n") {
				t.Errorf("terminal does not show the line %q:\n%q", want, screen)
			}
		}
		if strings.Contains(screen, `"url":`) || strings.Contains(screen, "\x1b[2J") {
			t.Errorf("JSON or a raw escape from the page on the terminal:\n%q", screen)
		}
		screen = plain.stderr.String()
		if !strings.Contains(screen, "200  "+s.URL+"/ok  Hello world"+"\r\n") || strings.Contains(screen, "\x1b[") {
			t.Errorf("NO_COLOR: want plain lines:\n%q", screen)
		}
		screen = jsonl.stderr.String()
		if !strings.Contains(screen, fmt.Sprintf(`{"url":%q`, s.URL+"/ok")) {
			t.Errorf("--format jsonl on a terminal: no JSON line:\n%q", screen)
		}
	})
}

// TestDemoOnTerminalHint: trawl demo on a terminal shows readable lines
// and ends with how to get JSON Lines, then how to get a report.
func TestDemoOnTerminalHint(t *testing.T) {
	t.Parallel()
	ctx := testContext(t)
	onTTY(t, ctx, func(ctx context.Context, tg *structured.TaskGroup) {
		p := startOnTTY(t, ctx, tg, ttyOpts{stdout: true, env: []string{"NO_COLOR=1"}}, "demo", "--pages", "3")
		if code := p.wait(); code != 0 {
			t.Errorf("exit code %d, want 0:\n%s", code, p.stderr)
		}
		screen := strings.TrimRight(p.stderr.String(), "\r\n")
		if !strings.Contains(screen, "200  http://127.0.0.1:") {
			t.Errorf("no readable lines:\n%q", screen)
		}
		lines := screenLines(screen)
		if len(lines) < 2 {
			t.Fatalf("screen:\n%s", screen)
		}
		hint, last := lines[len(lines)-2], lines[len(lines)-1]
		if !strings.Contains(hint, "JSON Lines") || !strings.Contains(hint, "--format jsonl") {
			t.Errorf("line %q before the last is not the hint on JSON Lines", hint)
		}
		if !strings.Contains(last, "trawl report demo.jsonl -o report.html") {
			t.Errorf("last line %q is not the hint on trawl report", last)
		}
	})
}

// TestStdinWhenNoInput: with no input given, trawl fetch reads standard
// input when it is not a terminal; on a terminal it says how to give
// input and exits 2 instead of waiting for typing.
func TestStdinWhenNoInput(t *testing.T) {
	t.Parallel()
	ctx := testContext(t)
	s := newSite(t, numberedPages(2), -1)
	res := runTrawl(t, ctx, strings.NewReader(s.URL+"/p/0\n"+s.URL+"/p/1\n"), "fetch")
	if res.code != 0 {
		t.Errorf("piped stdin: exit code %d, want 0:\n%s", res.code, res.stderr)
	}
	if recs := byURL(t, parseJSONL(t, res.stdout)); len(recs) != 2 {
		t.Errorf("piped stdin: %d records, want 2:\n%s", len(recs), res.stdout)
	}
	onTTY(t, ctx, func(ctx context.Context, tg *structured.TaskGroup) {
		p := startOnTTY(t, ctx, tg, ttyOpts{stdout: true, stdin: true}, "fetch")
		if code := p.wait(); code != 2 {
			t.Errorf("stdin a terminal: exit code %d, want 2:\n%s", code, p.stderr)
		}
		if screen := p.stderr.String(); !strings.Contains(screen, "cat urls.txt | trawl fetch") || strings.Count(strings.TrimSpace(screen), "\n") > 0 {
			t.Errorf("stdin a terminal: want a one-line hint, got:\n%q", screen)
		}
	})
}
