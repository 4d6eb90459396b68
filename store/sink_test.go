package store

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"testing/synctest"
	"time"

	"github.com/trawl-dev/trawl/structured"
)

func readString(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestJSONLSinkBuffersUntilThreshold(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "out.jsonl")
	s, err := OpenJSONL(ctx, path, WithBufferSize(20))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Write(ctx, []byte(`{"url":"a"}`)); err != nil { // 12 bytes with "\n"
		t.Fatal(err)
	}
	if got := readString(t, path); got != "" {
		t.Fatalf("below the threshold the file holds %q, want nothing", got)
	}
	if err := s.Write(ctx, []byte(`{"url":"b"}`)); err != nil { // 24 bytes: past 20
		t.Fatal(err)
	}
	want := "{\"url\":\"a\"}\n{\"url\":\"b\"}\n"
	if got := readString(t, path); got != want {
		t.Fatalf("past the threshold the file holds %q, want %q", got, want)
	}
	if err := s.Write(ctx, []byte(`{"url":"c"}`)); err != nil {
		t.Fatal(err)
	}
	if err := s.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	want += "{\"url\":\"c\"}\n"
	if got := readString(t, path); got != want {
		t.Fatalf("after Flush the file holds %q, want %q", got, want)
	}
	if err := s.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if err := s.Write(ctx, []byte(`{}`)); !errors.Is(err, ErrClosed) {
		t.Fatalf("Write after Close: %v, want ErrClosed", err)
	}
}

// After every Write the file holds whole records only: a prefix of the
// records written, each with its line break.
func TestJSONLSinkWritesWholeRecordsOnly(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "out.jsonl")
	s, err := OpenJSONL(ctx, path, WithBufferSize(100))
	if err != nil {
		t.Fatal(err)
	}
	big := `{"url":"` + strings.Repeat("x", 250) + `"}`
	recs := []string{`{"url":"1"}`, big, `{"url":"2"}`, strings.Repeat(" ", 60) + "{}", strings.Repeat(" ", 60) + "{}", big}
	var prefixes []string
	for i := range recs {
		prefixes = append(prefixes, strings.Join(recs[:i], "\n")+"\n")
	}
	prefixes[0] = ""
	grew := 0
	for i, rec := range recs {
		if err := s.Write(ctx, []byte(rec)); err != nil {
			t.Fatal(err)
		}
		got := readString(t, path)
		if got != "" && !slices.Contains(prefixes, got) && got != strings.Join(recs[:i+1], "\n")+"\n" {
			t.Fatalf("after record %d the file holds %q: not whole records", i, trim(got))
		}
		if got != "" {
			grew++
		}
	}
	if grew < 3 {
		t.Fatalf("the buffer was written out after only %d of %d writes", grew, len(recs))
	}
	if err := s.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if got, want := readString(t, path), strings.Join(recs, "\n")+"\n"; got != want {
		t.Fatalf("after Close the file holds %q", trim(got))
	}
}

func TestJSONLSinkRefusesMultiLineRecords(t *testing.T) {
	ctx := t.Context()
	s, err := OpenJSONL(ctx, filepath.Join(t.TempDir(), "out.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close(ctx)
	for _, rec := range []string{"", "{\n}", "{\r}"} {
		if err := s.Write(ctx, []byte(rec)); !errors.Is(err, ErrBadRecord) {
			t.Errorf("Write(%q) = %v, want ErrBadRecord", rec, err)
		}
	}
}

func TestCloseFlushesWhenContextCancelled(t *testing.T) {
	path := filepath.Join(t.TempDir(), "out.jsonl")
	ctx, cancel := context.WithCancel(t.Context())
	s, err := OpenJSONL(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Write(ctx, []byte(`{"url":"a"}`)); err != nil {
		t.Fatal(err)
	}
	cancel()
	if err := s.Close(ctx); err != nil {
		t.Fatalf("Close on a cancelled context: %v", err)
	}
	if got := readString(t, path); got != "{\"url\":\"a\"}\n" {
		t.Fatalf("file holds %q after Close on a cancelled context", got)
	}
}

func TestCloseOnPipeSkipsSync(t *testing.T) {
	ctx := t.Context()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	s := NewJSONL(structured.NewFile(w))
	if err := s.Write(ctx, []byte(`{}`)); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(ctx); err != nil {
		t.Fatalf("Close on a pipe: %v (a pipe cannot be synced; Close must not fail for it)", err)
	}
}

func TestCloseIsBoundedOnStuckPipe(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close() // open but never read: the pipe fills up
	ctx, cancel := context.WithCancel(t.Context())
	s := NewJSONL(structured.NewFile(w), WithBufferSize(4<<20), WithCloseTimeout(50*time.Millisecond))
	if err := s.Write(ctx, []byte(`"`+strings.Repeat("x", 1<<20)+`"`)); err != nil {
		t.Fatal(err)
	}
	cancel()
	start := time.Now()
	err = s.Close(ctx)
	if !errors.Is(err, structured.ErrTimeout) {
		t.Fatalf("Close on a stuck pipe: %v, want ErrTimeout", err)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Fatalf("Close took %v", d)
	}
	if _, err := w.Write([]byte("x")); !errors.Is(err, os.ErrClosed) {
		t.Fatalf("after Close the pipe is still open: write gave %v", err)
	}
}

func TestBrokenPipe(t *testing.T) {
	ctx := t.Context()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	r.Close() // the reader went away, as `| head -3` does
	s := NewJSONL(structured.NewFile(w))
	if err := s.Write(ctx, []byte(`{}`)); err != nil {
		t.Fatal(err)
	}
	err = s.Flush(ctx)
	if !IsBrokenPipe(err) {
		t.Fatalf("Flush to a closed pipe: %v, IsBrokenPipe false", err)
	}
	if err := s.Flush(ctx); !IsBrokenPipe(err) {
		t.Fatalf("a broken sink must keep its error, got %v", err)
	}
	if IsBrokenPipe(errors.New("other")) || IsBrokenPipe(nil) {
		t.Fatal("IsBrokenPipe true for another error")
	}
	if err := s.Close(ctx); !IsBrokenPipe(err) {
		t.Fatalf("Close of a broken sink: %v, want its write error again", err)
	}
}

func TestSinkFlushesJournalFirst(t *testing.T) {
	ctx := t.Context()
	dir := t.TempDir()
	out := filepath.Join(dir, "out.jsonl")
	j, err := OpenJournal(ctx, JournalPath(out))
	if err != nil {
		t.Fatal(err)
	}
	s, err := OpenJSONL(ctx, out, WithJournal(j))
	if err != nil {
		t.Fatal(err)
	}
	if err := j.Enqueue(ctx, 1, "https://example.com/child"); err != nil {
		t.Fatal(err)
	}
	if err := s.Write(ctx, []byte(`{"url":"https://example.com/"}`)); err != nil {
		t.Fatal(err)
	}
	if err := s.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if got := readString(t, JournalPath(out)); got != "enqueue 1 https://example.com/child\n" {
		t.Fatalf("after the sink's flush the journal holds %q", got)
	}
	// Closing the journal first is fine: its Close made it durable.
	if err := j.Enqueue(ctx, 2, "https://example.com/grandchild"); err != nil {
		t.Fatal(err)
	}
	if err := s.Write(ctx, []byte(`{"url":"https://example.com/child"}`)); err != nil {
		t.Fatal(err)
	}
	if err := errors.Join(j.Close(ctx), s.Close(ctx)); err != nil {
		t.Fatal(err)
	}
	evs, _ := replay(t, JournalPath(out))
	urls, _ := scanJSONL(t, out)
	if len(evs) != 2 || len(urls) != 2 {
		t.Fatalf("journal %v, output %q: want 2 of each", evs, urls)
	}
}

// recordingFlusher records when it is flushed, into a shared log.
type recordingFlusher struct {
	name string
	log  *[]string
	at   *[]time.Duration
	t0   time.Time
	err  error
}

func (f recordingFlusher) Flush(ctx context.Context) error {
	*f.log = append(*f.log, f.name)
	*f.at = append(*f.at, time.Since(f.t0))
	return f.err
}

func TestFlushEvery(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var log []string
		var at []time.Duration
		t0 := time.Now()
		j := recordingFlusher{name: "journal", log: &log, at: &at, t0: t0}
		s := recordingFlusher{name: "sink", log: &log, at: &at, t0: t0}
		ctx, cancel := context.WithTimeout(t.Context(), 450*time.Millisecond)
		defer cancel()
		if err := FlushEvery(ctx, 200*time.Millisecond, j, s); err != nil {
			t.Fatalf("FlushEvery ended by its context: %v, want nil", err)
		}
		wantLog := []string{"journal", "sink", "journal", "sink"}
		wantAt := []time.Duration{200, 200, 400, 400}
		if strings.Join(log, ",") != strings.Join(wantLog, ",") {
			t.Fatalf("flush order %v, want %v", log, wantLog)
		}
		for i := range at {
			if at[i] != wantAt[i]*time.Millisecond {
				t.Fatalf("flushes at %v, want %v ms", at, wantAt)
			}
		}
	})
}

func TestFlushEveryReturnsFlushError(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var log []string
		var at []time.Duration
		boom := errors.New("boom")
		f := recordingFlusher{name: "f", log: &log, at: &at, t0: time.Now(), err: boom}
		if err := FlushEvery(t.Context(), time.Second, f); !errors.Is(err, boom) {
			t.Fatalf("FlushEvery: %v, want the flush error", err)
		}
	})
}

// TestSinksRefuseRecordsOverTheLimit: a record longer than MaxRecordBytes
// is refused with ErrRecordTooLarge and nothing of it is written; one of
// exactly MaxRecordBytes is written, and a resume scan reads it back.
func TestSinksRefuseRecordsOverTheLimit(t *testing.T) {
	ctx := t.Context()
	dir := t.TempDir()
	jsonRec := func(n int) []byte {
		pre, post := `{"url":"https://big/","x":"`, `"}`
		return []byte(pre + strings.Repeat("x", n-len(pre)-len(post)) + post)
	}
	path := filepath.Join(dir, "out.jsonl")
	s, err := OpenJSONL(ctx, path, WithBufferSize(10))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Write(ctx, jsonRec(MaxRecordBytes+1)); !errors.Is(err, ErrRecordTooLarge) {
		t.Fatalf("JSONL Write of %d bytes: %v, want ErrRecordTooLarge", MaxRecordBytes+1, err)
	}
	if err := s.Write(ctx, jsonRec(MaxRecordBytes)); err != nil {
		t.Fatalf("JSONL Write of MaxRecordBytes: %v", err)
	}
	if err := s.Close(ctx); err != nil {
		t.Fatal(err)
	}
	var urls []string
	if _, err := ScanJSONL(ctx, path, func(u string) { urls = append(urls, u) }); err != nil || !slices.Equal(urls, []string{"https://big/"}) {
		t.Fatalf("scan after the writes: %q, %v; want the one record of MaxRecordBytes", urls, err)
	}

	cpath := filepath.Join(dir, "out.csv")
	c, err := OpenCSV(ctx, cpath, []string{"url", "x"})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Write(ctx, []string{"https://big/", strings.Repeat("x", MaxRecordBytes)}); !errors.Is(err, ErrRecordTooLarge) {
		t.Fatalf("CSV Write over the limit: %v, want ErrRecordTooLarge", err)
	}
	if err := c.Write(ctx, []string{"https://small/", "x"}); err != nil {
		t.Fatal(err)
	}
	if err := c.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if got, want := readString(t, cpath), "url,x\nhttps://small/,x\n"; got != want {
		t.Fatalf("CSV file %q, want %q", got, want)
	}
}

// fullDisk is a file whose writes fail with ENOSPC once room bytes are
// written, after writing what still fits, as on a full disk.
type fullDisk struct {
	*structured.File
	room int
}

func (d *fullDisk) Write(ctx context.Context, p []byte) (int, error) {
	if len(p) <= d.room {
		n, err := d.File.Write(ctx, p)
		d.room -= n
		return n, err
	}
	n, err := d.File.Write(ctx, p[:d.room])
	d.room -= n
	if err == nil {
		err = &fs.PathError{Op: "write", Path: d.Name(), Err: syscall.ENOSPC}
	}
	return n, err
}

// TestSinkCutsBackOnFullDisk: a write out that fails part way (a full
// disk) leaves no torn record: the file is cut back to the end of the
// last whole record written, the error is returned, and the sink stays
// broken. The same holds for the CSV sink and the journal.
func TestSinkCutsBackOnFullDisk(t *testing.T) {
	ctx := t.Context()
	const before = "{\"url\":\"old\"}\n"
	for _, kind := range []string{"jsonl", "csv", "journal"} {
		t.Run(kind, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "out")
			if err := os.WriteFile(path, []byte(before), 0o644); err != nil {
				t.Fatal(err)
			}
			f, err := openAppend(ctx, path)
			if err != nil {
				t.Fatal(err)
			}
			disk := &fullDisk{File: f, room: 40}
			opts := []SinkOption{WithBufferSize(1 << 20)}
			var w *recordWriter
			var write func(u string) error
			switch kind {
			case "csv":
				c := newCSVSink(disk, 1, opts)
				w, write = c.w, func(u string) error { return c.Write(ctx, []string{u}) }
			case "journal":
				j := &Journal{w: newRecordWriter(disk, newSinkConfig(opts))}
				w, write = j.w, func(u string) error { return j.Enqueue(ctx, 1, u) }
			default:
				j := &JSONLSink{w: newRecordWriter(disk, newSinkConfig(opts))}
				w, write = j.w, func(u string) error { return j.Write(ctx, []byte(`{"url":"`+u+`"}`)) }
			}
			if err := w.trackEnd(ctx, path); err != nil {
				t.Fatal(err)
			}
			if err := write("a"); err != nil {
				t.Fatal(err)
			}
			if err := w.Flush(ctx); err != nil {
				t.Fatalf("first flush, with room: %v", err)
			}
			good := readString(t, path)
			if !strings.HasPrefix(good, before) || !strings.HasSuffix(good, "\n") || len(good) == len(before) {
				t.Fatalf("after the first flush the file holds %q", good)
			}
			for _, u := range []string{"https://b.example/long", "https://c.example/longer"} {
				if err := write(u); err != nil {
					t.Fatal(err)
				}
			}
			err = w.Flush(ctx)
			if !errors.Is(err, syscall.ENOSPC) {
				t.Fatalf("flush past the room: %v, want ENOSPC", err)
			}
			if disk.room != 0 {
				t.Fatalf("the test disk still has %d bytes of room: the write was not torn", disk.room)
			}
			if got := readString(t, path); got != good {
				t.Errorf("after the failed flush the file holds %q, want it cut back to %q", got, good)
			}
			if err := write("d"); !errors.Is(err, syscall.ENOSPC) {
				t.Errorf("write after the failure: %v, want the same error", err)
			}
			if err := w.Close(ctx); !errors.Is(err, syscall.ENOSPC) {
				t.Errorf("Close: %v, want the write error again", err)
			}
		})
	}
}
