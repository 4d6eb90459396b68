package store

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
)

// JournalPath returns the path of the crawl journal that goes with the
// output file at output.
func JournalPath(output string) string { return output + ".journal" }

// ErrBadURL is returned by [Journal.Enqueue] for a URL that cannot be one
// field of a journal line: empty, or holding a line break.
var ErrBadURL = errors.New("store: url cannot be journaled")

// A Journal is the append-only record of a crawl's frontier, kept next to
// the output so that `trawl crawl --resume` can rebuild what was queued:
// one line "enqueue <depth> <url>" per URL the crawl queued, followed by
// a tab and the referring page when there is one, each one a
// page admitted under --max-pages (a resumed crawl counts them: the
// events it replays are not journaled again, so a URL has one event).
// What is done is not journaled: the output file is the truth for that
// (see the package documentation). A Journal is safe for concurrent use.
type Journal struct {
	w *recordWriter
}

// OpenJournal opens the journal at path for appending, creating it if
// needed, after cutting a line torn by a crash off its end. Call
// [ReplayJournal] before it to read what an interrupted run left. Only
// [WithBufferSize] and [WithCloseTimeout] apply to a journal.
func OpenJournal(ctx context.Context, path string, opts ...SinkOption) (*Journal, error) {
	if _, err := cutTail(ctx, path, 0); err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("open journal %s: %w", path, err)
	}
	f, err := openAppend(ctx, path)
	if err != nil {
		return nil, err
	}
	cfg := newSinkConfig(opts)
	cfg.journal = nil
	j := &Journal{w: newRecordWriter(f, cfg)}
	if err := j.w.trackEnd(ctx, path); err != nil {
		return nil, errors.Join(err, f.Close(ctx))
	}
	return j, nil
}

// Enqueue buffers the event "url was queued at depth". Record it before
// the record of the page that found url is written to the sink; the sink
// made with [WithJournal] then makes it durable first.
func (j *Journal) Enqueue(ctx context.Context, depth int, url string) error {
	return j.EnqueueFrom(ctx, depth, url, "")
}

// EnqueueFrom is [Journal.Enqueue] that also records referrer, the page
// url was found on ("" for none), so that a resumed crawl still writes
// it in url's record. A referrer that cannot be journaled (holding a
// tab or a line break) is left out.
func (j *Journal) EnqueueFrom(ctx context.Context, depth int, url, referrer string) error {
	if url == "" || strings.ContainsAny(url, "\r\n\t") || depth < 0 {
		return fmt.Errorf("journal %s: %w: depth %d url %q", j.w.f.Name(), ErrBadURL, depth, url)
	}
	if strings.ContainsAny(referrer, "\r\n\t") {
		referrer = ""
	}
	return j.w.append(ctx, func(b []byte) []byte {
		b = append(b, "enqueue "...)
		b = strconv.AppendInt(b, int64(depth), 10)
		b = append(b, ' ')
		b = append(b, url...)
		if referrer != "" {
			b = append(b, '\t')
			b = append(b, referrer...)
		}
		return append(b, '\n')
	})
}

// Flush writes out the buffered events and syncs the journal to stable
// storage, when anything was written since the last sync.
func (j *Journal) Flush(ctx context.Context) error { return j.w.FlushSync(ctx) }

// Close flushes, syncs and closes the journal, shielded from ctx's
// cancellation and bounded as [JSONLSink.Close] is.
func (j *Journal) Close(ctx context.Context) error { return j.w.Close(ctx) }

// ReplayJournal reads the journal at path and calls enqueued for each
// event, in order. A last line without a line break that starts like an
// event was torn by a crash and is cut off the file, the only change
// ReplayJournal ever makes; any other line that is not an event fails the
// replay with a [*CorruptRecordError] naming the file and the line, and
// the journal is left as it was. A missing journal holds nothing: the
// result is zero and the error nil. The frontier to resume is the URLs
// enqueued minus those that the output file holds ([ScanJSONL],
// [ScanCSV]).
func ReplayJournal(ctx context.Context, path string, enqueued func(depth int, url string)) (ScanResult, error) {
	return ReplayJournalFrom(ctx, path, func(depth int, url, _ string) { enqueued(depth, url) })
}

// ReplayJournalFrom is [ReplayJournal] that also passes each event's
// referrer ("" when the event has none: the page was an input, or the
// journal was written by a trawl that did not record referrers).
func ReplayJournalFrom(ctx context.Context, path string, enqueued func(depth int, url, referrer string)) (ScanResult, error) {
	var res ScanResult
	torn := func(l scannedLine) bool {
		return l.tooLong || strings.HasPrefix(l.text, "enqueue ") || strings.HasPrefix("enqueue ", l.text)
	}
	err := scanLines(ctx, path, &res, torn, func(l scannedLine) error {
		if l.tooLong {
			return &CorruptRecordError{Path: path, Line: l.num, Err: errRecordTooLong}
		}
		depth, url, err := parseJournalLine(l.text)
		if err != nil {
			return &CorruptRecordError{Path: path, Line: l.num, Err: err}
		}
		url, referrer, _ := strings.Cut(url, "\t")
		res.Records++
		enqueued(depth, url, referrer)
		return nil
	})
	return res, err
}

// errBadEvent is the cause of a corrupt journal line.
var errBadEvent = errors.New("not an \"enqueue <depth> <url>\" event")

func parseJournalLine(text string) (depth int, url string, err error) {
	kind, rest, _ := strings.Cut(text, " ")
	ds, url, _ := strings.Cut(rest, " ")
	depth, err = strconv.Atoi(ds)
	if kind != "enqueue" || err != nil || depth < 0 || url == "" {
		return 0, "", errBadEvent
	}
	return depth, url, nil
}
