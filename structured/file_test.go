//go:build unix

package structured

import (
	"context"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestFileWriteReadBack(t *testing.T) {
	ctx := t.Context()
	name := filepath.Join(t.TempDir(), "out.txt")
	f, err := OpenFile(ctx, name, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	if f.Name() != name {
		t.Errorf("Name() = %q, want %q", f.Name(), name)
	}
	if _, err := f.Write(ctx, []byte("hello, ")); err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString(ctx, "world\n"); err != nil {
		t.Fatal(err)
	}
	if err := f.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(ctx); err != nil {
		t.Fatal(err)
	}

	f, err = OpenFile(ctx, name, os.O_RDONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close(ctx)
	var got []byte
	buf := make([]byte, 4)
	for {
		n, err := f.Read(ctx, buf)
		got = append(got, buf[:n]...)
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	if string(got) != "hello, world\n" {
		t.Fatalf("read back %q", got)
	}
}

func TestOpenFileMissing(t *testing.T) {
	name := filepath.Join(t.TempDir(), "missing.txt")
	_, err := OpenFile(t.Context(), name, os.O_RDONLY, 0)
	var pe *fs.PathError
	if !errors.Is(err, fs.ErrNotExist) || !errors.As(err, &pe) || pe.Path != name {
		t.Fatalf("err = %v, want a *fs.PathError for %s matching fs.ErrNotExist", err, name)
	}
}

func TestFileReadCancelledBeforehand(t *testing.T) {
	name := writeTemp(t, "abc")
	f, err := OpenFile(t.Context(), name, os.O_RDONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close(t.Context())
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	buf := make([]byte, 3)
	n, err := f.Read(ctx, buf)
	var pe *fs.PathError
	if n != 0 || !errors.Is(err, context.Canceled) || !errors.As(err, &pe) || pe.Path != name || pe.Op != "read" {
		t.Fatalf("Read = %d, %v; want 0 and a read error for %s wrapping context.Canceled", n, err, name)
	}
	// Nothing was consumed: the next read starts at the beginning.
	n, err = f.Read(t.Context(), buf)
	if err != nil || string(buf[:n]) != "abc" {
		t.Fatalf("Read after the refused one = %q, %v; want \"abc\"", buf[:n], err)
	}
}

func TestFileCloseWhenCancelled(t *testing.T) {
	name := writeTemp(t, "abc")
	f, err := OpenFile(t.Context(), name, os.O_RDONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if err := f.Close(ctx); err != nil {
		t.Fatalf("Close with a cancelled context: %v", err)
	}
	if _, err := f.Read(t.Context(), make([]byte, 1)); !errors.Is(err, os.ErrClosed) {
		t.Fatalf("Read after Close = %v, want os.ErrClosed: the file was not closed", err)
	}
}

func TestFileReadInterruptedOnPipe(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	f := NewFile(r)
	defer f.Close(t.Context())

	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	type result struct {
		n   int
		err error
	}
	done := make(chan result, 1)
	go func() {
		n, err := f.Read(ctx, make([]byte, 8))
		done <- result{n, err}
	}()
	// Cancel while the read is blocked on the empty pipe (or, if the read
	// has not started yet, before it: both must end it with ctx's error).
	stop := time.AfterFunc(20*time.Millisecond, cancel)
	defer stop.Stop()
	select {
	case res := <-done:
		if res.n != 0 || !errors.Is(res.err, context.Canceled) {
			t.Fatalf("Read = %d, %v; want 0, context.Canceled", res.n, res.err)
		}
	case <-time.After(10 * time.Second):
		w.Close() // unblock the read so the test can end
		<-done
		t.Fatal("a Read blocked on a pipe was not interrupted by cancellation")
	}
	// The deadline used to interrupt is cleared again.
	if _, err := w.Write([]byte("x")); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 1)
	if n, err := f.Read(t.Context(), buf); n != 1 || err != nil {
		t.Fatalf("Read after an interrupted one = %d, %v", n, err)
	}
}

func writeTemp(t *testing.T, content string) string {
	t.Helper()
	name := filepath.Join(t.TempDir(), "in.txt")
	if err := os.WriteFile(name, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return name
}

// collectLines returns the lines, and the errors rendered as "ERR: ...".
func collectLines(t *testing.T, content string, opts ...LinesOption) []string {
	t.Helper()
	f, err := OpenFile(t.Context(), writeTemp(t, content), os.O_RDONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close(t.Context())
	var got []string
	for line, err := range f.Lines(t.Context(), opts...) {
		if err != nil {
			line = "ERR: " + strings.ReplaceAll(err.Error(), f.Name(), "FILE")
		}
		got = append(got, line)
	}
	return got
}

func TestFileLines(t *testing.T) {
	long := strings.Repeat("x", 11)
	tests := []struct {
		name, content string
		want          []string
	}{
		{"empty", "", nil},
		{"lf", "a\nb\n", []string{"a", "b"}},
		{"crlf", "a\r\nb\r\n", []string{"a", "b"}},
		{"no final newline", "a\nb", []string{"a", "b"}},
		{"crlf no final newline", "a\r\nb", []string{"a", "b"}},
		{"blank lines", "\n\r\n\n", []string{"", "", ""}},
		{"lone cr kept", "a\rb\n", []string{"a\rb"}},
		{"exactly the limit", strings.Repeat("y", 10) + "\r\n", []string{strings.Repeat("y", 10)}},
		{"too long then more", "ok\n" + long + "\nafter\n", []string{
			"ok", "ERR: read FILE line 2: line longer than 10 bytes", "after"}},
		{"too long last line", "ok\n" + long, []string{
			"ok", "ERR: read FILE line 2: line longer than 10 bytes"}},
		{"too long crlf", long + "\r\nz", []string{
			"ERR: read FILE line 1: line longer than 10 bytes", "z"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := collectLines(t, tt.content, MaxLineLength(10))
			if !slices.Equal(got, tt.want) {
				t.Errorf("lines of %q = %q, want %q", tt.content, got, tt.want)
			}
		})
	}
}

func TestFileLinesLongerThanBuffer(t *testing.T) {
	big := strings.Repeat("b", 3*linesChunk+17)
	content := "first\n" + big + "\n" + big + "x\nlast"
	got := collectLines(t, content, MaxLineLength(len(big)))
	want := []string{"first", big, "ERR: read FILE line 3: line longer than 196625 bytes", "last"}
	if len(got) != len(want) {
		t.Fatalf("got %d lines, want %d", len(got), len(want))
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("line %d: got %d bytes %.40q, want %d bytes %.40q", i+1, len(got[i]), got[i], len(want[i]), want[i])
		}
	}
}

func TestFileLinesTooLongErrorIsTyped(t *testing.T) {
	name := writeTemp(t, "aaaa\nb\n")
	f, err := OpenFile(t.Context(), name, os.O_RDONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close(t.Context())
	for _, err := range f.Lines(t.Context(), MaxLineLength(2)) {
		var tl *LineTooLongError
		if !errors.As(err, &tl) || *tl != (LineTooLongError{Name: name, Line: 1, Limit: 2}) {
			t.Fatalf("err = %#v, want a *LineTooLongError for line 1", err)
		}
		break // stopping early is fine
	}
}

func TestFileLinesCancelled(t *testing.T) {
	name := writeTemp(t, "a\nb\nc\n")
	f, err := OpenFile(t.Context(), name, os.O_RDONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close(t.Context())
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	var got []string
	var last error
	for line, err := range f.Lines(ctx) {
		if err != nil {
			last = err
			continue
		}
		got = append(got, line)
		cancel() // the lines are buffered already: only the check stops them
	}
	if !slices.Equal(got, []string{"a"}) {
		t.Errorf("lines = %q, want only the one before cancellation", got)
	}
	if !errors.Is(last, context.Canceled) || !strings.Contains(last.Error(), name+" line 2") {
		t.Errorf("err = %v, want context.Canceled at %s line 2", last, name)
	}
}

func TestFileLinesCancelledBeforeFirstRead(t *testing.T) {
	name := writeTemp(t, "a\n")
	f, err := OpenFile(t.Context(), name, os.O_RDONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close(t.Context())
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	n := 0
	for line, err := range f.Lines(ctx) {
		n++
		if line != "" || !errors.Is(err, context.Canceled) {
			t.Errorf("yielded %q, %v; want only a cancellation error", line, err)
		}
	}
	if n != 1 {
		t.Errorf("yielded %d times, want once", n)
	}
}

func TestReadWriteFile(t *testing.T) {
	name := filepath.Join(t.TempDir(), "f")
	if err := WriteFile(t.Context(), name, []byte("data"), 0o600); err != nil {
		t.Fatal(err)
	}
	b, err := ReadFile(t.Context(), name)
	if err != nil || string(b) != "data" {
		t.Fatalf("ReadFile = %q, %v", b, err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := ReadFile(ctx, name); !errors.Is(err, context.Canceled) {
		t.Fatalf("ReadFile with a cancelled context = %v", err)
	}
}

func TestFileLinesAbandonsUninterruptibleRead(t *testing.T) {
	// A blocking pipe, as standard input often is: not in the runtime
	// poller, so deadlines cannot interrupt a read from it.
	var fds [2]int
	if err := syscall.Pipe(fds[:]); err != nil {
		t.Fatal(err)
	}
	r, w := os.NewFile(uintptr(fds[0]), "stdin-like"), os.NewFile(uintptr(fds[1]), "writer")
	defer w.Close()
	l := NewCapacityLimiter(1)
	f := NewFile(r, WithLimiter(l))
	defer f.Close(t.Context())
	if f.interruptible() {
		t.Fatal("a blocking pipe counts as interruptible; the test needs one that is not")
	}
	if _, err := w.WriteString("a\n"); err != nil {
		t.Fatal(err)
	}

	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	type item struct {
		line string
		err  error
	}
	items := make(chan item)
	go func() {
		defer close(items)
		for line, err := range f.Lines(ctx) {
			items <- item{line, err}
		}
	}()
	next := func() (item, bool) {
		select {
		case it, ok := <-items:
			return it, ok
		case <-time.After(10 * time.Second):
			w.Close() // unblock the read so that the test ends
			for range items {
			}
			t.Fatal("Lines did not end after cancellation")
		}
		return item{}, false
	}
	if it, _ := next(); it.line != "a" || it.err != nil {
		t.Fatalf("first line %q, %v", it.line, it.err)
	}
	// Cancel once the next read is blocked on the empty pipe (or before it
	// starts: either way the iteration must end with ctx's error).
	stop := time.AfterFunc(20*time.Millisecond, cancel)
	defer stop.Stop()
	if it, _ := next(); !errors.Is(it.err, context.Canceled) || !strings.Contains(it.err.Error(), "stdin-like line 2") {
		t.Fatalf("after cancellation got %q, %v; want context.Canceled at line 2", it.line, it.err)
	}
	if _, ok := next(); ok {
		t.Fatal("Lines went on after the cancellation error")
	}
	// The abandoned read holds its token until it ends.
	w.Close()
	if err := l.AcquireOnBehalfOf(t.Context(), "after"); err != nil {
		t.Fatal(err)
	}
	l.ReleaseOnBehalfOf("after")
}
