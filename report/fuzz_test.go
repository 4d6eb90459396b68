package report

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"testing"
)

// FuzzRead feeds arbitrary input to the record reader: it fails with an
// error or builds a report that every format writes, and never panics.
func FuzzRead(f *testing.F) {
	paths, _ := filepath.Glob(filepath.Join("testdata", "*.jsonl"))
	for _, p := range paths {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte(`{"url":"x","links":["\u0000","http://A/b"],"redirects":null,"status":-5,"depth":-1}`))
	f.Fuzz(func(t *testing.T, in []byte) {
		b := NewBuilder(Options{MaxItems: 5, TopN: 2})
		if err := b.Read(t.Context(), "fuzz", bytes.NewReader(in)); err != nil {
			return
		}
		rep := b.Report()
		for _, w := range []func(io.Writer, *Report) error{WriteJSON, WriteMarkdown, WriteJUnit} {
			if err := w(io.Discard, rep); err != nil {
				t.Fatal(err)
			}
		}
		if err := WriteHTML(io.Discard, rep, HTMLOptions{}); err != nil {
			t.Fatal(err)
		}
	})
}
