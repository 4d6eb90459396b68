package structured

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"iter"
	"os"
	"time"
)

// A File is an [os.File] whose blocking operations take a context and run
// through [RunSync], bounded by the file's limiter ([DefaultLimiter] unless
// [WithLimiter] was given at open).
//
// Every operation refuses to start when its context is already done. Once
// started, an operation on a regular file runs to its end (a disk read
// cannot be interrupted). On a file that supports deadlines (a pipe or
// socket in the runtime poller, such as those of [os.Pipe]), a Read or
// Write blocked when ctx is cancelled is interrupted and returns the data
// moved so far with an error wrapping ctx.Err(). On anything else (a
// terminal, a blocking pipe inherited as standard input) a started Read
// waits for input; [File.Lines] does not, see there. Errors are
// [*fs.PathError] values naming the operation and the file.
//
// Like an os.File, a File is safe for concurrent use only as far as the
// underlying file is; do not read it from two goroutines at once.
type File struct {
	f       *os.File
	limiter *CapacityLimiter
}

type fileConfig struct {
	limiter *CapacityLimiter
}

// OpenFile opens the named file as [os.OpenFile] does, in a worker
// goroutine (opening may block, on a FIFO or a slow file system). If ctx is
// cancelled while the open runs, OpenFile still returns the open file:
// nothing is leaked.
func OpenFile(ctx context.Context, name string, flag int, perm os.FileMode, opts ...FileOption) (*File, error) {
	var cfg fileConfig
	for _, o := range opts {
		o.applyFile(&cfg)
	}
	f, err := RunSync(ctx, func(context.Context) (*os.File, error) {
		return os.OpenFile(name, flag, perm)
	}, WithLimiter(cfg.limiter))
	if err != nil {
		var pe *fs.PathError
		if !errors.As(err, &pe) {
			err = &fs.PathError{Op: "open", Path: name, Err: err}
		}
		return nil, err
	}
	return &File{f: f, limiter: cfg.limiter}, nil
}

// NewFile wraps an open [os.File], such as [os.Stdin] or [os.Stdout], so
// that the program reads and writes it through the same offloaded API. The
// File takes over f: closing the File closes f.
func NewFile(f *os.File, opts ...FileOption) *File {
	var cfg fileConfig
	for _, o := range opts {
		o.applyFile(&cfg)
	}
	return &File{f: f, limiter: cfg.limiter}
}

// Name returns the name of the file as presented to [OpenFile] or of the
// wrapped os.File.
func (f *File) Name() string { return f.f.Name() }

// Read reads up to len(p) bytes into p, as [os.File.Read]: at end of file
// it returns 0, [io.EOF].
func (f *File) Read(ctx context.Context, p []byte) (int, error) {
	return f.transfer(ctx, "read", f.f.SetReadDeadline, func() (int, error) { return f.f.Read(p) })
}

// Write writes p, as [os.File.Write]: it returns an error when it wrote
// fewer than len(p) bytes.
func (f *File) Write(ctx context.Context, p []byte) (int, error) {
	return f.transfer(ctx, "write", f.f.SetWriteDeadline, func() (int, error) { return f.f.Write(p) })
}

// WriteString is [File.Write] for a string.
func (f *File) WriteString(ctx context.Context, s string) (int, error) {
	return f.transfer(ctx, "write", f.f.SetWriteDeadline, func() (int, error) { return f.f.WriteString(s) })
}

// Sync commits the file's contents to stable storage, as [os.File.Sync].
func (f *File) Sync(ctx context.Context) error {
	_, err := f.run(ctx, "sync", func() (int, error) { return 0, f.f.Sync() })
	return err
}

// Close closes the file. It always closes it, even when ctx is done, so
// that no descriptor leaks: if ctx is done before a worker token is free,
// Close closes the file in the calling goroutine instead, and returns the
// result of the close itself.
func (f *File) Close(ctx context.Context) error {
	ran := false
	_, err := f.run(ctx, "close", func() (int, error) {
		ran = true
		return 0, f.f.Close()
	})
	if !ran {
		return f.f.Close()
	}
	return err
}

// run runs op through RunSync. Errors from op are returned as they are
// (os.File's are already *fs.PathError); a refusal by RunSync becomes a
// *fs.PathError naming the operation and the file.
func (f *File) run(ctx context.Context, name string, op func() (int, error)) (int, error) {
	ran := false
	n, err := RunSync(ctx, func(context.Context) (int, error) {
		ran = true
		return op()
	}, WithLimiter(f.limiter))
	if err != nil && !ran {
		err = &fs.PathError{Op: name, Path: f.Name(), Err: err}
	}
	return n, err
}

// longAgo is a deadline in the past, which interrupts a blocked operation.
var longAgo = time.Unix(1, 0)

// transfer runs a read or write that a cancellation of ctx interrupts,
// where the file supports deadlines: when ctx is done, setDeadline moves
// the deadline into the past, and the deadline error is reported as ctx's.
func (f *File) transfer(ctx context.Context, name string, setDeadline func(time.Time) error, op func() (int, error)) (int, error) {
	return f.run(ctx, name, func() (int, error) {
		fired := make(chan struct{})
		stop := context.AfterFunc(ctx, func() {
			setDeadline(longAgo) // fails harmlessly on regular files
			close(fired)
		})
		n, err := op()
		if !stop() {
			<-fired
			setDeadline(time.Time{})
			if errors.Is(err, os.ErrDeadlineExceeded) {
				err = &fs.PathError{Op: name, Path: f.Name(), Err: ctx.Err()}
			}
		}
		return n, err
	})
}

// DefaultMaxLineLength is the longest line, in bytes without its line
// ending, that [File.Lines] yields unless [MaxLineLength] says otherwise.
const DefaultMaxLineLength = 1 << 20

// linesChunk is how much File.Lines reads per offloaded call.
const linesChunk = 64 << 10

// A LinesOption configures [File.Lines].
type LinesOption func(*linesConfig)

type linesConfig struct {
	max int
}

// MaxLineLength sets the longest line, in bytes without its line ending,
// that [File.Lines] yields; longer lines yield a [*LineTooLongError]. n
// below 1 means [DefaultMaxLineLength].
func MaxLineLength(n int) LinesOption {
	return func(c *linesConfig) { c.max = n }
}

// LineTooLongError is yielded by [File.Lines] for a line longer than the
// limit. The line is skipped and iteration goes on with the next one.
type LineTooLongError struct {
	Name  string // the file's name
	Line  int    // 1-based line number
	Limit int    // the limit in bytes
}

// Error names the file, the line and the limit.
func (e *LineTooLongError) Error() string {
	return fmt.Sprintf("read %s line %d: line longer than %d bytes", e.Name, e.Line, e.Limit)
}

// Lines returns an iterator over the lines of f from its current offset,
// without their line ending ("\n" or "\r\n"). A last line without a line
// ending is yielded too; an empty file yields nothing.
//
// Lines reads in chunks of 64 KiB, each through RunSync, so lines of any
// length stream without loading the file. A line longer than the limit
// ([MaxLineLength], by default [DefaultMaxLineLength]) yields "" and a
// [*LineTooLongError]; iteration then goes on with the next line. A read
// error, or the cancellation of ctx (checked before every line), yields ""
// and an error naming the file and the line number, wrapping the cause, and
// ends the iteration.
//
// Lines reads ahead: once iteration stops, the file's offset is past the
// last line yielded.
//
// A read from a regular file, or from a file that supports deadlines (a
// pipe or socket made non-blocking, as [os.Pipe] makes them), ends when ctx
// is cancelled as described for [File]. A read from anything else, such as
// a terminal or a blocking pipe on standard input, cannot be interrupted:
// there Lines reads into a buffer of its own with [AbandonOnCancel], so that
// a cancellation ends the iteration at once while the abandoned read goes
// on in the background, holding its worker token, until input or end of
// file arrives. What that read returns is dropped.
func (f *File) Lines(ctx context.Context, opts ...LinesOption) iter.Seq2[string, error] {
	cfg := linesConfig{max: DefaultMaxLineLength}
	for _, o := range opts {
		o(&cfg)
	}
	if cfg.max < 1 {
		cfg.max = DefaultMaxLineLength
	}
	return func(yield func(string, error) bool) {
		lr := lineReader{
			r:   bufio.NewReaderSize(ctxReader{ctx: ctx, f: f, abandon: !f.interruptible()}, linesChunk),
			max: cfg.max,
		}
		for n := 1; ; n++ {
			if err := ctx.Err(); err != nil {
				yield("", fmt.Errorf("read %s line %d: %w", f.Name(), n, err))
				return
			}
			line, tooLong, err := lr.next()
			switch {
			case err == io.EOF:
				return
			case err != nil:
				var pe *fs.PathError
				if errors.As(err, &pe) {
					err = pe.Err
				}
				yield("", fmt.Errorf("read %s line %d: %w", f.Name(), n, err))
				return
			case tooLong:
				if !yield("", &LineTooLongError{Name: f.Name(), Line: n, Limit: cfg.max}) {
					return
				}
			default:
				if !yield(line, nil) {
					return
				}
			}
		}
	}
}

// interruptible reports whether a blocked read from f ends on
// cancellation: a regular file's reads end by themselves, and a file in
// the runtime poller takes deadlines.
func (f *File) interruptible() bool {
	if fi, err := f.f.Stat(); err == nil && fi.Mode().IsRegular() {
		return true
	}
	return f.f.SetReadDeadline(time.Time{}) == nil
}

// ctxReader adapts a File and a context to io.Reader for bufio. With
// abandon, each read goes to a buffer of its own and is abandoned on
// cancellation, so that nothing writes into p once Read has returned.
type ctxReader struct {
	ctx     context.Context
	f       *File
	abandon bool
}

func (r ctxReader) Read(p []byte) (int, error) {
	if !r.abandon {
		return r.f.Read(r.ctx, p)
	}
	b, err := RunSync(r.ctx, func(context.Context) ([]byte, error) {
		b := make([]byte, len(p))
		n, err := r.f.f.Read(b)
		return b[:n], err
	}, WithLimiter(r.f.limiter), AbandonOnCancel())
	return copy(p, b), err
}

// lineReader splits a buffered stream into lines of bounded length.
type lineReader struct {
	r   *bufio.Reader
	max int
	buf []byte
}

// next returns the next line without its ending. tooLong reports a line
// longer than max, whose bytes were skipped. err is io.EOF only when no
// byte of a new line was read.
func (lr *lineReader) next() (line string, tooLong bool, err error) {
	lr.buf = lr.buf[:0]
	read := 0
	for {
		chunk, err := lr.r.ReadSlice('\n')
		read += len(chunk)
		if !tooLong {
			// Keep up to max bytes plus "\r\n"; beyond that the line is
			// too long whatever its ending.
			if len(lr.buf)+len(chunk) > lr.max+2 {
				tooLong = true
				lr.buf = lr.buf[:0]
			} else {
				lr.buf = append(lr.buf, chunk...)
			}
		}
		switch {
		case err == bufio.ErrBufferFull:
			continue
		case err == io.EOF && read > 0:
			// A last line without a line ending.
		case err != nil:
			return "", false, err
		}
		break
	}
	if tooLong {
		return "", true, nil
	}
	b := lr.buf
	if n := len(b); n > 0 && b[n-1] == '\n' {
		b = b[:n-1]
		if n := len(b); n > 0 && b[n-1] == '\r' {
			b = b[:n-1]
		}
	}
	if len(b) > lr.max {
		return "", true, nil
	}
	return string(b), false, nil
}

// ReadFile reads the whole named file, as [os.ReadFile], in a worker
// goroutine. Use [File.Lines] or [File.Read] for input of unknown size.
func ReadFile(ctx context.Context, name string, opts ...FileOption) ([]byte, error) {
	var cfg fileConfig
	for _, o := range opts {
		o.applyFile(&cfg)
	}
	b, err := RunSync(ctx, func(context.Context) ([]byte, error) {
		return os.ReadFile(name)
	}, WithLimiter(cfg.limiter))
	if err != nil {
		var pe *fs.PathError
		if !errors.As(err, &pe) {
			err = &fs.PathError{Op: "read", Path: name, Err: err}
		}
	}
	return b, err
}

// WriteFile writes data to the named file, as [os.WriteFile], in a worker
// goroutine.
func WriteFile(ctx context.Context, name string, data []byte, perm os.FileMode, opts ...FileOption) error {
	var cfg fileConfig
	for _, o := range opts {
		o.applyFile(&cfg)
	}
	_, err := RunSync(ctx, func(context.Context) (struct{}, error) {
		return struct{}{}, os.WriteFile(name, data, perm)
	}, WithLimiter(cfg.limiter))
	if err != nil {
		var pe *fs.PathError
		if !errors.As(err, &pe) {
			err = &fs.PathError{Op: "write", Path: name, Err: err}
		}
	}
	return err
}
