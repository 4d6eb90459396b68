// Package store writes trawl's results and the state that lets an
// interrupted run resume: output sinks (JSON Lines, CSV), the scan of an
// existing output file, the crawl journal and the run lock.
//
// # Sinks: whole records only
//
// A sink ([JSONLSink], [CSVSink]) buffers encoded records and writes the
// buffer out in one write, only at record boundaries: when it passes the
// buffer size ([WithBufferSize], 64 KiB by default), on Flush, and on
// Close. The file therefore only ever holds whole records. A write out
// that fails part way (the disk fills up) is cut back to the end of the
// last whole record, and the error is returned; only a process killed in
// the middle of a write can leave a torn record at the end, which
// [ScanJSONL] and [ScanCSV] remove. After a failed write a sink is broken
// and keeps returning the error: the records it held are lost, and the
// caller must say so. One writer task owns a sink; [FlushEvery], run as a
// task beside it, flushes at least every 200 ms so that `| jq` sees results as
// they come. A write to a pipe whose reader has gone fails with an error
// for which [IsBrokenPipe] is true.
//
// # What is durable when
//
//   - After Write: nothing. The record is in the process's memory.
//   - After Flush (or a write out past the buffer size): the record is in
//     the operating system. It survives the process being killed, even
//     with kill -9, but not a power loss or kernel crash.
//   - After Close: the file has been synced (fsync) and survives a power
//     loss too. Close runs shielded from its context's cancellation, for
//     at most [WithCloseTimeout], so an interrupted run still ends with a
//     flushed, synced file. Pipes and terminals cannot be synced; for them
//     Close only flushes.
//   - [Journal.Flush] writes out and syncs: journal events are durable
//     against a power loss as soon as it returns.
//
// # Resume
//
// The output file is the truth about what is done: a URL is done exactly
// when its record is in the output. To resume, the caller scans the output
// ([ScanJSONL] or [ScanCSV]), which cuts a torn last record off the file
// (its URL will be fetched again), and reports every URL it holds. The
// caller skips those, opens the sink for appending, and fetches the rest:
// every URL ends up in the output exactly once, as long as one run at a
// time appends (see Lock). Cutting one torn last record, or adding the
// line break a whole last record lacks, is the only change a scan ever
// makes: a complete record that cannot be read (a CSV file
// scanned as JSON Lines, a list of URLs, a corrupt line) fails the scan
// with a [*CorruptRecordError] naming the file and the line, and leaves
// the file byte for byte as it was. Records are at most [MaxRecordBytes]
// long, for the sinks that write them and the scans that read them.
// Scans are idempotent: a second scan cuts nothing.
//
// # The crawl journal
//
// A crawl also needs its frontier, the URLs queued but not yet done. The
// [Journal] is an append-only file next to the output ([JournalPath]) with
// one line "enqueue <depth> <url>" per queued URL; the frontier to resume
// is what [ReplayJournal] returns minus what the output holds. Done events
// are not journaled: the output already records them, and a journaled
// "done" that reached the disk before its record would lose the URL.
//
// The journal only has to hold every URL that was queued by a page whose
// record is in the output: a URL queued by a page that is not in the
// output is found again when that page is fetched again. That holds if
// the journal events for a page are durable before the page's record can
// be: the pipeline calls [Journal.Enqueue] for a page's links before it
// writes the page's record to the sink, and the sink, made with
// [WithJournal], flushes and syncs the journal before every write out of
// its own buffer. The seeds are journaled too, at depth 0, before
// anything is written. Batching is then enough: the journal is written and
// synced once per output write (at most every 200 ms with [FlushEvery],
// or every 64 KiB), not once per URL. The journal may hold more than the
// frontier (duplicates, URLs already done); the caller deduplicates. A
// sink may be closed before or after its journal: a closed journal was
// synced by its Close.
//
// # The spill: scratch, never state
//
// A [MemoryFrontier] with a spill ([MemoryFrontier.SetSpill]) keeps the
// requests past its memory budget in files of a directory of its own
// ([SpillPrefix]...), deleted as they are read back and removed with the
// directory on Close. They are never synced and never read by a later
// run: a resumed run rebuilds its queue from its input and output, and a
// crawl from its journal, exactly as without a spill, so that what a
// kill -9 leaves in the spill cannot disagree with the journal. A later
// run removes such a leftover directory ([RemoveStaleSpills]): the run
// that made it holds a lock in it while it lives.
//
// # The Redis frontier: runs spread over several machines
//
// [RedisFrontier] keeps a run's frontier in Redis so that any number of
// trawl processes, on any machines, share it. Its keys, for a run named
// R: "trawl:R:q:<host>", one queue per host (a sorted set whose members
// sort by depth, then arrival); "trawl:R:hosts", the schedule: the hosts
// with queued URLs, scored by when each may next start a request;
// "trawl:R:rate:<host>" and "trawl:R:delay:<host>", a host's shared rate
// (GCRA, pushed later by a Retry-After pause) and its Crawl-delay
// ([SharedRate]); "trawl:R:taken:<consumer>", the URLs a process took
// and did not acknowledge; "trawl:R:pending", how many URLs are queued or
// taken; "trawl:R:seen", the set of URL fingerprints ([Fingerprint], 16
// raw bytes each); "trawl:R:fingerprint", the name of that hash
// ("sha256-128": a run started by a trawl with another hash is refused);
// "trawl:R:seeders", the processes still reading their input;
// "trawl:R:alive:<consumer>", a key each process refreshes with a TTL
// ([RedisFrontier.Heartbeat]); "trawl:R:stats", the run's counters; and
// the channel "trawl:R:wake", on which a process publishes new work and
// the end of the run. A run of an older trawl, whose queue was the one
// stream "trawl:R:queue", is refused.
//
// A URL is queued when Add returns: the seen-set check, the enqueue and
// putting its host on the schedule are one Lua script, so two processes
// that find the same link queue it once. A process takes a URL with
// another script that picks, among the hosts due now, the one due the
// longest (skipping those whose slots in the calling process are all
// busy), takes the host's turn of the shared rate, records the URL as
// taken and moves the host to its next turn: two processes never take
// the same turn. When no host is due, a process waits for the earliest
// one on a timer, or for a wake-up, never longer than
// [RedisOptions.Block]. Done notes that a result is written, and
// [RedisFrontier.Commit], called once the output has been flushed (the
// record is in the operating system, as above), acknowledges it, in one
// script. The run is over when nothing is queued or taken and no live
// process is still seeding: every process sees that by itself and ends.
// The URLs taken by a process whose alive key has expired (killed,
// partitioned) are queued again by another process after
// [RedisOptions.ClaimAfter] and fetched again. Delivery is therefore at
// least once: the union of the outputs holds every URL, and a URL
// appears twice only if its process wrote it and died before
// acknowledging it. How much of that survives a Redis crash is Redis's
// own persistence (appendonly with fsync gives the most); calls made
// while the server is unreachable are retried with backoff for
// [RedisOptions.RetryFor], and a URL whose Done failed stays taken for
// another process to fetch.
//
// # Lock
//
// [AcquireLock] takes an exclusive flock on a lock file, so that a second
// run on the same output (from cron, say) fails at once with a
// [*LockedError] naming the holder's process id. The kernel releases the
// lock when the process ends, even after kill -9: a stale lock file never
// blocks a later run. The lock file is opened without truncation and never
// written, so any file can serve, the output included; the holder's
// process id is written to a separate file ([PIDPath], FILE.pid), removed
// on release.
package store
