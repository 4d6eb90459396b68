package warc

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/trawl-dev/trawl/structured"
)

// RecoverOptions say how [Recover] trims a file.
type RecoverOptions struct {
	// Committed, when set, tells whether the file may end after r: the
	// file is cut after the last such record (a warcinfo record always
	// is). Nil means after any whole record.
	Committed func(r *ReadRecord) bool
	// CDX writes the CDXJ index of each recovered file, as
	// [Options].CDX.
	CDX bool
	// Owner is the run recovering ([Options].Owner): a file whose
	// warcinfo names another run (any run, when Owner is empty) is left
	// as it is, listed with Foreign. A file that names none (written
	// before runs were named) is recovered.
	Owner string
	// Metadata and Cut, when set, let the caller learn which pages a
	// file keeps (a resumed run counts them done though its output may
	// not hold them: those --changed-only leaves out). Metadata is called
	// with each metadata record of a file as it is read, in order; the
	// caller keeps what it needs of it (the record ends at Offset+Length).
	// Cut is then called with the file's final name and the offset it is
	// cut at, once the cut is synced and before the file is renamed: the
	// records that end at or before it stay. An error from Cut stops
	// Recover with the file still ".open", so that the next Recover
	// reads it again.
	Metadata func(r *ReadRecord)
	Cut      func(file string, end int64) error
}

// A Recovered file is one [Recover] closed, or left alone because a
// running writer holds it (InUse).
type Recovered struct {
	File    string // its final name; its ".open" name when InUse
	Records int    // records kept
	Cut     int64  // bytes cut from its end
	// InUse says that the file was left as it is: a writer that is still
	// running holds it (another process writing the same prefix).
	InUse bool
	// Foreign says that the file was left as it is: another run wrote it
	// (RecoverOptions.Owner), for its own --resume to close. Owner is
	// the run its warcinfo names.
	Foreign bool
	Owner   string
	// Removed says that not even the file's first record was whole: it
	// was removed (File is its ".open" name).
	Removed bool
}

// errInUse is lockOpen's error for a file that a running writer holds.
var errInUse = errors.New("warc: in use by a running writer")

// Recover closes the ".open" files of prefix that a writer left behind
// (a crash, a kill -9): each is read record by record, cut after its last
// whole record (or the last one opts.Committed accepts), synced, given
// its CDXJ index if asked for, and renamed to its final name. A file
// whose first record is not whole is left with only what can be kept;
// it may end up empty. A file that a running writer holds (another
// process writing the same prefix: writers lock their open file) is left
// as it is and listed with InUse.
func Recover(ctx context.Context, prefix string, opts RecoverOptions) ([]Recovered, error) {
	files, err := Files(prefix)
	if err != nil {
		return nil, err
	}
	var out []Recovered
	for _, f := range files {
		if !f.Open {
			continue
		}
		rec, err := structured.RunSync(ctx, func(ctx context.Context) (Recovered, error) {
			return recoverFile(ctx, f.Path, opts)
		})
		if err != nil {
			return out, err
		}
		if rec.File != "" {
			out = append(out, rec)
		}
	}
	return out, nil
}

type cdxAt struct {
	end  int64
	line string
}

func recoverFile(ctx context.Context, path string, opts RecoverOptions) (Recovered, error) {
	name := strings.TrimSuffix(path, OpenSuffix)
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if errors.Is(err, os.ErrNotExist) {
		// Its writer closed and renamed it since the listing: finished.
		return Recovered{}, nil
	}
	if err != nil {
		return Recovered{}, fmt.Errorf("recover %s: %w", path, err)
	}
	defer f.Close() // after the rename: the lock keeps other Recovers off
	if err := lockBusy(ctx, f); errors.Is(err, errInUse) {
		return Recovered{File: path, InUse: true}, nil
	} else if err != nil {
		return Recovered{}, fmt.Errorf("recover %s: lock: %w", path, err)
	}
	if !stillNamed(f, path) {
		// Its writer closed and renamed it between the listing and the
		// lock: finished, nothing to recover.
		return Recovered{}, nil
	}
	st, err := f.Stat()
	if err != nil {
		return Recovered{}, fmt.Errorf("recover %s: %w", path, err)
	}
	if st.Size() == 0 {
		// Created and not yet locked by its writer, which then finds it
		// gone and takes the next name; or left so by a crash. Either way
		// no file to keep: an empty .warc.gz is no gzip file.
		if err := os.Remove(path); err != nil {
			return Recovered{}, fmt.Errorf("recover %s: %w", path, err)
		}
		return Recovered{}, nil
	}
	var cut int64
	var kept, n int
	var lines []cdxAt
	rd := NewReader(f)
	for ctx.Err() == nil {
		r, err := rd.Next()
		if errors.Is(err, io.EOF) || err != nil {
			break // a torn last member: cut before it
		}
		n++
		if n == 1 && r.Type() == TypeWarcinfo {
			if owner := infoField(r.Block, OwnerField); owner != "" && owner != opts.Owner {
				return Recovered{File: path, Foreign: true, Owner: owner}, nil
			}
		}
		if opts.CDX {
			if l, ok := cdxLine(&r.Record, Placement{Offset: r.Offset, Length: r.Length}, filepath.Base(name)); ok {
				lines = append(lines, cdxAt{r.Offset + r.Length, l})
			}
		}
		if opts.Metadata != nil && r.Type() == TypeMetadata {
			opts.Metadata(r)
		}
		if r.Type() == TypeWarcinfo || opts.Committed == nil || opts.Committed(r) {
			cut, kept = r.Offset+r.Length, n
		}
	}
	if err := ctx.Err(); err != nil {
		return Recovered{}, err
	}
	if cut == 0 {
		// Not even its warcinfo record is whole: nothing to keep, and an
		// empty .warc.gz is no gzip file.
		os.Remove(CDXPath(name) + OpenSuffix)
		if err := os.Remove(path); err != nil {
			return Recovered{}, fmt.Errorf("recover %s: %w", path, err)
		}
		return Recovered{File: path, Cut: st.Size(), Removed: true}, nil
	}
	if err := f.Truncate(cut); err != nil {
		return Recovered{}, fmt.Errorf("recover %s: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		return Recovered{}, fmt.Errorf("recover %s: %w", path, err)
	}
	if opts.Cut != nil {
		if err := opts.Cut(name, cut); err != nil {
			return Recovered{}, fmt.Errorf("recover %s: %w", path, err)
		}
	}
	var cdx []byte
	for _, l := range lines {
		if l.end <= cut {
			cdx = append(append(cdx, l.line...), '\n')
		}
	}
	os.Remove(CDXPath(name) + OpenSuffix) // the crashed writer's spool: rebuilt above
	if err := finishFile(ctx, name, cdx, opts.CDX); err != nil {
		return Recovered{}, err
	}
	return Recovered{File: name, Records: kept, Cut: st.Size() - cut}, nil
}

// Held reports whether a running writer holds the ".open" file f (see
// [Recover]); false for a closed file, or one a crash left.
func (f File) Held() bool {
	if !f.Open {
		return false
	}
	// Opened for writing, though nothing is written: where flock is
	// emulated with fcntl locks (NFS), an exclusive lock needs it.
	fd, err := os.OpenFile(f.Path, os.O_RDWR, 0)
	if err != nil {
		return false
	}
	defer fd.Close()
	return errors.Is(lockOpen(fd), errInUse)
}

// lockBusy is lockOpen, tried again for a moment while it finds the lock
// held: a lock held only that long is not a running writer's but that
// of [File.Held] or of a writer's own check, in another process.
func lockBusy(ctx context.Context, f *os.File) error {
	for try := 0; ; try++ {
		err := lockOpen(f)
		if !errors.Is(err, errInUse) || try == 20 {
			return err
		}
		select {
		case <-time.After(5 * time.Millisecond):
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// OwnerOf returns the run the file at path names in its warcinfo record
// ([Options].Owner); "" when it names none or cannot be read.
func OwnerOf(path string) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	r, err := NewReader(f).Next()
	if err != nil || r.Type() != TypeWarcinfo {
		return ""
	}
	return infoField(r.Block, OwnerField)
}
