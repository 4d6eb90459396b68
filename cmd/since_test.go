package cmd

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/trawl-dev/trawl/crawler"
	"github.com/trawl-dev/trawl/warc"
)

// flushProbe is an output that records, at each of its flushes, what
// the list of unchanged URLs holds on disk.
type flushProbe struct {
	list      string
	atFlushes []string
}

func (p *flushProbe) Write(context.Context, *crawler.Result) error { return nil }

func (p *flushProbe) Flush(context.Context) error {
	b, err := os.ReadFile(p.list)
	p.atFlushes = append(p.atFlushes, string(b))
	return err
}

// TestUnchangedListFollowsOutput: the list of unchanged URLs of
// --changed-only -o FILE is written only when the output is flushed, and
// after it, however many URLs it holds: ahead of the output, a crash
// could leave it naming pages archived (--warc) after pages the output
// never got, which --resume would then archive twice.
func TestUnchangedListFollowsOutput(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "out.jsonl.unchanged")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	u := &unchangedFile{f: f}
	probe := &flushProbe{list: path}
	out := unchangedOutput{ResultWriter: probe, u: u}
	var want strings.Builder
	for i := range 2000 { // far more than a bufio.Writer's 4 KB
		url := fmt.Sprintf("http://example.com/page/%d", i)
		if err := u.write(ctx, &crawler.Result{URL: url}); err != nil {
			t.Fatal(err)
		}
		want.WriteString(url + "\n")
	}
	if b, _ := os.ReadFile(path); len(b) != 0 {
		t.Fatalf("the list holds %d bytes before the output is flushed, want none", len(b))
	}
	if err := out.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if len(probe.atFlushes) != 1 || probe.atFlushes[0] != "" {
		t.Fatalf("the list was written before the output's flush: %d bytes then", len(probe.atFlushes[0]))
	}
	if b, _ := os.ReadFile(path); string(b) != want.String() {
		t.Fatalf("after the flush the list holds %d bytes, want %d", len(b), want.Len())
	}
	if err := u.close(); err != nil {
		t.Fatal(err)
	}
}

// TestCloseAbandonsArchive: when the output fails at the end of a run
// into -o FILE, the WARC file stays ".open" (it may hold pages the output
// never got, which --resume cuts); when the output cannot be resumed
// anyway (a pipe that closed: | head), or did not fail, it is closed.
func TestCloseAbandonsArchive(t *testing.T) {
	for _, tc := range []struct {
		name     string
		output   string // "" for a file in the test's directory
		fail     bool
		wantOpen bool
	}{
		{"output failed", "", true, true},
		{"output fine", "", false, false},
		{"stdout failed", "-", true, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			dir := t.TempDir()
			out := tc.output
			if out == "" {
				out = filepath.Join(dir, "out.jsonl")
			}
			prefix := filepath.Join(dir, "a")
			w, err := warc.NewWriter(warc.Options{Prefix: prefix})
			if err != nil {
				t.Fatal(err)
			}
			rec := &warc.Record{Block: []byte("x")}
			rec.Header.Add("WARC-Type", warc.TypeMetadata)
			rec.Header.Add("WARC-Record-ID", w.NewID())
			rec.Header.Add("WARC-Date", "2026-12-01T10:20:30Z")
			rec.Header.Add("Content-Type", "text/plain")
			if _, err := w.Write(ctx, rec); err != nil {
				t.Fatal(err)
			}
			o := &RunOptions{Output: out}
			o.Warc = prefix
			r := &pipelineRun{o: o, archive: crawler.NewArchive(w)}
			r.closer = func(context.Context) error { return nil }
			if tc.fail {
				r.closer = func(context.Context) error { return errors.New("no space left on device") }
			}
			if err := r.close(ctx); (err != nil) != tc.fail {
				t.Errorf("close = %v, want an error: %v", err, tc.fail)
			}
			files, err := warc.Files(prefix)
			if err != nil || len(files) != 1 {
				t.Fatalf("files %+v, %v; want one", files, err)
			}
			if files[0].Open != tc.wantOpen {
				t.Errorf("the WARC file is open: %v, want %v", files[0].Open, tc.wantOpen)
			}
		})
	}
}
