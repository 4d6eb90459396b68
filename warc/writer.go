package warc

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/klauspost/compress/gzip"

	"github.com/trawl-dev/trawl/structured"
)

// DefaultMaxSize is the size past which a [Writer] starts a new file when
// Options.MaxSize is zero: 1 GiB, the customary WARC file size.
const DefaultMaxSize = 1 << 30

// OpenSuffix marks a file being written; it is dropped when the file is
// closed.
const OpenSuffix = ".open"

// Compression modes of a [Writer] (Options.Compression). Every record is
// its own gzip member whatever the mode; the mode says how the deflate
// stream inside is made.
const (
	// CompressNormal is LZ77 and Huffman coding at klauspost/compress's
	// fastest level, BestSpeed, which takes about 30% less CPU than
	// compress/gzip's for files 2% larger (measured on 20,000 pages of
	// HTML of 10-30 KB): 70-110 µs for a 21 KB page, to 27% of its size.
	// The default.
	CompressNormal = "normal"
	// CompressFast is Huffman coding alone (klauspost's HuffmanOnly): no
	// search for repeated strings, so less than half the CPU of
	// CompressNormal (33 µs for the same page, against 70-110 µs measured
	// under varying load) for records about twice as large (56% of the
	// input), still readable by any gzip reader.
	CompressFast = "fast"
	// CompressNone stores every record in its gzip member uncompressed:
	// the least CPU, files several times larger.
	CompressNone = "none"
)

// ErrUnknownCompression is returned for a compression mode other than
// [CompressNormal], [CompressFast] and [CompressNone].
var ErrUnknownCompression = errors.New("unknown compression: want normal, fast or none")

// CheckCompression returns nil when mode is a compression mode of the
// package ("" is [CompressNormal]).
func CheckCompression(mode string) error {
	if _, ok := compressionLevels[mode]; !ok {
		return fmt.Errorf("%q: %w", mode, ErrUnknownCompression)
	}
	return nil
}

// compressionLevels are the klauspost/compress levels of the modes. A
// response whose body came content-encoded (gzip, br, ...) is stored
// whatever the mode: compressing it again costs the CPU and saves next to
// nothing.
var compressionLevels = map[string]int{
	"":             gzip.BestSpeed,
	CompressNormal: gzip.BestSpeed,
	CompressFast:   gzip.HuffmanOnly,
	CompressNone:   gzip.NoCompression,
}

// storeBelow is the size of a record (head and block) under which it is
// stored in its gzip member rather than compressed: a request record
// (about 600 bytes, much of them random IDs and digests) shrinks by a
// quarter at most, for the fixed cost of a Huffman code, which made its
// compression cost about 6 µs a page, 8% of the response's.
const storeBelow = 1 << 10

// gzipPools hold the gzip writers of [Writer.Compress], by level.
var gzipPools = map[int]*sync.Pool{
	gzip.BestSpeed:     gzipPool(gzip.BestSpeed),
	gzip.HuffmanOnly:   gzipPool(gzip.HuffmanOnly),
	gzip.NoCompression: gzipPool(gzip.NoCompression),
}

func gzipPool(level int) *sync.Pool {
	return &sync.Pool{New: func() any { zw, _ := gzip.NewWriterLevel(nil, level); return zw }}
}

// headPool holds the buffers a record's head is serialised into.
var headPool = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// Options configure a [Writer].
type Options struct {
	// Prefix is the path prefix of the files: each is named
	// Prefix-<YYYYmmddHHMMSS>-<nnnnn>.warc.gz (UTC, the time it was
	// opened; a serial number that goes on from the highest one found).
	Prefix string
	// MaxSize is the size past which the writer starts a new file with
	// the next write. The full file stays open (".open") until
	// [Writer.Commit]: see there. Zero means [DefaultMaxSize].
	MaxSize int64
	// Digest is the algorithm of the digests: [SHA1] (the default when
	// empty) or [SHA256].
	Digest string
	// CDX writes a CDXJ index of the response and revisit records next to
	// each file when it is closed: the file's name with ".cdxj" in place
	// of ".warc.gz", sorted.
	CDX bool
	// Compression is how records are compressed in their gzip members:
	// [CompressNormal] (the default when empty), [CompressFast] or
	// [CompressNone].
	Compression string
	// Info are the fields of the warcinfo record that starts every file
	// (software, format, operator, ...), in order.
	Info []Field
	// Owner, when set, names the run that writes the files, in the
	// warcinfo field [OwnerField]: [Recover] with another Owner leaves
	// them alone (the files of another run that crashed too, whose own
	// --resume knows which of their pages its output holds).
	Owner string
	// Now is the clock for file names and warcinfo dates; nil means
	// time.Now.
	Now func() time.Time
	// NewID makes record IDs; nil means [NewRecordID].
	NewID func() string
}

// A Placement is where a record was written: the file (its final name,
// without ".open"), and the offset and length of its gzip member.
type Placement struct {
	File   string `json:"file"`
	Offset int64  `json:"offset"`
	Length int64  `json:"length"`
}

// A Writer writes records into a series of WARC files, each record one
// gzip member. It is not safe for concurrent use: one task owns it.
// Every Write is one write system call of whole members, so that a crash
// leaves a file whose last member alone may be torn.
type Writer struct {
	opts   Options
	serial int

	f    *structured.File
	name string // final name of the open file; "" when none is open
	size int64
	cdx  *cdxSpool // nil without Options.CDX

	full []openFile // files past MaxSize, closed at the next Commit

	out    bytes.Buffer // the members of one Write
	failed error
}

// A Member is a record compressed into one gzip member by
// [Writer.Compress], ready for [Writer.WriteMembers].
type Member struct {
	data []byte
	buf  *bytes.Buffer // holds data; back to memberBufs once written
	cdx  *cdxEntry     // nil when the record is not indexed
}

// memberBufs hold spare buffers for [Member]s: [Writer.WriteMembers]
// puts them back once it has copied them out. Bounded free lists rather
// than a sync.Pool: a pool filled while the writer caught up after a
// slow write kept several MiB more for two collections. Buffers of up to
// smallMember bytes and larger ones are kept apart, so that a page's
// response record does not take the buffer of a request record and grow
// it again (which cost about 2.5 µs a page).
var memberBufs = [2]chan *bytes.Buffer{make(chan *bytes.Buffer, 64), make(chan *bytes.Buffer, 64)}

// smallMember is the capacity up to which a member buffer is small.
const smallMember = 8 << 10

// memberClass is the index in memberBufs of buffers of capacity size.
func memberClass(size int) int {
	if size <= smallMember {
		return 0
	}
	return 1
}

// memberBuf returns a spare buffer for a member of about size bytes, or
// a new one.
func memberBuf(size int) *bytes.Buffer {
	select {
	case b := <-memberBufs[memberClass(size)]:
		return b
	default:
		return new(bytes.Buffer)
	}
}

// release puts m's buffer back in memberBufs; m is not to be used after.
func (m *Member) release() {
	if m.buf != nil && m.buf.Cap() <= 1<<20 {
		m.buf.Reset()
		select {
		case memberBufs[memberClass(m.buf.Cap())] <- m.buf:
		default:
		}
	}
	m.data, m.buf = nil, nil
}

// Len returns the size of the member.
func (m Member) Len() int { return len(m.data) }

// openFile is a file left open by a rotation.
type openFile struct {
	f    *structured.File
	name string
	cdx  *cdxSpool
}

// ErrWriterFailed is returned by every call after a write failed: the
// file's end is not known, and nothing more is written to it.
var ErrWriterFailed = errors.New("warc writer failed earlier")

// NewWriter returns a Writer for opts. No file is created before the
// first Write. Existing files of the prefix are only looked at, for the
// next serial number.
func NewWriter(opts Options) (*Writer, error) {
	if opts.MaxSize <= 0 {
		opts.MaxSize = DefaultMaxSize
	}
	if opts.Digest == "" {
		opts.Digest = SHA1
	}
	if err := CheckDigest(opts.Digest); err != nil {
		return nil, err
	}
	if err := CheckCompression(opts.Compression); err != nil {
		return nil, err
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.NewID == nil {
		opts.NewID = NewRecordID
	}
	files, err := Files(opts.Prefix)
	if err != nil {
		return nil, err
	}
	w := &Writer{opts: opts}
	for _, f := range files {
		w.serial = max(w.serial, f.Serial+1)
	}
	return w, nil
}

// Digest returns the digest algorithm of the writer.
func (w *Writer) Digest() string { return w.opts.Digest }

// NewID returns a new record ID from the writer's generator.
func (w *Writer) NewID() string { return w.opts.NewID() }

// Write writes recs, in order, into the current file (opening one first
// when none is), and returns where each went. Each record gets its
// WARC-Block-Digest when it has none; the payload digest is the caller's.
// A file that has reached the maximum size is set aside first, to be
// closed by the next Commit, and the records go to a new file.
func (w *Writer) Write(ctx context.Context, recs ...*Record) ([]Placement, error) {
	ms := make([]Member, len(recs))
	for i, r := range recs {
		var err error
		if ms[i], err = w.Compress(r); err != nil {
			return nil, err
		}
	}
	return w.WriteMembers(ctx, ms...)
}

// Compress turns r into a gzip member for WriteMembers, adding its
// WARC-Block-Digest when it has none. It may be called from any
// goroutine, concurrently with the writer's other methods: the costly
// part of writing a record (digest and compression) can run in the
// tasks that made the records, and only the write in the one that owns
// the writer.
func (w *Writer) Compress(r *Record) (Member, error) {
	if r.Header.Get("WARC-Block-Digest") == "" {
		r.Header.Add("WARC-Block-Digest", DigestOf(w.opts.Digest, r.Block))
	}
	httpHead, stored := httpHeadOf(r)
	head := headPool.Get().(*bytes.Buffer)
	defer func() {
		if head.Cap() <= 64<<10 {
			head.Reset()
			headPool.Put(head)
		}
	}()
	appendHead(head, r)
	level := compressionLevels[w.opts.Compression]
	if stored || head.Len()+len(r.Block) < storeBelow {
		level = gzip.NoCompression
	}
	zw := gzipPools[level].Get().(*gzip.Writer)
	defer gzipPools[level].Put(zw)
	size := head.Len() + len(r.Block) + len(recordEnd)
	switch level {
	case gzip.NoCompression:
		size += 64 + 5*(size/(16<<10)+1) // gzip header and trailer, stored block headers
	case gzip.HuffmanOnly:
		size = size*5/8 + 64
	default:
		size = size/2 + 64
	}
	out := memberBuf(size)
	out.Grow(size)
	zw.Reset(out)
	for _, b := range [][]byte{head.Bytes(), r.Block, recordEnd} {
		if _, err := zw.Write(b); err != nil {
			return Member{}, err
		}
	}
	if err := zw.Close(); err != nil {
		return Member{}, err
	}
	m := Member{data: out.Bytes(), buf: out}
	if w.opts.CDX {
		if e, ok := cdxEntryOf(r, httpHead); ok {
			m.cdx = &e
		}
	}
	return m, nil
}

// httpHeadOf parses the HTTP head of a response or revisit record, and
// tells whether its body came content-encoded (stored, not compressed
// again).
func httpHeadOf(r *Record) (*HTTPResponseHead, bool) {
	if t := r.Type(); t != TypeResponse && t != TypeRevisit {
		return nil, false
	}
	h := r.head
	if h == nil {
		raw, _, err := SplitHTTP(r.Block)
		if err != nil {
			return nil, false
		}
		parsed, err := ParseHTTPResponse(raw)
		if err != nil {
			return nil, false
		}
		h = &parsed
	}
	ce := strings.ToLower(strings.TrimSpace(h.Header.Get("Content-Encoding")))
	return h, ce != "" && ce != "identity"
}

// WriteMembers writes ms, in order, into the current file (opening one
// first when none is), with one write, and returns where each went. A
// file that has reached the maximum size is set aside first, to be closed
// by the next Commit, and the members go to a new file.
func (w *Writer) WriteMembers(ctx context.Context, ms ...Member) ([]Placement, error) {
	if w.failed != nil {
		return nil, fmt.Errorf("%w: %w", ErrWriterFailed, w.failed)
	}
	if w.f != nil && w.size >= w.opts.MaxSize {
		w.full = append(w.full, openFile{w.f, w.name, w.cdx})
		w.f, w.name, w.cdx = nil, "", nil
	}
	if w.f == nil {
		if err := w.open(ctx); err != nil {
			return nil, w.fail(err)
		}
	}
	w.out.Reset()
	places := make([]Placement, len(ms))
	for i, m := range ms {
		places[i] = Placement{File: w.name, Offset: w.size + int64(w.out.Len()), Length: int64(len(m.data))}
		w.out.Write(m.data)
		if m.cdx != nil && w.cdx != nil {
			w.cdx.add(m.cdx, places[i], filepath.Base(w.name))
		}
	}
	if w.cdx != nil {
		if err := w.cdx.spill(ctx, false); err != nil {
			return nil, w.fail(err)
		}
	}
	for i := range ms {
		ms[i].release() // copied into w.out
	}
	if _, err := w.f.Write(ctx, w.out.Bytes()); err != nil {
		return nil, w.fail(fileErr("write", w.f.Name(), err))
	}
	w.size += int64(w.out.Len())
	if w.out.Cap() > 4<<20 {
		w.out = bytes.Buffer{} // one huge page does not pin its buffer
	}
	return places, nil
}

func (w *Writer) fail(err error) error {
	w.failed = err
	return err
}

// open creates the next file under its ".open" name and writes its
// warcinfo record.
func (w *Writer) open(ctx context.Context) error {
	now := w.opts.Now()
	var name string
	var f *structured.File
	for try := 0; ; try++ {
		// Another writer of the prefix (another process of a shared run)
		// may take a name first: the next serial is tried.
		name = fmt.Sprintf("%s-%s-%05d.warc.gz", w.opts.Prefix, now.UTC().Format("20060102150405"), w.serial)
		var err error
		f, err = createOpen(ctx, name)
		if err == nil {
			break
		}
		if !errors.Is(err, os.ErrExist) || try == 100 {
			return fmt.Errorf("create warc file: %w", err)
		}
		w.serial++
	}
	w.serial++
	w.f, w.name, w.size, w.cdx = f, name, 0, nil
	if w.opts.CDX {
		w.cdx = &cdxSpool{path: CDXPath(name) + OpenSuffix}
	}
	fields := w.opts.Info
	if w.opts.Owner != "" {
		fields = append(slices.Clip(fields), Field{Name: OwnerField, Value: w.opts.Owner})
	}
	info := &Record{Block: infoBlock(fields)}
	info.Header.Add("WARC-Type", TypeWarcinfo)
	info.Header.Add("WARC-Record-ID", w.opts.NewID())
	info.Header.Add("WARC-Date", FormatDate(now))
	info.Header.Add("WARC-Filename", filepath.Base(name))
	info.Header.Add("Content-Type", "application/warc-fields")
	m, err := w.Compress(info)
	if err != nil {
		return err
	}
	if _, err := w.f.Write(ctx, m.data); err != nil {
		return fileErr("write", w.f.Name(), err)
	}
	w.size = int64(len(m.data))
	return nil
}

// fileErr is err of op on the file name, which it names: once (an
// *os.PathError names it already).
func fileErr(op, name string, err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return err
	}
	return fmt.Errorf("%s %s: %w", op, name, err)
}

// createOpen creates name's ".open" file, new, and takes its lock
// (lockOpen), which the writer keeps until the file is closed and renamed:
// [Recover] in another process leaves a locked file alone. It fails with
// an error matching os.ErrExist when the name is taken: the file exists,
// open or closed already, or another process's [Recover] took the new
// file between its creation and its lock (and may have renamed it).
func createOpen(ctx context.Context, name string) (*structured.File, error) {
	return structured.RunSync(ctx, func(context.Context) (*structured.File, error) {
		path := name + OpenSuffix
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
		if err != nil {
			return nil, err
		}
		if err := lockBusy(ctx, f); err != nil {
			f.Close()
			if errors.Is(err, errInUse) {
				// Another process's Recover has held it that long: not
				// ours to write. That Recover removes it, being empty.
				return nil, os.ErrExist
			}
			return nil, fmt.Errorf("lock %s: %w", path, err)
		}
		if !stillNamed(f, path) {
			f.Close() // a Recover removed it before the lock
			return nil, os.ErrExist
		}
		if _, err := os.Stat(name); err == nil {
			// Closed already, by another writer that renamed its open
			// file of this name before ours was created: renamed in turn,
			// ours would replace it.
			os.Remove(path)
			f.Close()
			return nil, os.ErrExist
		}
		return structured.NewFile(f), nil
	})
}

// stillNamed reports whether path names the file f has open.
func stillNamed(f *os.File, path string) bool {
	open, err := f.Stat()
	if err != nil {
		return false
	}
	named, err := os.Stat(path)
	return err == nil && os.SameFile(open, named)
}

// OwnerField is the warcinfo field that names the run writing a file
// ([Options].Owner).
const OwnerField = "trawl-run"

// infoField returns the value of the field name of the
// application/warc-fields block of a warcinfo record; "" when missing.
func infoField(block []byte, name string) string {
	for line := range bytes.SplitSeq(block, []byte("\r\n")) {
		k, v, ok := bytes.Cut(line, []byte(":"))
		if ok && strings.EqualFold(string(bytes.TrimSpace(k)), name) {
			return string(bytes.TrimSpace(v))
		}
	}
	return ""
}

// infoBlock is the application/warc-fields block of a warcinfo record.
func infoBlock(fields []Field) []byte {
	var b bytes.Buffer
	for _, f := range fields {
		b.WriteString(f.Name)
		b.WriteString(": ")
		b.WriteString(f.Value)
		b.WriteString("\r\n")
	}
	return b.Bytes()
}

// Commit closes the files that a rotation set aside. Call it once
// whatever refers to their records (an output naming them) is durable: a
// file is closed for good, and [Recover] after a crash trims only files
// left open, so a file closed early could keep records a crashed run
// never reported, which a resumed run would then write again.
func (w *Writer) Commit(ctx context.Context) error {
	for len(w.full) > 0 {
		of := w.full[0]
		w.full = w.full[1:]
		if err := w.closeFile(ctx, of); err != nil {
			return w.fail(err)
		}
	}
	return nil
}

// Abandon closes the writer's files without closing them for good: the
// current one and those a rotation set aside all stay ".open", for
// [Recover] (--resume) to cut after the last record the run's output
// names. For a run whose output failed: its files may hold pages the
// output never got.
func (w *Writer) Abandon(ctx context.Context) error {
	var err error
	for _, of := range w.full {
		err = errors.Join(err, of.abandon(ctx))
	}
	w.full = nil
	if w.f != nil {
		err = errors.Join(err, openFile{w.f, w.name, w.cdx}.abandon(ctx))
		w.f, w.name, w.cdx = nil, "", nil
	}
	return err
}

// abandon syncs and closes of, and its CDXJ spool, leaving both ".open"
// (Recover rebuilds the index).
func (of openFile) abandon(ctx context.Context) error {
	err := errors.Join(of.f.Sync(ctx), of.f.Close(ctx))
	if of.cdx != nil && of.cdx.f != nil {
		err = errors.Join(err, of.cdx.f.Close(ctx))
	}
	return err
}

// Close commits and closes the current file, if one is open: each is
// synced, its CDXJ index written, and it is renamed to its final name.
func (w *Writer) Close(ctx context.Context) error {
	if err := w.Commit(ctx); err != nil {
		return err
	}
	if w.f == nil {
		return nil
	}
	if w.failed != nil {
		// A write failed: the file may end in part of a record. It stays
		// ".open" for Recover (--resume) to cut back to its last whole
		// record; renamed, nothing would.
		of := openFile{w.f, w.name, w.cdx}
		w.f, w.name, w.cdx = nil, "", nil
		return errors.Join(w.failed, of.abandon(ctx))
	}
	of := openFile{w.f, w.name, w.cdx}
	w.f, w.name, w.cdx = nil, "", nil
	return w.closeFile(ctx, of)
}

func (w *Writer) closeFile(ctx context.Context, of openFile) error {
	f, name := of.f, of.name
	var cdx []byte
	if of.cdx != nil {
		var err error
		if cdx, err = of.cdx.lines(ctx); err != nil {
			f.Close(ctx)
			return err
		}
	}
	if err := f.Sync(ctx); err != nil {
		f.Close(ctx)
		return fmt.Errorf("close %s: %w", name+OpenSuffix, err)
	}
	// Renamed before it is closed: its lock holds until it has its final
	// name, so that no Recover takes a finished file for a crashed one.
	err := finishFile(ctx, name, cdx, w.opts.CDX)
	if cerr := f.Close(ctx); cerr != nil && err == nil {
		err = fmt.Errorf("close %s: %w", name, cerr)
	}
	return err
}

// finishFile writes the CDXJ index of the file name (when cdx is
// wanted), its lines cdx (each ended by a line break) sorted, and renames
// name.open to name. The index goes first: a file without ".open" always
// has its index.
func finishFile(ctx context.Context, name string, cdx []byte, wantCDX bool) error {
	if wantCDX {
		_, err := structured.RunSync(ctx, func(context.Context) (struct{}, error) {
			return struct{}{}, writeSortedLines(CDXPath(name), cdx)
		})
		if err != nil {
			return fmt.Errorf("write cdx index of %s: %w", name, err)
		}
	}
	_, err := structured.RunSync(ctx, func(context.Context) (struct{}, error) {
		return struct{}{}, os.Rename(name+OpenSuffix, name)
	})
	if err != nil {
		return fmt.Errorf("close warc file: %w", err)
	}
	return nil
}

// CDXPath is the path of the CDXJ index of the WARC file name.
func CDXPath(name string) string {
	return strings.TrimSuffix(name, ".warc.gz") + ".cdxj"
}

// A File is a WARC file of a prefix found on disk.
type File struct {
	Path   string // as found, ".open" included
	Serial int
	Open   bool // still ".open": its writer did not close it (yet: see [File.Held])
}

// Files lists the WARC files of prefix, in serial order.
func Files(prefix string) ([]File, error) {
	dir, base := filepath.Split(prefix)
	if dir == "" {
		dir = "."
	}
	entries, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("list warc files of %s: %w", prefix, err)
	}
	re := regexp.MustCompile(`^` + regexp.QuoteMeta(base) + `-\d{14}-(\d{5,})\.warc\.gz(\.open)?$`)
	var out []File
	for _, e := range entries {
		m := re.FindStringSubmatch(e.Name())
		if m == nil {
			continue
		}
		n, _ := strconv.Atoi(m[1])
		out = append(out, File{Path: filepath.Join(filepath.Dir(prefix), e.Name()), Serial: n, Open: m[2] != ""})
	}
	sortFiles(out)
	return out, nil
}

// cdxSpool holds the CDXJ lines of an open file until it is closed: in
// memory up to cdxSpillSize, then in a file next to the index's
// (".cdxj.open"), so that a large WARC file does not keep its index in
// memory while it is written. The lines are sorted when the file closes.
type cdxSpool struct {
	path string
	f    *structured.File
	buf  []byte
}

// cdxSpillSize is how many bytes of CDXJ lines are held in memory
// before they are appended to the spool's file.
const cdxSpillSize = 64 << 10

func (s *cdxSpool) add(e *cdxEntry, p Placement, file string) {
	s.buf = e.appendLine(s.buf, p, file)
	s.buf = append(s.buf, '\n')
}

// spill appends the lines held in memory to the spool's file, when they
// are more than cdxSpillSize or always.
func (s *cdxSpool) spill(ctx context.Context, always bool) error {
	if len(s.buf) == 0 || (!always && len(s.buf) < cdxSpillSize) {
		return nil
	}
	if s.f == nil {
		f, err := structured.OpenFile(ctx, s.path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
		if err != nil {
			return fmt.Errorf("cdx index: %w", err)
		}
		s.f = f
	}
	if _, err := s.f.Write(ctx, s.buf); err != nil {
		return fmt.Errorf("cdx index: %w", err)
	}
	s.buf = s.buf[:0]
	return nil
}

// lines returns every line of the spool, each ended by a line break, and
// removes its file.
func (s *cdxSpool) lines(ctx context.Context) ([]byte, error) {
	data := s.buf
	if s.f != nil {
		if err := s.f.Close(ctx); err != nil {
			return nil, fmt.Errorf("cdx index: %w", err)
		}
		b, err := structured.ReadFile(ctx, s.path)
		if err != nil {
			return nil, fmt.Errorf("cdx index: %w", err)
		}
		data = append(b, s.buf...)
		os.Remove(s.path)
	}
	return data, nil
}

// writeSortedLines writes the lines of data (each ended by a line
// break), sorted in byte order, to the file path, without copying them.
func writeSortedLines(path string, data []byte) error {
	var lines [][]byte
	for len(data) > 0 {
		i := bytes.IndexByte(data, '\n')
		if i < 0 {
			i = len(data) - 1
		}
		lines = append(lines, data[:i+1])
		data = data[i+1:]
	}
	slices.SortFunc(lines, bytes.Compare)
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	bw := bufio.NewWriterSize(f, 64<<10)
	for _, l := range lines {
		bw.Write(l)
	}
	err = bw.Flush()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}
