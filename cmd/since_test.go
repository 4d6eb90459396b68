package cmd

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/trawl-dev/trawl/crawler"
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
