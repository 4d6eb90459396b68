package cmd

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/pflag"
	"golang.org/x/net/http/httpguts"

	"github.com/trawl-dev/trawl/crawler"
	"github.com/trawl-dev/trawl/warc"
)

// WarcOptions are the --warc flags.
type WarcOptions struct {
	Warc                string
	WarcMaxSize         string
	WarcDigest          string
	WarcCDX             bool
	WarcHeaders         []string
	WarcNoGzip          bool
	WarcCompress        string
	WarcKeepCredentials bool

	warcMaxSize int64
	warcInfo    []warc.Field
	// warcCompressSet says that --warc-compress was given.
	warcCompressSet bool
	// warcOwnerName is what warcOwner returns, once made.
	warcOwnerName string
}

// addWarcFlags defines the --warc flags on fs.
func addWarcFlags(fs *pflag.FlagSet, o *WarcOptions) {
	fs.StringVar(&o.Warc, "warc", "", "archive every request and response (robots.txt, sitemaps, redirects) byte for byte over HTTP/1.1 into `PREFIX`-<YYYYmmddHHMMSS>-<nnnnn>.warc.gz (WARC/1.1); each record gets warc: {file, offset, length}")
	fs.StringVar(&o.WarcMaxSize, "warc-max-size", "1GiB", "with --warc, start a new WARC file once one reaches `SIZE`")
	fs.StringVar(&o.WarcDigest, "warc-digest", "sha1", "with --warc, `ALGO` of WARC-Block-Digest and WARC-Payload-Digest: sha1 or sha256 (base32)")
	fs.BoolVar(&o.WarcCDX, "warc-cdx", false, "with --warc, write a sorted CDXJ index (pywb's) next to each WARC file: <file>.cdxj")
	o.WarcCompress = warc.CompressNormal
	fs.Var(&compressFlag{mode: &o.WarcCompress, set: &o.warcCompressSet}, "warc-compress", "with --warc, `MODE` of compression of each record in its gzip member: normal (LZ77 and Huffman coding, gzip's fastest level), fast (Huffman coding only: less than half the compression CPU of normal, files about twice as large) or none (stored: the least CPU, files several times larger)")
	fs.BoolVar(&o.WarcNoGzip, "warc-no-compress", false, "with --warc, store the records in their gzip members without compressing them: much less CPU, files several times larger (--warc-compress none)")
	fs.BoolVar(&o.WarcKeepCredentials, "warc-keep-credentials", false, "with --warc, keep the values of Authorization, Cookie and the other sensitive headers in the request records as sent (default: recorded as ***)")
	fs.StringArrayVar(&o.WarcHeaders, "warc-header", nil, `with --warc, a "name: value" field of the warcinfo record, such as "operator: Jane Doe" (repeatable)`)
}

// compressFlag is --warc-compress: a string flag that records whether it
// was given, so that --warc-no-compress contradicts even an explicit
// normal.
type compressFlag struct {
	mode *string
	set  *bool
}

func (f *compressFlag) String() string {
	if f.mode == nil {
		return ""
	}
	return *f.mode
}

func (f *compressFlag) Set(s string) error {
	if s == "" {
		return errors.New("want normal, fast or none")
	}
	*f.mode, *f.set = s, true
	return nil
}

func (f *compressFlag) Type() string { return "string" }

// validateWarc checks the --warc flags.
func (o *WarcOptions) validateWarc(robots bool, userAgent string) error {
	if o.Warc == "" {
		for _, f := range []struct {
			set  bool
			name string
		}{{o.WarcCDX, "--warc-cdx"}, {len(o.WarcHeaders) > 0, "--warc-header"}, {o.WarcNoGzip, "--warc-no-compress"}, {o.warcCompressSet, "--warc-compress"}, {o.WarcKeepCredentials, "--warc-keep-credentials"}} {
			if f.set {
				return usageError("%s needs --warc PREFIX", f.name)
			}
		}
		return nil
	}
	if strings.HasSuffix(o.Warc, "/") {
		return usageError("--warc %q: want a file name prefix such as crawls/site, not a directory", o.Warc)
	}
	var err error
	if o.warcMaxSize, err = ParseSize(o.WarcMaxSize); err != nil || o.warcMaxSize <= 0 {
		return usageError("--warc-max-size %q: want a positive size such as 100MiB or 1GiB", o.WarcMaxSize)
	}
	if err := warc.CheckDigest(o.WarcDigest); err != nil {
		return usageError("--warc-digest %v", err)
	}
	if err := warc.CheckCompression(o.WarcCompress); err != nil {
		return usageError("--warc-compress %q: want normal, fast or none", o.WarcCompress)
	}
	if o.WarcNoGzip {
		if o.warcCompressSet && o.WarcCompress != warc.CompressNone {
			return usageError("--warc-no-compress contradicts --warc-compress %s", o.WarcCompress)
		}
		o.WarcCompress = warc.CompressNone
	}
	policy := "obey"
	if !robots {
		policy = "ignore"
	}
	if userAgent == "" {
		userAgent = crawler.DefaultUserAgent()
	}
	o.warcInfo = []warc.Field{
		{Name: "software", Value: "trawl/" + crawler.Version + " (+https://github.com/trawl-dev/trawl)"},
		{Name: "format", Value: "WARC File Format 1.1"},
		{Name: "conformsTo", Value: "https://iipc.github.io/warc-specifications/specifications/warc-format/warc-1.1/"},
		{Name: "robots", Value: policy},
		{Name: "http-header-user-agent", Value: userAgent},
	}
	for _, h := range o.WarcHeaders {
		name, value, ok := strings.Cut(h, ":")
		name, value = strings.TrimSpace(name), strings.TrimSpace(value)
		if !ok || !httpguts.ValidHeaderFieldName(name) || !httpguts.ValidHeaderFieldValue(value) {
			return usageError(`--warc-header %q: want "name: value" on one line`, h)
		}
		if strings.EqualFold(name, warc.OwnerField) {
			return usageError("--warc-header %q: %s is trawl's own field (the run that writes the file)", h, warc.OwnerField)
		}
		o.warcInfo = append(o.warcInfo, warc.Field{Name: name, Value: value})
	}
	return nil
}

// recoverWarc, with --warc --resume, closes the files an interrupted run
// left open, each cut after the last page whose record is in the output
// or in the list of unchanged pages (r.done): the pages after it are
// fetched again and archived in the new file, so that every page of the
// output has exactly one response record. With --changed-only, the pages
// found unchanged whose records a file keeps are done, even if the crash
// came before the list named them: fetched again, they would be archived
// twice. It runs once the output is scanned and before a crawl's journal
// is replayed, so that the journal does not queue those pages again.
func (r *pipelineRun) recoverWarc(ctx context.Context) error {
	o := r.o
	if o.Warc == "" || !o.Resume || r.warcRecovered {
		return nil
	}
	r.warcRecovered = true
	if err := os.MkdirAll(filepath.Dir(o.Warc), 0o755); err != nil {
		return usageError("--warc %s: %v", o.Warc, err)
	}
	owner, err := keptRunName(o.Output)
	if err != nil {
		return usageError("--warc --resume: %v", err)
	}
	ropts := warc.RecoverOptions{CDX: o.WarcCDX, Committed: committedIn(r.done), Owner: owner}
	if o.ChangedOnly {
		type page struct {
			url string
			end int64
		}
		var unchanged []page // of the file being recovered, not done
		ropts.Metadata = func(rec *warc.ReadRecord) {
			var p struct {
				URL    string `json:"url"`
				Change string `json:"change"`
			}
			if json.Unmarshal(rec.Block, &p) == nil && p.Change == string(crawler.ChangeUnchanged) && !r.done[p.URL] {
				unchanged = append(unchanged, page{p.URL, rec.Offset + rec.Length})
			}
		}
		ropts.Cut = func(_ string, end int64) error {
			var kept []string
			for _, p := range unchanged {
				if p.end <= end {
					kept = append(kept, p.url)
				}
			}
			unchanged = unchanged[:0]
			return r.keepUnchanged(kept)
		}
	}
	recovered, err := warc.Recover(ctx, o.Warc, ropts)
	if err != nil {
		return fmt.Errorf("--warc --resume: %w", err)
	}
	for _, rf := range recovered {
		if rf.InUse {
			o.warnf("trawl: --resume: left %s as it is: another running trawl is writing it", rf.File)
			continue
		}
		if rf.Foreign {
			ours := fmt.Sprintf("%s names no run", warcRunPath(o.Output))
			if owner != "" {
				ours = fmt.Sprintf("this run, as %s says, is %s", warcRunPath(o.Output), owner)
			}
			o.warnf("trawl: --resume: left %s as it is: another run wrote it (its warcinfo names run %s; %s)", rf.File, rf.Owner, ours)
			continue
		}
		if rf.Removed {
			o.warnf("trawl: --resume: removed %s: not even its first record was whole (%d bytes)", rf.File, rf.Cut)
			continue
		}
		o.warnf("trawl: --resume: closed %s: %d records kept, %d bytes of unfinished pages cut", rf.File, rf.Records, rf.Cut)
	}
	return nil
}

// openWarc opens the run's WARC writer, after [pipelineRun.recoverWarc]
// with --resume.
func (r *pipelineRun) openWarc(ctx context.Context) error {
	o := r.o
	if o.Warc == "" {
		return nil
	}
	if err := r.recoverWarc(ctx); err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(o.Warc), 0o755); err != nil {
		return usageError("--warc %s: %v", o.Warc, err)
	}
	if !o.Resume {
		files, err := warc.Files(o.Warc)
		if err != nil {
			return usageError("--warc %s: %v", o.Warc, err)
		}
		// The .open files of the run -o FILE had (its name in
		// FILE.warc-run), which this run replaces: no --resume closes them
		// now. The others are another run's, whose --resume closes them.
		previous := ""
		if o.outputResumable() {
			previous, _ = keptRunName(o.Output) // unreadable: no file is told apart
		}
		var orphans []string
		n := 0
		for _, f := range files {
			switch {
			case !f.Open || f.Held():
			case previous != "" && warc.OwnerOf(f.Path) == previous:
				orphans = append(orphans, f.Path)
			default:
				n++
			}
		}
		if n > 0 {
			o.warnf("trawl: --warc %s: %d unfinished .open file(s) of an interrupted run left as they are (the --resume of the run that wrote them closes them)", o.Warc, n)
		}
		if len(orphans) > 0 {
			o.warnf("trawl: --warc: %d .open file(s) of the interrupted run of -o %s (%s) stay as they are: without --resume this run starts afresh, and no --resume closes them now; they are readable up to their last whole record", len(orphans), o.Output, strings.Join(orphans, ", "))
		}
	}
	owner, err := r.warcOwner()
	if err != nil {
		return err
	}
	w, err := warc.NewWriter(warc.Options{
		Prefix:      o.Warc,
		MaxSize:     o.warcMaxSize,
		Digest:      o.WarcDigest,
		CDX:         o.WarcCDX,
		Compression: o.WarcCompress,
		Info:        o.warcInfo,
		Owner:       owner,
	})
	if err != nil {
		return usageError("--warc %s: %v", o.Warc, err)
	}
	r.archive = crawler.NewArchive(w)
	return nil
}

// warcRunPath is where a run with --warc and -o FILE keeps the name it
// gives its WARC files ([warc.Options].Owner): FILE.warc-run, next to the
// output, so that it moves with it. A run that completes removes it.
func warcRunPath(output string) string { return output + ".warc-run" }

// warcOwner names the run in its WARC files, so that the --resume of
// another run writing the same prefix leaves them alone: a random name,
// made when the run starts afresh and kept in [warcRunPath] for its
// --resume. A run to standard output, which cannot be resumed, keeps it
// nowhere. A --resume that finds no name (a run of a trawl from before
// names) makes one for the files it writes from now on, and recovers
// only files that name no run.
func (r *pipelineRun) warcOwner() (string, error) {
	o := r.o
	if o.warcOwnerName != "" {
		return o.warcOwnerName, nil
	}
	name := "run-" + strings.ToLower(rand.Text())
	if !o.outputResumable() {
		o.warcOwnerName = name
		return name, nil
	}
	path := warcRunPath(o.Output)
	if o.Resume {
		kept, err := keptRunName(o.Output)
		if err != nil {
			return "", usageError("--warc --resume: %v", err)
		}
		if kept != "" {
			o.warcOwnerName = kept
			return kept, nil
		}
	}
	if err := writeFileWhole(path, []byte(name+"\n")); err != nil {
		return "", usageError("--warc: write %s: %v", path, err)
	}
	o.warcOwnerName = name
	return name, nil
}

// outputResumable reports whether the run can be resumed from its
// output: -o FILE, a regular file (or none yet), next to which its
// crawl journal and its WARC run name are kept. Not standard output, a
// pipe or a device (-o /dev/null keeps only the archive), nor
// /dev/stdout redirected to a file.
func (o *RunOptions) outputResumable() bool {
	if o.Output == "" || o.Output == "-" || !isRegularOrMissing(o.Output) {
		return false
	}
	// -o /dev/stdout (or /dev/fd/1, /proc/self/fd/1) redirected to a file
	// is a regular file, but no place for a file next to it.
	path, err := filepath.Abs(o.Output)
	if err != nil {
		return false
	}
	for _, p := range []string{path, evalSymlinks(path)} {
		if strings.HasPrefix(p, "/dev/") || strings.HasPrefix(p, "/proc/") {
			return false
		}
	}
	return true
}

// evalSymlinks is filepath.EvalSymlinks of path, or path itself.
func evalSymlinks(path string) string {
	if real, err := filepath.EvalSymlinks(path); err == nil {
		return real
	}
	return path
}

// keptRunName returns the run name that the run writing output keeps in
// [warcRunPath]; "" when there is none (or it is not one line).
func keptRunName(output string) (string, error) {
	b, err := os.ReadFile(warcRunPath(output))
	if errors.Is(err, os.ErrNotExist) {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	name := strings.TrimSpace(string(b))
	if strings.ContainsAny(name, "\r\n") {
		return "", nil
	}
	return name, nil
}

// removeWarcRun removes the WARC run name of a run that completed.
func (r *pipelineRun) removeWarcRun() {
	if r.o.Warc == "" || !r.o.outputResumable() {
		return
	}
	path := warcRunPath(r.o.Output)
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		r.o.warnf("trawl: could not remove %s: %v", path, err)
	}
}

// committedIn says whether a WARC file may end after r: after the
// metadata record of a page whose record is in the output (or, with
// --changed-only, in the list of unchanged pages).
func committedIn(done map[string]bool) func(r *warc.ReadRecord) bool {
	return func(r *warc.ReadRecord) bool {
		if r.Type() != warc.TypeMetadata {
			return false
		}
		var page struct {
			URL string `json:"url"`
		}
		return json.Unmarshal(r.Block, &page) == nil && done[page.URL]
	}
}
