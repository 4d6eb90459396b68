package store

import (
	"bytes"
	"context"
	"fmt"
	"os"

	"github.com/trawl-dev/trawl/structured"
)

// tailChunk is how much cutTail reads at a time, backwards from the end.
const tailChunk = 64 << 10

// cutTail makes the file at path end with a line break: it removes the
// bytes after the last line break (a line torn by a crash), and then
// dropLines more complete lines. It returns the number of bytes removed.
// The error of a missing file matches os.ErrNotExist.
func cutTail(ctx context.Context, path string, dropLines int) (int64, error) {
	return structured.RunSync(ctx, func(context.Context) (int64, error) {
		f, err := os.OpenFile(path, os.O_RDWR, 0)
		if err != nil {
			return 0, err
		}
		defer f.Close() // already in a worker goroutine; nothing to flush
		st, err := f.Stat()
		if err != nil {
			return 0, err
		}
		size := st.Size()
		end, err := lineStart(f, size)
		for i := 0; i < dropLines && err == nil && end > 0; i++ {
			end, err = lineStart(f, end-1)
		}
		if err != nil {
			return 0, fmt.Errorf("cut %s: %w", path, err)
		}
		if end == size {
			return 0, nil
		}
		if err := f.Truncate(end); err != nil {
			return 0, err
		}
		return size - end, f.Sync()
	})
}

// appendLineBreak adds a line break at the end of the file at path, and
// syncs it.
func appendLineBreak(ctx context.Context, path string) error {
	_, err := structured.RunSync(ctx, func(context.Context) (struct{}, error) {
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
		if err != nil {
			return struct{}{}, err
		}
		defer f.Close()
		if _, err := f.Write([]byte("\n")); err != nil {
			return struct{}{}, err
		}
		return struct{}{}, f.Sync()
	})
	return err
}

// truncateAt cuts the file at path to size bytes, and syncs it. It returns
// the number of bytes removed.
func truncateAt(ctx context.Context, path string, size int64) (int64, error) {
	return structured.RunSync(ctx, func(context.Context) (int64, error) {
		f, err := os.OpenFile(path, os.O_RDWR, 0)
		if err != nil {
			return 0, err
		}
		defer f.Close()
		st, err := f.Stat()
		if err != nil || st.Size() <= size {
			return 0, err
		}
		if err := f.Truncate(size); err != nil {
			return 0, err
		}
		return st.Size() - size, f.Sync()
	})
}

// lineStart returns the offset just past the last line break before end,
// or 0 if there is none: the start of the line that holds offset end-1.
func lineStart(f *os.File, end int64) (int64, error) {
	buf := make([]byte, tailChunk)
	for end > 0 {
		n := min(int64(len(buf)), end)
		chunk := buf[:n]
		if _, err := f.ReadAt(chunk, end-n); err != nil {
			return 0, err
		}
		if i := bytes.LastIndexByte(chunk, '\n'); i >= 0 {
			return end - n + int64(i) + 1, nil
		}
		end -= n
	}
	return 0, nil
}
