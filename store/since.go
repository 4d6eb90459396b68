package store

import (
	"bufio"
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/go-json-experiment/json/jsontext"

	"github.com/trawl-dev/trawl/internal/gcpolicy"
)

// sinceGCPercent is the GC percentage while an index is built.
const sinceGCPercent = 15

// SinceEntry is what a [SinceIndex] knows of one URL of the previous
// runs: the newest record's outcome and, apart, where the newest
// successful record is, with its content hash. The validators and the
// fields carried forward are re-read from that record
// ([SinceIndex.Validators], [SinceIndex.Record]).
type SinceEntry struct {
	// FetchedAt is when the newest record of the URL was fetched.
	FetchedAt time.Time
	// Status and ErrKind are the newest record's status and error kind
	// ("" without an error).
	Status  int
	ErrKind string
	// OK is true when some record of the URL succeeded (a 2xx, or a 304
	// carried forward, without an error); the fields below are then
	// those of the newest such record.
	OK          bool
	OKFetchedAt time.Time
	// Direct is true when that record was not redirected: its
	// validators belong to the URL itself.
	Direct bool
	// HasValidators is true when that record has an etag or a
	// last_modified.
	HasValidators bool
	slot          sinceSlot
	n             uint32 // the slot's number in the index
}

// SameContent reports whether the hex SHA-256 contentHash is the content
// hash of the entry's success (the first 128 bits are compared).
func (e SinceEntry) SameContent(contentHash string) bool {
	h, ok := hashPrefix(contentHash)
	return ok && e.slot.flags&slotHash != 0 && h == e.slot.hash
}

// sinceSlot is the compact form of an entry in memory: about 56 bytes.
type sinceSlot struct {
	at, okAt int64 // Unix milliseconds
	offset   int64 // of the success's record in its file
	hash     [16]byte
	status   int16
	file     uint16
	kind     uint8 // index in SinceIndex.kinds; 0: no error
	flags    uint8
}

// The flags of a sinceSlot.
const (
	slotOK = 1 << iota
	slotDirect
	slotValidators
	slotHash
)

// SinceIndex indexes the records of previous runs' outputs (--since) by
// URL fingerprint ([Fingerprint]): about 100 bytes of memory per URL,
// whatever the records hold. Close it at the end.
type SinceIndex struct {
	files   []*os.File
	headers [][]string                       // of each file in CSV, nil for JSON Lines
	index   map[[FingerprintSize]byte]uint32 // into slots
	slots   []sinceSlot
	kinds   []string // error kinds seen, kinds[0] = ""
	// Marks set while the run goes, one bit a URL: a sitemap's lastmod
	// says the URL did not change since its record ([SinceIndex.SetUnmodified]);
	// the run reached the URL ([SinceIndex.MarkReached]).
	unmodified, reached bitset
}

// bitset is a set of slot numbers that tasks may change concurrently.
type bitset []atomic.Uint64

func newBitset(n int) bitset { return make(bitset, (n+63)/64) }

func (b bitset) set(i uint32) { b[i/64].Or(1 << (i % 64)) }

func (b bitset) has(i uint32) bool { return b[i/64].Load()&(1<<(i%64)) != 0 }

// sinceRecord is what the index reads of one record.
type sinceRecord struct {
	URL          string          `json:"url"`
	FinalURL     string          `json:"final_url"`
	Status       int             `json:"status"`
	FetchedAt    string          `json:"fetched_at"`
	ContentHash  string          `json:"content_hash"`
	ETag         string          `json:"etag"`
	LastModified string          `json:"last_modified"`
	Error        *sinceErr       `json:"error"`
	Links        json.RawMessage `json:"links"` // read for its type only: a record of trawl has an array
	at           time.Time
}

// sinceErr is the error of a record.
type sinceErr struct {
	Kind string `json:"kind"`
}

// OpenSince builds the index of the JSON Lines files at paths, streamed,
// in order (a file named *.csv is read as trawl's CSV output, see
// [SinceCSVColumns]); of several records of one URL, the newest by fetched_at wins
// (a later one on a tie). A missing file holds nothing, for the first
// run of a cron job: missing lists those. A last line without a line
// break that is not a record was torn by a crash and is ignored; any
// other line that is not a record of trawl fails with a
// [*CorruptRecordError] naming the file and the line. Records without a
// url (input lines that were not URLs) are skipped.
func OpenSince(ctx context.Context, paths []string) (idx *SinceIndex, missing []string, err error) {
	idx = &SinceIndex{index: make(map[[FingerprintSize]byte]uint32), kinds: []string{""}}
	// The build makes garbage (a line and its strings a record) while the
	// index grows: collecting sooner keeps the peak near the index's size
	// (1,000,000 records: 142 MiB of RSS instead of 233).
	defer gcpolicy.Lower(sinceGCPercent)()
	defer func() {
		if err != nil {
			idx.Close()
			idx = nil
		}
	}()
	if len(paths) > 1<<16 {
		return idx, nil, fmt.Errorf("--since: %d files, more than the %d one run can read", len(paths), 1<<16)
	}
	for i, path := range paths {
		f, err := os.Open(path)
		idx.headers = append(idx.headers, nil)
		if errors.Is(err, os.ErrNotExist) {
			missing = append(missing, path)
			idx.files = append(idx.files, nil)
			continue
		}
		if err != nil {
			return idx, nil, fmt.Errorf("--since: %w", err)
		}
		idx.files = append(idx.files, f)
		scan := idx.scan
		if isCSVPath(path) {
			scan = idx.scanCSV
		}
		if err := scan(ctx, i, path, f); err != nil {
			return idx, nil, err
		}
	}
	idx.unmodified, idx.reached = newBitset(len(idx.slots)), newBitset(len(idx.slots))
	return idx, missing, nil
}

// scan adds the records of file i to the index.
func (idx *SinceIndex) scan(ctx context.Context, i int, path string, f *os.File) error {
	br := bufio.NewReaderSize(ctxReader(ctx, f), 64<<10)
	var off int64
	for num := 1; ; num++ {
		l, n, err := readSinceLine(br)
		if err != nil {
			return fmt.Errorf("--since: read %s: %w", path, err)
		}
		if n == 0 {
			return nil
		}
		start := off
		off += n
		if l.blank {
			continue
		}
		if l.tooLong {
			if !l.ended {
				return nil // a torn last line
			}
			return &CorruptRecordError{Path: path, Line: num, Err: errRecordTooLong}
		}
		rec, err := parseSinceRecord(l.text)
		if err != nil {
			if !l.ended {
				return nil // a torn last line
			}
			return &CorruptRecordError{Path: path, Line: num, Err: err}
		}
		idx.add(rec, i, start)
	}
}

// sinceLine is a line of a previous output as scan reads it.
type sinceLine struct {
	text    []byte // without the line break; nil when tooLong
	blank   bool   // white space only
	tooLong bool   // longer than MaxRecordBytes
	ended   bool   // a line break ends it: false for a torn last line
}

// readSinceLine is readScannedLine for scan: the line's text is, when
// the line fits in br's buffer (a record of trawl does), a slice of that
// buffer, valid until the next read, not a copy. The index keeps only
// a few strings of a record: copying each line twice (to a slice, then
// a string) was most of the index's garbage, and the GC at
// sinceGCPercent ran every few records.
func readSinceLine(br *bufio.Reader) (sinceLine, int64, error) {
	l := sinceLine{blank: true}
	chunk, err := br.ReadSlice('\n')
	n := int64(len(chunk))
	var buf []byte
	for errors.Is(err, bufio.ErrBufferFull) {
		l.blank = l.blank && len(bytes.TrimLeft(chunk, " \t\r\n")) == 0
		if !l.tooLong {
			if len(buf)+len(chunk) > maxLine {
				l.tooLong, buf = true, nil
			} else {
				buf = append(buf, chunk...)
			}
		}
		chunk, err = br.ReadSlice('\n')
		n += int64(len(chunk))
	}
	switch {
	case err == io.EOF:
	case err != nil:
		return l, n, err
	default:
		l.ended = true
	}
	l.blank = l.blank && len(bytes.TrimLeft(chunk, " \t\r\n")) == 0
	if l.tooLong || len(buf)+len(chunk) > maxLine {
		return sinceLine{blank: l.blank, tooLong: true, ended: l.ended}, n, nil
	}
	text := chunk
	if buf != nil {
		text = append(buf, chunk...)
	}
	text = bytes.TrimSuffix(bytes.TrimSuffix(text, []byte("\n")), []byte("\r"))
	if len(text) > MaxRecordBytes {
		return sinceLine{blank: l.blank, tooLong: true, ended: l.ended}, n, nil
	}
	l.text = text
	return l, n, nil
}

// ctxReader reads f, failing once ctx is done.
func ctxReader(ctx context.Context, f *os.File) io.Reader {
	return readerFunc(func(p []byte) (int, error) {
		if err := ctx.Err(); err != nil {
			return 0, err
		}
		return f.Read(p)
	})
}

// errSinceFetchedAt is the cause of a record whose fetched_at is not a time.
var errSinceFetchedAt = errors.New("fetched_at is not an RFC 3339 time")

// errSinceLinks is the cause of a record whose links are not an array.
var errSinceLinks = errors.New("links is not an array")

// parseSinceRecord reads one line of a previous output.
func parseSinceRecord(text []byte) (sinceRecord, error) {
	if rec, ok := quickSinceRecord(text); ok {
		return rec, nil
	}
	return decodeSinceRecord(text)
}

// decodeSinceRecord is parseSinceRecord of any line, decoded with
// encoding/json.
func decodeSinceRecord(text []byte) (sinceRecord, error) {
	var rec sinceRecord
	if t := bytes.TrimSpace(text); !bytes.HasPrefix(t, []byte("{")) {
		return rec, errNotObject
	}
	if err := json.Unmarshal(text, &rec); err != nil {
		return rec, err
	}
	if l := rec.Links; len(l) > 0 && l[0] != '[' && string(l) != "null" {
		return rec, errSinceLinks // its strings are decoded when carried forward
	}
	rec.Links = nil
	if rec.FetchedAt != "" {
		at, err := time.Parse(time.RFC3339Nano, rec.FetchedAt)
		if err != nil {
			return rec, fmt.Errorf("%w: %q", errSinceFetchedAt, rec.FetchedAt)
		}
		rec.at = at
	}
	return rec, nil
}

// add indexes one record found at offset off of file i.
func (idx *SinceIndex) add(rec sinceRecord, i int, off int64) {
	if rec.URL == "" {
		return
	}
	at := rec.at.UnixMilli()
	key := Fingerprint(rec.URL)
	n, seen := idx.index[key]
	if !seen {
		n = uint32(len(idx.slots))
		idx.slots = append(idx.slots, sinceSlot{})
		idx.index[key] = n
	}
	sl := &idx.slots[n]
	if !seen || at >= sl.at {
		sl.at, sl.status, sl.kind = at, int16(min(max(rec.Status, 0), 999)), 0
		if rec.Error != nil {
			sl.kind = idx.kindIndex(rec.Error.Kind)
		}
	}
	ok := rec.Error == nil && (rec.Status >= 200 && rec.Status <= 299 || rec.Status == 304)
	if ok && (sl.flags&slotOK == 0 || at >= sl.okAt) {
		sl.okAt, sl.file, sl.offset = at, uint16(i), off
		sl.flags = slotOK
		if rec.FinalURL == "" || rec.FinalURL == rec.URL {
			sl.flags |= slotDirect
		}
		if rec.ETag != "" || rec.LastModified != "" {
			sl.flags |= slotValidators
		}
		if h, ok := hashPrefix(rec.ContentHash); ok {
			sl.hash = h
			sl.flags |= slotHash
		}
	}
}

// kindIndex returns the index of the error kind k in idx.kinds, adding
// it; past 255 kinds (not trawl's output), the last one stands for all.
func (idx *SinceIndex) kindIndex(k string) uint8 {
	for i, known := range idx.kinds {
		if known == k {
			return uint8(i)
		}
	}
	if len(idx.kinds) == 256 {
		return 255
	}
	idx.kinds = append(idx.kinds, k)
	return uint8(len(idx.kinds) - 1)
}

// hashPrefix returns the first 128 bits of a hex SHA-256.
func hashPrefix(h string) ([16]byte, bool) {
	var b [16]byte
	if len(h) != 64 {
		return b, false
	}
	_, err := hex.Decode(b[:], []byte(h[:32]))
	return b, err == nil
}

// Len returns the number of URLs indexed.
func (idx *SinceIndex) Len() int { return len(idx.slots) }

// Lookup returns the entry of the normalised URL u.
func (idx *SinceIndex) Lookup(u string) (SinceEntry, bool) {
	n, ok := idx.index[Fingerprint(u)]
	if !ok {
		return SinceEntry{}, false
	}
	return idx.entry(n), true
}

// entry returns the entry of slot n.
func (idx *SinceIndex) entry(n uint32) SinceEntry {
	sl := idx.slots[n]
	return SinceEntry{
		FetchedAt: time.UnixMilli(sl.at).UTC(), Status: int(sl.status), ErrKind: idx.kinds[sl.kind],
		OK: sl.flags&slotOK != 0, OKFetchedAt: time.UnixMilli(sl.okAt).UTC(),
		Direct: sl.flags&slotDirect != 0, HasValidators: sl.flags&slotValidators != 0,
		slot: sl, n: n,
	}
}

// SetUnmodified marks the URL of e as not modified since its record (a
// sitemap's lastmod says so). Safe for concurrent use.
func (idx *SinceIndex) SetUnmodified(e SinceEntry) { idx.unmodified.set(e.n) }

// Unmodified reports whether [SinceIndex.SetUnmodified] marked e's URL.
func (idx *SinceIndex) Unmodified(e SinceEntry) bool { return idx.unmodified.has(e.n) }

// MarkReached marks the normalised URL u, if indexed, as reached by the
// run. Safe for concurrent use.
func (idx *SinceIndex) MarkReached(u string) {
	if n, ok := idx.index[Fingerprint(u)]; ok {
		idx.reached.set(n)
	}
}

// Unreached calls yield, in the order of the index, with the entry of
// every URL that [SinceIndex.MarkReached] did not mark and whose records
// hold a success (e.OK), until yield returns an error, which it returns.
// It holds nothing but the entry it yields; the garbage of reading the
// records back is collected sooner meanwhile, as while the index is
// built, so that the heap stays near the index's size.
func (idx *SinceIndex) Unreached(yield func(e SinceEntry) error) error {
	defer gcpolicy.Lower(sinceGCPercent)()
	for n := range idx.slots {
		if idx.reached.has(uint32(n)) || idx.slots[n].flags&slotOK == 0 {
			continue
		}
		if err := yield(idx.entry(uint32(n))); err != nil {
			return err
		}
	}
	return nil
}

// Validators re-reads the etag and last_modified of the success of e.
func (idx *SinceIndex) Validators(ctx context.Context, e SinceEntry) (etag, lastModified string, err error) {
	line, err := idx.Record(ctx, e)
	if err != nil {
		return "", "", err
	}
	rec, err := parseSinceRecord(line)
	if err != nil {
		return "", "", fmt.Errorf("--since: %s at byte %d: %w", idx.files[e.slot.file].Name(), e.slot.offset, ErrSinceChanged)
	}
	return rec.ETag, rec.LastModified, nil
}

// ErrSinceChanged is returned by [SinceIndex.Record] when the previous
// output no longer holds the record where it was indexed.
var ErrSinceChanged = errors.New("previous output changed while the run read it")

// recordChunks are the buffers of [readRecordAt]: one read of a few KiB
// holds a typical record whole.
var recordChunks = sync.Pool{New: func() any { b := make([]byte, 4<<10); return &b }}

// Record re-reads the newest successful record of e (e.OK) from its file:
// the JSON object as written (of a CSV row, the JSON object of its
// columns).
func (idx *SinceIndex) Record(ctx context.Context, e SinceEntry) ([]byte, error) {
	file, offset := int(e.slot.file), e.slot.offset
	if !e.OK || file >= len(idx.files) || idx.files[file] == nil {
		return nil, ErrSinceChanged
	}
	f := idx.files[file]
	if h := idx.headers[file]; h != nil {
		return csvRecord(ctx, f, h, offset)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	// A read of a file the index has just read whole (from the page
	// cache, as the index's own reads): made here, not handed to a
	// goroutine of structured.RunSync, which cost more than the read.
	line, err := readRecordAt(f, offset)
	if err != nil {
		return nil, fmt.Errorf("--since: read %s: %w", f.Name(), err)
	}
	if len(line) == 0 || len(line) > MaxRecordBytes {
		return nil, fmt.Errorf("--since: %s at byte %d: %w", f.Name(), offset, ErrSinceChanged)
	}
	return line, nil
}

// readRecordAt returns the line at offset off of f, without its line
// break and the blanks around it, in a slice of its own: one read of the
// file for a line that fits in a buffer of recordChunks. A line longer
// than a record is cut short past [MaxRecordBytes].
func readRecordAt(f *os.File, off int64) ([]byte, error) {
	bp := recordChunks.Get().(*[]byte)
	defer recordChunks.Put(bp)
	chunk := *bp
	var line []byte // what a line longer than chunk holds so far
	for {
		n, err := f.ReadAt(chunk, off)
		if i := bytes.IndexByte(chunk[:n], '\n'); i >= 0 {
			if line == nil {
				return bytes.Clone(bytes.TrimSpace(chunk[:i])), nil
			}
			return bytes.TrimSpace(append(line, chunk[:i]...)), nil
		}
		line = append(line, chunk[:n]...)
		switch {
		case err == io.EOF || len(line) > maxLine:
			return bytes.TrimSpace(line), nil // the last line, without a line break
		case err != nil:
			return nil, err
		}
		off += int64(n)
	}
}

// Where names the record of e's success: "FILE at byte N".
func (idx *SinceIndex) Where(e SinceEntry) string {
	name := "?"
	if f := int(e.slot.file); f < len(idx.files) && idx.files[f] != nil {
		name = idx.files[f].Name()
	}
	return fmt.Sprintf("%s at byte %d", name, e.slot.offset)
}

// Close closes the files of the index.
func (idx *SinceIndex) Close() {
	for _, f := range idx.files {
		if f != nil {
			_ = f.Close()
		}
	}
	idx.files = nil
}

// sinceDecoders are the jsontext decoders of quickSinceRecord.
var sinceDecoders = sync.Pool{New: func() any { return jsontext.NewDecoder(bytes.NewBuffer(nil)) }}

// The members of a record that the index reads, by name.
const (
	memURL = iota
	memFinalURL
	memStatus
	memFetchedAt
	memContentHash
	memETag
	memLastModified
	memError
	memLinks
	memCount
)

var sinceMembers = map[string]int{
	"url": memURL, "final_url": memFinalURL, "status": memStatus, "fetched_at": memFetchedAt,
	"content_hash": memContentHash, "etag": memETag, "last_modified": memLastModified,
	"error": memError, "links": memLinks,
}

// quickSinceRecord reads the line text as parseSinceRecord does, in one
// pass with jsontext (validating) and decoding only the members the index
// reads, for a line as trawl writes them. It reports false when the line
// is not one (not valid JSON, a member of the index twice or named in
// another case, an escape in a string it reads, an error object, ...):
// parseSinceRecord then decodes it as before, with its errors.
func quickSinceRecord(line []byte) (sinceRecord, bool) {
	var rec sinceRecord
	var vals [memCount][]byte
	dec := sinceDecoders.Get().(*jsontext.Decoder)
	defer sinceDecoders.Put(dec)
	dec.Reset(bytes.NewBuffer(line), jsontext.AllowDuplicateNames(true), jsontext.AllowInvalidUTF8(true))
	if tok, err := dec.ReadToken(); err != nil || tok.Kind() != '{' {
		return rec, false
	}
	for dec.PeekKind() == '"' {
		name, err := dec.ReadValue()
		if err != nil {
			return rec, false
		}
		key := name[1 : len(name)-1]
		i, wanted := sinceMembers[string(key)]
		if !wanted && foldsToMember(key) {
			return rec, false // decoding matches names regardless of case
		}
		v, err := dec.ReadValue()
		if err != nil || wanted && vals[i] != nil {
			return rec, false
		}
		if wanted {
			end := int(dec.InputOffset())
			vals[i] = line[end-len(v) : end]
		}
	}
	if tok, err := dec.ReadToken(); err != nil || tok.Kind() != '}' || len(bytes.TrimLeft(line[dec.InputOffset():], " \t\r\n")) > 0 {
		return rec, false
	}
	strs := [...]*string{memURL: &rec.URL, memFinalURL: &rec.FinalURL, memFetchedAt: &rec.FetchedAt,
		memContentHash: &rec.ContentHash, memETag: &rec.ETag, memLastModified: &rec.LastModified}
	for i, p := range strs {
		v := vals[i]
		if p == nil || v == nil || string(v) == "null" {
			continue
		}
		str, ok := plainUnquote(v)
		if !ok {
			return rec, false
		}
		*p = str
	}
	if v := vals[memStatus]; v != nil && string(v) != "null" {
		n, ok := plainStatus(v)
		if !ok {
			return rec, false
		}
		rec.Status = n
	}
	if v := vals[memError]; v != nil && string(v) != "null" {
		return rec, false
	}
	if v := vals[memLinks]; v != nil && v[0] != '[' && string(v) != "null" {
		return rec, false
	}
	if rec.FetchedAt != "" {
		at, err := time.Parse(time.RFC3339Nano, rec.FetchedAt)
		if err != nil {
			return rec, false
		}
		rec.at = at
	}
	return rec, true
}

// foldsToMember reports whether the name key, not one the index reads,
// could match one when decoding folds case: it has a byte that is not
// ASCII, or equals one but for ASCII case.
func foldsToMember(key []byte) bool {
	var lower [16]byte
	if len(key) > len(lower) {
		for _, c := range key {
			if c >= utf8.RuneSelf {
				return true
			}
		}
		return false // longer than any member's name
	}
	for i, c := range key {
		if c >= utf8.RuneSelf {
			return true
		}
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		lower[i] = c
	}
	_, ok := sinceMembers[string(lower[:len(key)])]
	return ok
}

// plainUnquote returns the JSON string v decoded when it is valid UTF-8
// and its only escapes are \" and \\ (an etag's quotes), false otherwise.
func plainUnquote(v []byte) (string, bool) {
	if len(v) < 2 || v[0] != '"' || !utf8.Valid(v) {
		return "", false
	}
	v = v[1 : len(v)-1]
	i := bytes.IndexByte(v, '\\')
	if i < 0 {
		return string(v), true
	}
	out := make([]byte, 0, len(v))
	for ; i >= 0; i = bytes.IndexByte(v, '\\') {
		if i+1 >= len(v) || v[i+1] != '"' && v[i+1] != '\\' {
			return "", false
		}
		out = append(append(out, v[:i]...), v[i+1])
		v = v[i+2:]
	}
	return string(append(out, v...)), true
}

// plainStatus returns the int v as encoding/json writes one, false when
// it is not one or too long for a status.
func plainStatus(v []byte) (int, bool) {
	if len(v) == 0 || len(v) > 9 || v[0] == '0' && len(v) > 1 {
		return 0, false
	}
	n := 0
	for _, c := range v {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, true
}
