package crawler

import (
	"encoding/csv"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/trawl-dev/trawl/store"
)

// TestOutputReplacesTooLargeRecords: a result whose record would pass
// store.MaxRecordBytes is written as a small error record of kind
// too_large naming the limit, with its url, so that the URL still has
// exactly one record; the result itself becomes that record, so that the
// run counts it as failed.
func TestOutputReplacesTooLargeRecords(t *testing.T) {
	ctx := t.Context()
	dir := t.TempDir()
	huge := func() *Result {
		return &Result{URL: "https://a/big", FinalURL: "https://a/big", Status: 200, Depth: 2,
			Title: strings.Repeat("t", store.MaxRecordBytes)}
	}
	small := &Result{URL: "https://a/small", Status: 200, Title: "Small"}
	check := func(t *testing.T, r *Result) {
		t.Helper()
		if r.URL != "https://a/big" || r.Status != 200 || r.Depth != 2 || r.Title != "" ||
			r.Error == nil || r.Error.Kind != KindTooLarge || !strings.Contains(r.Error.Message, "16 MiB") {
			t.Errorf("replacement record %+v, error %+v", r, r.Error)
		}
	}

	t.Run("jsonl", func(t *testing.T) {
		path := filepath.Join(dir, "out.jsonl")
		sink, err := store.OpenJSONL(ctx, path)
		if err != nil {
			t.Fatal(err)
		}
		out := NewJSONOutput(sink, nil)
		r := huge()
		for _, r := range []*Result{small, r} {
			if err := out.Write(ctx, r); err != nil {
				t.Fatal(err)
			}
		}
		check(t, r)
		if err := sink.Close(ctx); err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
		if len(lines) != 2 {
			t.Fatalf("%d lines, want 2", len(lines))
		}
		var got Result
		if err := json.Unmarshal([]byte(lines[1]), &got); err != nil {
			t.Fatal(err)
		}
		check(t, &got)
	})

	t.Run("csv", func(t *testing.T) {
		path := filepath.Join(dir, "out.csv")
		cols := CSVColumns([]string{"url", "status", "title", "error"}, nil)
		sink, err := store.OpenCSV(ctx, path, cols)
		if err != nil {
			t.Fatal(err)
		}
		out := NewCSVOutput(sink, cols)
		r := huge()
		if err := out.Write(ctx, r); err != nil {
			t.Fatal(err)
		}
		check(t, r)
		if err := sink.Close(ctx); err != nil {
			t.Fatal(err)
		}
		f, err := os.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		rows, err := csv.NewReader(f).ReadAll()
		if err != nil {
			t.Fatal(err)
		}
		if len(rows) != 2 || rows[1][0] != "https://a/big" || rows[1][2] != "" || rows[1][3] != string(KindTooLarge) {
			t.Fatalf("rows %q", rows)
		}
	})
}
