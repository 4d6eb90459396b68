package report

import (
	"os"
	"testing"
)

// BenchmarkRead reads the file named by $REPORT_BENCH_INPUT (made by
// scripts/reportgen) into a report.
func BenchmarkRead(b *testing.B) {
	path := os.Getenv("REPORT_BENCH_INPUT")
	if path == "" {
		b.Skip("REPORT_BENCH_INPUT not set: go run ./scripts/reportgen -n 200000 > in.jsonl")
	}
	for b.Loop() {
		f, err := os.Open(path)
		if err != nil {
			b.Fatal(err)
		}
		bl := NewBuilder(Options{})
		if err := bl.Read(b.Context(), path, f); err != nil {
			b.Fatal(err)
		}
		f.Close()
		bl.Report()
	}
}
