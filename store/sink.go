package store

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"syscall"
	"time"

	"github.com/trawl-dev/trawl/structured"
)

// Defaults of the sink options.
const (
	// DefaultBufferSize is the number of buffered bytes past which a sink
	// writes its buffer out without being asked.
	DefaultBufferSize = 64 << 10
	// DefaultCloseTimeout bounds the final flush, sync and close of a sink
	// or journal, which run even when the caller's context is cancelled.
	DefaultCloseTimeout = 10 * time.Second
)

// MaxRecordBytes is the largest record, in bytes without its line
// break, that a sink writes ([ErrRecordTooLarge]) and that a resume scan
// ([ScanJSONL], [ReplayJournal]) reads back: one limit for the writer and
// the reader, so that whatever a run wrote, a resumed run can read.
const MaxRecordBytes = 16 << 20

// ErrRecordTooLarge is returned by the Write methods of the sinks and
// [Journal.Enqueue] for a record longer than [MaxRecordBytes]. Nothing is
// written: the caller should write a smaller record in its place.
var ErrRecordTooLarge = fmt.Errorf("store: record larger than %d bytes", MaxRecordBytes)

// ErrBadRecord is returned by [JSONLSink.Write] for a record that would
// not make exactly one line: empty, or containing a line break.
var ErrBadRecord = errors.New("store: record is not one line of output")

// ErrClosed is returned by the methods of a sink or journal after its
// Close.
var ErrClosed = errors.New("store: sink or journal closed")

// IsBrokenPipe reports whether err comes from writing to a pipe whose
// reader has gone, as when the output is piped into `head -3`. The program
// should then stop quietly: nobody reads what it would write.
//
// Go kills a program that writes to a broken pipe on file descriptor 1 or
// 2 with SIGPIPE, unless it calls signal.Ignore(syscall.SIGPIPE) or
// signal.Notify for it; only then does the write return the error that
// IsBrokenPipe recognises.
func IsBrokenPipe(err error) bool { return errors.Is(err, syscall.EPIPE) }

// A Flusher writes out what it buffers. Sinks and [Journal] are Flushers.
type Flusher interface {
	Flush(ctx context.Context) error
}

// A Sink is an output in which every record becomes exactly one line (for
// CSV, one record) and the file only ever holds whole records: the buffer
// is written out at record boundaries only. R is the record type:
// []byte for [JSONLSink], []string for [CSVSink].
//
// A Sink is safe for concurrent use, so that a [FlushEvery] task may
// flush it while the writer task writes.
type Sink[R any] interface {
	Flusher
	// Write buffers one record, and writes the buffer out when it
	// passes the buffer size.
	Write(ctx context.Context, rec R) error
	// Close flushes, syncs to stable storage where the file allows,
	// and closes the file, bounded and shielded from ctx's
	// cancellation.
	Close(ctx context.Context) error
}

var (
	_ Sink[[]byte]   = (*JSONLSink)(nil)
	_ Sink[[]string] = (*CSVSink)(nil)
)

// A SinkOption configures a sink at its creation.
type SinkOption func(*sinkConfig)

type sinkConfig struct {
	bufSize      int
	closeTimeout time.Duration
	journal      *Journal
	csvRaw       bool
}

func newSinkConfig(opts []SinkOption) sinkConfig {
	c := sinkConfig{bufSize: DefaultBufferSize, closeTimeout: DefaultCloseTimeout}
	for _, o := range opts {
		o(&c)
	}
	if c.bufSize < 1 {
		c.bufSize = DefaultBufferSize
	}
	if c.closeTimeout <= 0 {
		c.closeTimeout = DefaultCloseTimeout
	}
	return c
}

// WithBufferSize sets the number of buffered bytes past which the sink
// writes its buffer out; n below 1 means [DefaultBufferSize]. A record
// longer than n is written whole, on its own.
func WithBufferSize(n int) SinkOption { return func(c *sinkConfig) { c.bufSize = n } }

// WithCloseTimeout bounds the final flush, sync and close done by Close;
// d of zero or less means [DefaultCloseTimeout].
func WithCloseTimeout(d time.Duration) SinkOption {
	return func(c *sinkConfig) { c.closeTimeout = d }
}

// WithJournal makes the sink flush and sync j before every write of its
// own buffer, so that the frontier events recorded for a page are durable
// before the page's record can reach the output. See the package
// documentation for why crawl resume depends on that order.
func WithJournal(j *Journal) SinkOption { return func(c *sinkConfig) { c.journal = j } }

// recordFile is the file under a recordWriter: a *structured.File (or a
// test double that fails as a full disk does).
type recordFile interface {
	Name() string
	Write(ctx context.Context, p []byte) (int, error)
	Sync(ctx context.Context) error
	Close(ctx context.Context) error
}

// recordWriter is the buffer shared by the sinks and the journal: bytes
// are appended a whole record at a time and written out in one Write.
type recordWriter struct {
	mu      sync.Mutex
	f       recordFile
	end     int64                                       // offset past the last whole record written, with truncate
	cut     func(ctx context.Context, size int64) error // truncates the file; nil when it cannot be
	cfg     sinkConfig
	buf     []byte
	err     error // sticky: the first write error
	closed  bool
	before  func(ctx context.Context) error // runs before each write out
	canSync bool                            // false once the file refused fsync
	dirty   bool                            // written since the last sync
}

func newRecordWriter(f recordFile, cfg sinkConfig) *recordWriter {
	w := &recordWriter{f: f, cfg: cfg, canSync: true}
	if j := cfg.journal; j != nil {
		w.before = func(ctx context.Context) error {
			// A closed journal was flushed and synced by its Close.
			if err := j.Flush(ctx); !errors.Is(err, ErrClosed) {
				return err
			}
			return nil
		}
	}
	return w
}

// trackEnd makes the writer cut the regular file at path, opened for
// appending, back to its last whole record when a write out fails part
// way (a full disk): the file then never ends with a torn record. Other
// files (pipes, terminals, devices) cannot be cut.
func (w *recordWriter) trackEnd(ctx context.Context, path string) error {
	st, err := structured.RunSync(ctx, func(context.Context) (os.FileInfo, error) { return os.Stat(path) })
	if err != nil {
		return err
	}
	if !st.Mode().IsRegular() {
		return nil
	}
	w.end = st.Size()
	w.cut = func(ctx context.Context, size int64) error {
		_, err := structured.RunSync(ctx, func(context.Context) (struct{}, error) {
			return struct{}{}, os.Truncate(path, size)
		})
		return err
	}
	return nil
}

// append adds one whole record to the buffer, calling add with the buffer
// locked, and writes the buffer out past the threshold. A record of more
// than MaxRecordBytes, its line break aside, is taken back and refused
// with ErrRecordTooLarge.
func (w *recordWriter) append(ctx context.Context, add func([]byte) []byte) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if err := w.usable(); err != nil {
		return err
	}
	n := len(w.buf)
	w.buf = add(w.buf)
	if size := len(w.buf) - n - 1; size > MaxRecordBytes {
		w.buf = w.buf[:n]
		return fmt.Errorf("write %s: %w: %d bytes", w.f.Name(), ErrRecordTooLarge, size)
	}
	if len(w.buf) < w.cfg.bufSize {
		return nil
	}
	return w.flushLocked(ctx)
}

func (w *recordWriter) usable() error {
	if w.closed {
		return ErrClosed
	}
	return w.err
}

// Flush writes out the buffer.
func (w *recordWriter) Flush(ctx context.Context) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if err := w.usable(); err != nil {
		return err
	}
	return w.flushLocked(ctx)
}

func (w *recordWriter) flushLocked(ctx context.Context) error {
	if len(w.buf) == 0 {
		return nil
	}
	if w.before != nil {
		if err := w.before(ctx); err != nil {
			return fmt.Errorf("flush %s: %w", w.f.Name(), err)
		}
	}
	n, err := w.f.Write(ctx, w.buf)
	if err != nil {
		if n == 0 && ctx.Err() != nil {
			return err // nothing written: the buffer is kept for a retry
		}
		// Part of the buffer may be in the file, ending in a torn
		// record: cut it back to the last whole one. The writer stays
		// broken: the records in the buffer are lost, and the caller
		// must know.
		if n > 0 && w.cut != nil {
			// Shielded: a torn record must not stay for a cancellation.
			cerr := structured.Shielded(ctx, w.cfg.closeTimeout, func(ctx context.Context) error { return w.cut(ctx, w.end) })
			if cerr != nil {
				err = errors.Join(err, fmt.Errorf("cut %s back to its last whole record: %w", w.f.Name(), cerr))
			}
		}
		w.err = err
		return err
	}
	w.end += int64(n)
	w.buf = w.buf[:0]
	w.dirty = true
	return nil
}

// FlushSync writes out the buffer and syncs the file if anything was
// written since the last sync.
func (w *recordWriter) FlushSync(ctx context.Context) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if err := w.usable(); err != nil {
		return err
	}
	if err := w.flushLocked(ctx); err != nil {
		return err
	}
	if !w.dirty {
		return nil
	}
	if err := w.syncLocked(ctx); err != nil {
		return fmt.Errorf("sync %s: %w", w.f.Name(), err)
	}
	w.dirty = false
	return nil
}

// syncLocked commits the file to stable storage; pipes and terminals,
// which cannot be synced, are skipped.
func (w *recordWriter) syncLocked(ctx context.Context) error {
	if !w.canSync {
		return nil
	}
	err := w.f.Sync(ctx)
	if errors.Is(err, syscall.EINVAL) || errors.Is(err, syscall.ENOTSUP) {
		w.canSync = false
		return nil
	}
	return err
}

// Close flushes, syncs and closes the file inside a shielded scope bounded
// by the close timeout. The file is closed whatever happens before.
func (w *recordWriter) Close(ctx context.Context) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return ErrClosed
	}
	w.closed = true
	return structured.Shielded(ctx, w.cfg.closeTimeout, func(ctx context.Context) error {
		err := w.err // already returned once; returned again lest it be lost
		if err == nil {
			err = w.flushLocked(ctx)
			if err == nil {
				err = w.syncLocked(ctx)
			}
		}
		return errors.Join(err, w.f.Close(ctx))
	})
}

// JSONLSink writes JSON Lines: each record is one JSON value, written on
// a line of its own.
type JSONLSink struct {
	w *recordWriter
}

// OpenJSONL opens path for appending, creating it if needed, and returns a
// sink writing to it. To continue an interrupted run, call [ScanJSONL]
// first: it removes a torn last line.
func OpenJSONL(ctx context.Context, path string, opts ...SinkOption) (*JSONLSink, error) {
	f, err := openAppend(ctx, path)
	if err != nil {
		return nil, err
	}
	s := NewJSONL(f, opts...)
	if err := s.w.trackEnd(ctx, path); err != nil {
		return nil, errors.Join(err, f.Close(ctx))
	}
	return s, nil
}

// NewJSONL returns a sink writing to f, such as
// structured.NewFile(os.Stdout). The sink owns f: Close closes it.
func NewJSONL(f *structured.File, opts ...SinkOption) *JSONLSink {
	return &JSONLSink{w: newRecordWriter(f, newSinkConfig(opts))}
}

// Write buffers rec, one complete JSON value such as the output of
// json.Marshal, and a line break after it. A record that is empty or holds
// a line break is refused with [ErrBadRecord]. After a failed write out
// the sink is broken: Write and Flush return that error again.
func (s *JSONLSink) Write(ctx context.Context, rec []byte) error {
	if len(rec) == 0 || bytesHasLineBreak(rec) {
		return fmt.Errorf("write %s: %w", s.w.f.Name(), ErrBadRecord)
	}
	return s.w.append(ctx, func(b []byte) []byte {
		b = append(b, rec...)
		return append(b, '\n')
	})
}

// Flush writes out the buffered records in one write. Call it at least
// every 200 ms (see [FlushEvery]) so that readers of the output see
// results as they come.
func (s *JSONLSink) Flush(ctx context.Context) error { return s.w.Flush(ctx) }

// Close flushes the buffer, syncs the file to stable storage (skipped for
// pipes and terminals, which cannot be synced) and closes it. It runs
// shielded from ctx's cancellation, for at most the close timeout
// ([WithCloseTimeout]), and returns [structured.ErrTimeout] if that
// expired; the file is closed in every case. A sink broken by a failed
// write out returns that error again, with the close's.
func (s *JSONLSink) Close(ctx context.Context) error { return s.w.Close(ctx) }

func bytesHasLineBreak(b []byte) bool {
	for _, c := range b {
		if c == '\n' || c == '\r' {
			return true
		}
	}
	return false
}

const appendFlags = os.O_APPEND | os.O_CREATE | os.O_WRONLY

func openAppend(ctx context.Context, path string) (*structured.File, error) {
	return structured.OpenFile(ctx, path, appendFlags, 0o644)
}

// FlushEvery calls Flush on each of fs, in order, every interval until ctx
// is done, and then returns nil. Run it as a task next to the writer task,
// in a group that the writer's end cancels. The order matters: pass the
// journal before the sink (a sink made [WithJournal] also flushes its
// journal first by itself). A flush error ends the loop and is returned.
func FlushEvery(ctx context.Context, interval time.Duration, fs ...Flusher) error {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		for _, f := range fs {
			if err := f.Flush(ctx); err != nil {
				if ctx.Err() != nil {
					return nil
				}
				return err
			}
		}
	}
}
