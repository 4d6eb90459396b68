package crawler

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"github.com/trawl-dev/trawl/structured"
)

// maxMarkdownSegment is the longest path segment kept as it is in a
// [MarkdownDirOutput] file name; a longer one is cut and hashed.
const maxMarkdownSegment = 100

// MarkdownDirOutput is a [ResultWriter] that writes one Markdown file per
// page (--format md --output-dir DIR): DIR/<host>/<path>.md, see
// [MarkdownPath], with a YAML front matter (url, title, fetched_at,
// content_hash) and the page's markdown field as its body. Records
// without main content or with an error (failures, 4xx and 5xx pages,
// pages that are not HTML) get no file.
// Each file is written to a temporary file and renamed over the old one.
type MarkdownDirOutput struct {
	dir     string
	written int
	buf     bytes.Buffer
}

// NewMarkdownDirOutput returns the writer into dir, creating dir when
// needed.
func NewMarkdownDirOutput(ctx context.Context, dir string) (*MarkdownDirOutput, error) {
	_, err := structured.RunSync(ctx, func(context.Context) (struct{}, error) {
		return struct{}{}, os.MkdirAll(dir, 0o755)
	})
	if err != nil {
		return nil, fmt.Errorf("output directory %s: %w", dir, err)
	}
	return &MarkdownDirOutput{dir: dir}, nil
}

// Written is how many files the writer wrote.
func (o *MarkdownDirOutput) Written() int { return o.written }

// Write implements [ResultWriter].
func (o *MarkdownDirOutput) Write(ctx context.Context, r *Result) error {
	if r.PageContent == nil || r.Error != nil {
		return nil
	}
	u := r.FinalURL
	if u == "" {
		u = r.URL
	}
	rel, err := MarkdownPath(u)
	if err != nil {
		return nil // not a URL: no place for it (never so for a fetched page)
	}
	o.buf.Reset()
	o.buf.WriteString("---\n")
	var fetched string
	if !r.FetchedAt.IsZero() {
		fetched = r.FetchedAt.UTC().Format("2006-01-02T15:04:05.000Z")
	}
	for _, kv := range [][2]string{{"url", r.URL}, {"title", r.Title}, {"fetched_at", fetched}, {"content_hash", r.ContentHash}} {
		if kv[1] == "" {
			continue
		}
		fmt.Fprintf(&o.buf, "%s: %s\n", kv[0], yamlString(CleanText(kv[1])))
	}
	o.buf.WriteString("---\n\n")
	o.buf.WriteString(r.Markdown)
	o.buf.WriteString("\n")
	path := filepath.Join(o.dir, rel)
	body := o.buf.Bytes()
	_, err = structured.RunSync(ctx, func(context.Context) (struct{}, error) {
		return struct{}{}, writeReplace(path, body)
	})
	if err != nil {
		return fmt.Errorf("write markdown of %s: %w", r.URL, err)
	}
	o.written++
	return nil
}

// Flush implements [ResultWriter]: every file is whole once written.
func (o *MarkdownDirOutput) Flush(context.Context) error { return nil }

// yamlString is s as a YAML double-quoted scalar: JSON's string syntax,
// which YAML's double-quoted style accepts as it is.
func yamlString(s string) string {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s)
	return strings.TrimSuffix(b.String(), "\n")
}

// writeReplace writes body to path through a temporary file in its
// directory and a rename over whatever is there.
func writeReplace(path string, body []byte) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	f, err := os.CreateTemp(dir, ".tmp-*")
	if err != nil {
		return err
	}
	_, err = f.Write(body)
	if err == nil {
		err = f.Chmod(0o644)
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.Name(), path)
	}
	if err != nil {
		_ = os.Remove(f.Name())
	}
	return err
}

// MarkdownPath returns the file, relative to the output directory, of the
// Markdown of the page at rawURL: <host>/<path>.md, the host as
// [StoreHostDir] makes it, "/" as index.md and a path ending in "/" as
// <path>/index.md. Each path segment keeps ASCII letters, digits, '.',
// '-' and '_'; any other byte becomes '_'. When that changes the path
// (escapes, other characters, a segment starting with '.', a segment
// longer than 100 bytes, a last segment "index"), or the URL has a query,
// the file name ends in '-' and 8 bytes of the SHA-256 of the URL's path
// and query in hex, so that two URLs of a host never share a file unless
// one is made for it. The result is always a relative path inside the
// directory.
func MarkdownPath(rawURL string) (string, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return "", err
	}
	raw := u.EscapedPath()
	segs := strings.Split(strings.TrimPrefix(raw, "/"), "/")
	last := segs[len(segs)-1]
	lossy := u.RawQuery != "" || u.ForceQuery
	if last == "" {
		segs[len(segs)-1] = "index"
	} else if last == "index" {
		lossy = true
	}
	parts := []string{StoreHostDir(u.Host)}
	for _, s := range segs {
		safe := safeName(s)
		if s == "" {
			safe = "_"
		}
		if safe[0] == '.' {
			safe = "_" + safe
		}
		if len(safe) > maxMarkdownSegment {
			safe = safe[:maxMarkdownSegment]
		}
		if safe != s {
			lossy = true
		}
		parts = append(parts, safe)
	}
	if lossy {
		sum := sha256.Sum256([]byte(raw + "?" + u.RawQuery))
		parts[len(parts)-1] += "-" + hex.EncodeToString(sum[:8])
	}
	parts[len(parts)-1] += ".md"
	return filepath.Join(parts...), nil
}
