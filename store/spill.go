package store

import (
	"container/list"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// The spill is the disk side of a [MemoryFrontier]'s queues: plain
// append-only files, one per chain (a host's requests of one depth past
// its in-memory head, or the frontier's overflow of new hosts), in a
// directory of the run's own. A chain is read back from the front in
// the order it was written and its file is deleted as soon as it is
// read to the end. The files are scratch: nothing in them is needed
// after a crash (a resumed run rebuilds its queue from its input, its
// output and its journal), so they are never synced.
//
// The blocking calls here are made under the frontier's lock: they are
// writes and reads of a few kilobytes that the page cache serves, and
// making each a RunSync would cost more than the call.

// SpillPrefix starts the name of every spill directory: a run's
// directory is SpillPrefix plus a random suffix, under the parent the
// run was given.
const SpillPrefix = ".trawl-spill-"

const (
	spillOpenFiles = 256      // most chain files open at once
	spillChainBuf  = 4 << 10  // a chain's writes are buffered up to this
	spillReadSize  = 16 << 10 // one read of a chain's file, at most
	spillMinRead   = 1 << 10  // and at least, when the file has it
	// chainOverhead approximates the memory of a chain besides its
	// buffer: O(1) a chain, whatever the number of requests in it.
	chainOverhead = 192
)

// ErrSpill is the error of a spill that failed: its directory could not
// be made, or a file in it written, read back or removed (a full disk).
// The message names the path.
var ErrSpill = errors.New("spill the queue to disk")

// errCorruptSpill is the cause of a spill record that cannot be read
// back: the disk did not return what was written.
var errCorruptSpill = errors.New("corrupt spill record")

// spill holds the chains of one frontier. It is not safe for
// concurrent use: the frontier's lock guards it.
type spill struct {
	parent  string
	created func(dir string) // told once the directory exists
	// announce is set once the directory is made: the frontier calls
	// created after it lets go of its lock.
	announce bool
	dir      string // "" until the first write
	lock     *Lock
	next     uint64     // id of the next chain
	open     *list.List // chains with an open file, most recently used first
	staged   int64      // bytes in the chains' buffers
	// maxStaged bounds staged: past it every buffer is written out.
	maxStaged int64
	dirty     map[*spillChain]struct{} // chains with a buffer
	chains    int                      // chains alive
	scratch   []byte
}

// spillChain is one append-only file of requests, read from the front.
type spillChain struct {
	id      uint64
	depth   int // the requests' depth; -1 for the overflow
	f       *os.File
	elem    *list.Element // in spill.open while f is open
	written int64         // bytes in the file
	read    int64         // bytes of the file read back
	buf     []byte        // records written after the file's end
	n       int           // records not read back
}

func newSpill(parent string, created func(string)) *spill {
	return &spill{parent: parent, created: created, open: list.New(), dirty: map[*spillChain]struct{}{}}
}

// bytes approximates the memory the spill takes besides the files.
func (s *spill) bytes() int64 { return s.staged + int64(s.chains)*chainOverhead }

func (s *spill) newChain(depth int) *spillChain {
	s.next++
	s.chains++
	return &spillChain{id: s.next, depth: depth}
}

// append writes req at the end of c (buffered).
func (s *spill) append(c *spillChain, req Request) error {
	before := len(c.buf)
	c.buf = appendSpillRecord(c.buf, req)
	c.n++
	s.staged += int64(len(c.buf) - before)
	s.dirty[c] = struct{}{}
	if len(c.buf) >= spillChainBuf {
		return s.flush(c)
	}
	if s.maxStaged > 0 && s.staged > s.maxStaged {
		return s.flushAll()
	}
	return nil
}

// flushAll writes every chain's buffer out.
func (s *spill) flushAll() error {
	for c := range s.dirty {
		if err := s.flush(c); err != nil {
			return err
		}
	}
	return nil
}

// flush writes c's buffer to the end of its file.
func (s *spill) flush(c *spillChain) error {
	if len(c.buf) == 0 {
		return nil
	}
	f, err := s.file(c)
	if err != nil {
		return err
	}
	if _, err := f.WriteAt(c.buf, c.written); err != nil {
		return fmt.Errorf("%w: %w", ErrSpill, err) // names the file
	}
	c.written += int64(len(c.buf))
	s.staged -= int64(len(c.buf))
	c.buf = c.buf[:0]
	delete(s.dirty, c)
	if cap(c.buf) > 2*spillChainBuf {
		c.buf = nil
	}
	return nil
}

// readBatch reads records from the front of c and passes them to fn
// while fn returns true; it reads at least one record when c has one.
// hint, when not nil, says about how many bytes fn still wants: the
// reads from the file are sized by it (a refill with little room left
// reads a kilobyte, not spillReadSize, for its one record).
func (s *spill) readBatch(c *spillChain, hint func() int64, fn func(Request) bool) error {
	for c.n > 0 {
		want := int64(spillReadSize)
		if hint != nil {
			want = hint()
		}
		data, fromFile, err := s.front(c, want)
		if err != nil {
			return err
		}
		used, more, err := decodeSpillRecords(data, c, fn)
		if err != nil {
			return fmt.Errorf("%w: read back %s: %w", ErrSpill, s.path(c), err)
		}
		if fromFile {
			c.read += int64(used)
		} else {
			s.staged -= int64(used)
			c.buf = c.buf[:copy(c.buf, c.buf[used:])]
			if len(c.buf) == 0 {
				delete(s.dirty, c)
			}
		}
		if !more {
			return nil
		}
		if used == 0 {
			return fmt.Errorf("%w: read back %s: %w", ErrSpill, s.path(c), errCorruptSpill)
		}
	}
	return nil
}

// front returns bytes from the front of what is unread in c: from its
// file while the file has unread bytes, then from its buffer.
func (s *spill) front(c *spillChain, hint int64) ([]byte, bool, error) {
	if c.read >= c.written {
		return c.buf, false, nil
	}
	f, err := s.file(c)
	if err != nil {
		return nil, false, err
	}
	left := c.written - c.read
	size := min(max(hint, spillMinRead), spillReadSize, left)
	buf, err := s.readAt(f, c.read, size)
	if err != nil {
		return nil, false, err
	}
	// A record longer than the read: read it whole.
	if need := 4 + int64(binary.LittleEndian.Uint32(buf)); need > size && need <= left {
		buf, err = s.readAt(f, c.read, need)
	}
	return buf, true, err
}

func (s *spill) readAt(f *os.File, off, size int64) ([]byte, error) {
	if int64(cap(s.scratch)) < size {
		s.scratch = make([]byte, size)
	}
	buf := s.scratch[:size]
	if _, err := f.ReadAt(buf, off); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrSpill, err) // names the file
	}
	return buf, nil
}

// decodeSpillRecords passes the whole records at the start of data to fn
// while it returns true and returns the bytes they took and whether fn
// wanted more.
func decodeSpillRecords(data []byte, c *spillChain, fn func(Request) bool) (int, bool, error) {
	used := 0
	for c.n > 0 && len(data)-used >= 4 {
		size := int(binary.LittleEndian.Uint32(data[used:]))
		if len(data)-used-4 < size {
			break
		}
		req, err := decodeSpillRecord(data[used+4 : used+4+size])
		if err != nil {
			return used, false, err
		}
		used += 4 + size
		c.n--
		if !fn(req) {
			return used, false, nil
		}
	}
	return used, true, nil
}

// drop deletes c's file: c is read to the end, or the frontier is
// closing.
func (s *spill) drop(c *spillChain) error {
	s.chains--
	s.staged -= int64(len(c.buf))
	c.buf = nil
	delete(s.dirty, c)
	if c.f != nil {
		s.open.Remove(c.elem)
		c.f.Close()
		c.f, c.elem = nil, nil
	}
	if c.written == 0 {
		return nil // never written to disk
	}
	if err := os.Remove(s.path(c)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("%w: %w", ErrSpill, err)
	}
	return nil
}

func (s *spill) path(c *spillChain) string {
	return filepath.Join(s.dir, strconv.FormatUint(c.id, 10))
}

// file returns c's open file, opening (and creating) it if needed and
// closing the least recently used one past spillOpenFiles.
func (s *spill) file(c *spillChain) (*os.File, error) {
	if c.f != nil {
		s.open.MoveToFront(c.elem)
		return c.f, nil
	}
	if err := s.makeDir(); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(s.path(c), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrSpill, err)
	}
	if s.open.Len() >= spillOpenFiles {
		old := s.open.Remove(s.open.Back()).(*spillChain)
		old.f.Close()
		old.f, old.elem = nil, nil
	}
	c.f, c.elem = f, s.open.PushFront(c)
	return f, nil
}

// makeDir creates the run's spill directory, and takes the lock in it
// that tells other runs it is in use ([RemoveStaleSpills]).
func (s *spill) makeDir() error {
	if s.dir != "" {
		return nil
	}
	dir, err := os.MkdirTemp(s.parent, SpillPrefix)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrSpill, err)
	}
	lock, err := AcquireLock(context.Background(), filepath.Join(dir, "lock"))
	if err != nil {
		os.RemoveAll(dir)
		return fmt.Errorf("%w: %w", ErrSpill, err)
	}
	s.dir, s.lock, s.announce = dir, lock, true
	return nil
}

// close removes the spill directory with every file in it.
func (s *spill) close() error {
	for e := s.open.Front(); e != nil; e = e.Next() {
		c := e.Value.(*spillChain)
		c.f.Close()
		c.f, c.elem = nil, nil
	}
	s.open.Init()
	if s.dir == "" {
		return nil
	}
	err := os.RemoveAll(s.dir)
	s.lock.Release()
	if err != nil {
		return fmt.Errorf("%w: remove %s: %w", ErrSpill, s.dir, err)
	}
	s.dir = ""
	return nil
}

// RemoveStaleSpills removes the spill directories that runs killed
// before they could clean up left in parent, and returns their paths. A
// directory is stale when its lock is free and it holds the pid file of
// the run that took the lock; one whose run is alive, or is still
// creating it, is left alone, and so is anything that cannot be read.
func RemoveStaleSpills(parent string) []string {
	entries, err := os.ReadDir(parent)
	if err != nil {
		return nil
	}
	var removed []string
	for _, e := range entries {
		if !e.IsDir() || !strings.HasPrefix(e.Name(), SpillPrefix) {
			continue
		}
		dir := filepath.Join(parent, e.Name())
		lockPath := filepath.Join(dir, "lock")
		if _, err := os.Stat(PIDPath(lockPath)); err != nil {
			continue // no run got as far as the lock: being created
		}
		lock, err := AcquireLock(context.Background(), lockPath)
		if err != nil {
			continue // in use, or not ours
		}
		if os.RemoveAll(dir) == nil {
			removed = append(removed, dir)
		}
		lock.Release()
	}
	return removed
}

// CheckSpillDir reports whether a spill directory can be made under
// parent, by making one and removing it.
func CheckSpillDir(parent string) error {
	st, err := os.Stat(parent)
	if err != nil {
		return err
	}
	if !st.IsDir() {
		return fmt.Errorf("%s: not a directory", parent)
	}
	dir, err := os.MkdirTemp(parent, SpillPrefix)
	if err != nil {
		return err
	}
	return os.Remove(dir)
}

// A spill record is a 4-byte little-endian length and the request:
// varints depth and line, a flags byte, and the URL, source and input as
// uvarint-length strings.
func appendSpillRecord(b []byte, req Request) []byte {
	start := len(b)
	b = append(b, 0, 0, 0, 0)
	b = binary.AppendVarint(b, int64(req.Depth))
	b = binary.AppendVarint(b, int64(req.Line))
	var flags byte
	if req.FallbackHTTP {
		flags |= 1
	}
	b = append(b, flags)
	for _, s := range []string{req.URL, req.Source, req.Input} {
		b = binary.AppendUvarint(b, uint64(len(s)))
		b = append(b, s...)
	}
	binary.LittleEndian.PutUint32(b[start:], uint32(len(b)-start-4))
	return b
}

func decodeSpillRecord(b []byte) (Request, error) {
	var req Request
	depth, n := binary.Varint(b)
	if n <= 0 {
		return req, errCorruptSpill
	}
	b = b[n:]
	line, n := binary.Varint(b)
	if n <= 0 || len(b) == n {
		return req, errCorruptSpill
	}
	req.Depth, req.Line = int(depth), int(line)
	req.FallbackHTTP = b[n]&1 != 0
	b = b[n+1:]
	for _, s := range []*string{&req.URL, &req.Source, &req.Input} {
		size, n := binary.Uvarint(b)
		if n <= 0 || uint64(len(b)-n) < size {
			return req, errCorruptSpill
		}
		*s = string(b[n : n+int(size)])
		b = b[n+int(size):]
	}
	if len(b) != 0 {
		return req, errCorruptSpill
	}
	return req, nil
}
