package cmd

import (
	"errors"
	"os"
	"path/filepath"

	"github.com/trawl-dev/trawl/store"
)

// A runFile is a file that a run reads, writes or locks, with the flag or
// argument that names it, for messages.
type runFile struct {
	what   string // "-o", "--lock", "input", "crawl journal of -o", ...
	path   string
	writes bool // the run writes it (or may empty it); false for inputs and the lock
}

// inputFiles returns the files the run reads URLs from: the input files
// among the arguments (in crawl mode, the seeds). Standard input is not a
// file.
func (o *RunOptions) inputFiles() []runFile {
	var fs []runFile
	for _, in := range o.Inputs {
		if !in.IsURL && in.Name != "-" {
			fs = append(fs, runFile{what: "input", path: in.Name})
		}
	}
	return fs
}

// outputFiles returns every path the run writes, empties or locks. Add a
// new output path option here: [checkFileClashes] then keeps it off the
// inputs and the other outputs.
func (o *RunOptions) outputFiles() []runFile {
	var fs []runFile
	if o.Output != "" {
		fs = append(fs, runFile{what: "-o", path: o.Output, writes: true})
		if o.Crawl && !isRedisURL(o.Frontier) && o.outputResumable() {
			fs = append(fs, runFile{what: "the crawl journal of -o", path: store.JournalPath(o.Output), writes: true})
		}
	}
	if o.Warc != "" && o.outputResumable() {
		fs = append(fs, runFile{what: "the WARC run name of -o", path: warcRunPath(o.Output), writes: true})
	}
	if o.Output != "" && o.ChangedOnly {
		fs = append(fs, runFile{what: "the unchanged list of -o", path: unchangedPath(o.Output), writes: true})
	}
	if o.SummaryJSON != "" {
		fs = append(fs, runFile{what: "--summary-json", path: o.SummaryJSON, writes: true})
	}
	if o.outputLocked() {
		fs = append(fs, runFile{what: "the pid file of -o", path: store.PIDPath(o.Output), writes: true})
	}
	if o.Store != "" {
		fs = append(fs, runFile{what: "--store", path: o.Store, writes: true})
	}
	if o.OutputDir != "" {
		fs = append(fs, runFile{what: "--output-dir", path: o.OutputDir, writes: true})
	}
	if o.Lock != "" {
		// The lock file is never written, but it must not be an input
		// either; its pid file is written.
		fs = append(fs, runFile{what: "--lock", path: o.Lock})
		fs = append(fs, runFile{what: "the pid file of --lock", path: store.PIDPath(o.Lock), writes: true})
	}
	return fs
}

// checkFileClashes refuses a run that would write over one of its inputs
// (-o urls.txt empties urls.txt before it is read), lock an input, or
// write two outputs into one file. Two paths clash when they are the same
// file (same device and inode, symbolic links followed) or, for a path
// that does not exist yet, when it resolves to the same absolute path
// (its directory's symbolic links followed). Standard input and output
// ("-", /dev/stdout) and other files that are not regular files, such as
// /dev/null, never clash.
func checkFileClashes(inputs, outputs []runFile) error {
	ids := make(map[string]fileID)
	id := func(f runFile) fileID {
		v, ok := ids[f.path]
		if !ok {
			v = identify(f.path)
			ids[f.path] = v
		}
		return v
	}
	for _, out := range outputs {
		for _, in := range inputs {
			if id(out).same(id(in)) {
				return usageError("%s %s is the same file as the input %s: refusing to write over or lock an input", out.what, out.path, in.path)
			}
		}
	}
	for i, a := range outputs {
		for _, b := range outputs[i+1:] {
			if a.writes && b.writes && id(a).same(id(b)) {
				return usageError("%s %s and %s %s are the same file: each output needs a file of its own", a.what, a.path, b.what, b.path)
			}
		}
	}
	return nil
}

// fileID identifies a file for checkFileClashes.
type fileID struct {
	skip     bool        // not a file that can clash
	info     os.FileInfo // when the file exists
	resolved string      // absolute path with symbolic links resolved, "" if unknown
}

func identify(path string) fileID {
	if path == "-" || path == "/dev/stdout" || path == "/dev/stderr" {
		return fileID{skip: true}
	}
	info, err := os.Stat(path)
	switch {
	case err == nil && !info.Mode().IsRegular():
		return fileID{skip: true}
	case err == nil:
		resolved, _ := filepath.EvalSymlinks(path)
		if resolved != "" {
			resolved, _ = filepath.Abs(resolved)
		}
		return fileID{info: info, resolved: resolved}
	case !errors.Is(err, os.ErrNotExist):
		return fileID{skip: true} // unreadable: opening it will say why
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return fileID{skip: true}
	}
	dir, err := filepath.EvalSymlinks(filepath.Dir(abs))
	if err != nil {
		return fileID{resolved: abs}
	}
	return fileID{resolved: filepath.Join(dir, filepath.Base(abs))}
}

func (a fileID) same(b fileID) bool {
	switch {
	case a.skip || b.skip:
		return false
	case a.info != nil && b.info != nil:
		return os.SameFile(a.info, b.info)
	}
	return a.resolved != "" && a.resolved == b.resolved
}
