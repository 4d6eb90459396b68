//go:build unix

package structured_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/trawl-dev/trawl/structured"
)

// A blocking call that takes no context runs in a worker goroutine, bounded
// by a limiter; the caller's context still decides whether it starts.
func ExampleRunSync() {
	ctx := context.Background()
	disk := structured.NewCapacityLimiter(4) // at most 4 blocking calls at once

	info, err := structured.RunSync(ctx, func(context.Context) (os.FileInfo, error) {
		return os.Stat(os.TempDir())
	}, structured.WithLimiter(disk))
	fmt.Println(info.IsDir(), err)

	// A cancelled context never runs the call.
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	_, err = structured.RunSync(cancelled, func(context.Context) (int, error) {
		panic("not reached")
	})
	fmt.Println(errors.Is(err, context.Canceled))
	// Output:
	// true <nil>
	// true
}

// Write a file, then stream its lines back: CRLF endings are stripped, a
// last line without a newline is kept, and a line over the limit is
// reported with its number while iteration goes on.
func ExampleOpenFile() {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "example")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer os.RemoveAll(dir)
	name := filepath.Join(dir, "urls.txt")

	f, err := structured.OpenFile(ctx, name, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o644)
	if err != nil {
		fmt.Println(err)
		return
	}
	f.WriteString(ctx, "https://example.com/\r\n")
	f.WriteString(ctx, "https://example.com/"+strings.Repeat("a", 100)+"\n")
	f.WriteString(ctx, "https://example.org/")
	if err := f.Close(ctx); err != nil {
		fmt.Println(err)
		return
	}

	f, err = structured.OpenFile(ctx, name, os.O_RDONLY, 0)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer f.Close(ctx)
	for line, err := range f.Lines(ctx, structured.MaxLineLength(64)) {
		var tooLong *structured.LineTooLongError
		switch {
		case errors.As(err, &tooLong):
			fmt.Printf("line %d: longer than %d bytes, skipped\n", tooLong.Line, tooLong.Limit)
		case err != nil:
			fmt.Println(err)
			return
		default:
			fmt.Printf("%q\n", line)
		}
	}
	// Output:
	// "https://example.com/"
	// line 2: longer than 64 bytes, skipped
	// "https://example.org/"
}

// RunProcess captures output and exit status; cancelling ctx would stop the
// process with SIGTERM, then SIGKILL after the grace period.
func ExampleRunProcess() {
	cmd := exec.Command("sh", "-c", "echo fetched 3 pages; echo 1 failed >&2; exit 1")
	res, err := structured.RunProcess(context.Background(), cmd)
	var exit *exec.ExitError
	fmt.Println(errors.As(err, &exit), res.ExitCode)
	fmt.Printf("stdout %q\nstderr %q\n", res.Stdout, res.Stderr)
	// Output:
	// true 1
	// stdout "fetched 3 pages\n"
	// stderr "1 failed\n"
}
