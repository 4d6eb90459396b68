package crawler

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"mime"
	"net/http"
	"os"
	"path/filepath"
	"strings"

	"github.com/trawl-dev/trawl/structured"
)

// maxStoreHostLen bounds the name of a host's directory in a [BodyStore]:
// a longer one is cut and ends with a hash of the whole name.
const maxStoreHostLen = 200

// A BodyStore saves response bodies (--store DIR) under
// DIR/<host>/<sha256>.<ext>: the host made a safe directory name by
// [StoreHostDir], the SHA-256 of the body in hex (its content_hash), and
// an extension by content type ([StoreExt]). The same body is one file,
// written once. Each file is written to a temporary file in its directory
// and renamed, so that a reader never sees a partial body. It is safe for
// concurrent use.
type BodyStore struct {
	dir string // absolute
}

// OpenBodyStore returns the store in dir, creating the directory when
// needed. The paths it returns are absolute.
func OpenBodyStore(ctx context.Context, dir string) (*BodyStore, error) {
	abs, err := structured.RunSync(ctx, func(context.Context) (string, error) {
		abs, err := filepath.Abs(dir)
		if err != nil {
			return "", err
		}
		if err := os.MkdirAll(abs, 0o755); err != nil {
			return "", err
		}
		return abs, nil
	})
	if err != nil {
		return nil, fmt.Errorf("store directory %s: %w", dir, err)
	}
	return &BodyStore{dir: abs}, nil
}

// Dir is the store's directory, absolute.
func (s *BodyStore) Dir() string { return s.dir }

// Path returns where a body of the given SHA-256 (hex) and content type,
// fetched from host, is stored: an absolute path inside the store's
// directory whatever host and contentType hold.
func (s *BodyStore) Path(host, contentType, hash string, body []byte) string {
	return filepath.Join(s.dir, StoreHostDir(host), safeName(hash)+StoreExt(contentType, body))
}

// Save writes body, fetched from host with contentType, unless a file of
// the same hash is there already, and returns its path. hash is the
// body's SHA-256 in hex.
func (s *BodyStore) Save(ctx context.Context, host, contentType, hash string, body []byte) (string, error) {
	path := s.Path(host, contentType, hash, body)
	_, err := structured.RunSync(ctx, func(context.Context) (struct{}, error) {
		return struct{}{}, writeOnce(path, body)
	})
	if err != nil {
		return "", fmt.Errorf("store body: %w", err)
	}
	return path, nil
}

// writeOnce writes body to path through a temporary file and a rename,
// unless path exists.
func writeOnce(path string, body []byte) error {
	if _, err := os.Lstat(path); err == nil {
		return nil
	} else if !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return writeReplace(path, body)
}

// storeInto saves the body of resp into s and sets res.StoredPath. Only
// a whole body (one with a content_hash) is saved. A failure becomes the
// record's error of kind [KindStore] when it has none yet, and is told to
// warn otherwise: the record is written either way.
func (s *BodyStore) storeInto(ctx context.Context, res *Result, resp *Response, warn func(string)) {
	if res.ContentHash == "" {
		return
	}
	host := recordHost(resp.FinalURL)
	if host == "" {
		host = res.Host
	}
	// Not cancelled with the run: the record is about to be written, and
	// its body is written with it (a write of at most --max-body).
	path, err := s.Save(context.WithoutCancel(ctx), host, resp.ContentType(), res.ContentHash, resp.Body)
	if err == nil {
		res.StoredPath = path
		return
	}
	e := &ResultError{Kind: KindStore, Message: err.Error()}
	switch {
	case res.Error == nil:
		res.Error = e
	case warn != nil:
		warn(fmt.Sprintf("%s: %s", res.URL, e.Message))
	}
}

// StoreHostDir returns the directory name of host in a [BodyStore]: the
// host lower-cased, with every byte but ASCII letters, digits, '.' and '-'
// made '_' (host:port is host_port, [::1]:8080 is ___1__8080), never "",
// "." or ".." nor starting with '.', and at most 200 bytes long (a longer
// name is cut and ends with a hash of the whole). No host can name a path
// outside the store.
func StoreHostDir(host string) string {
	name := safeName(strings.ToLower(host))
	if name == "" || name[0] == '.' {
		name = "_" + name
	}
	if len(name) > maxStoreHostLen {
		sum := sha256.Sum256([]byte(host))
		name = name[:maxStoreHostLen-17] + "_" + hex.EncodeToString(sum[:8])
	}
	return name
}

// safeName returns s with every byte but ASCII letters, digits, '.' and
// '-' replaced by '_'.
func safeName(s string) string {
	b := []byte(s)
	for i, c := range b {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '-') {
			b[i] = '_'
		}
	}
	return string(b)
}

// storeExts are the extensions of stored bodies by media type.
var storeExts = map[string]string{
	"text/html":              ".html",
	"application/xhtml+xml":  ".html",
	"application/json":       ".json",
	"application/ld+json":    ".json",
	"application/xml":        ".xml",
	"text/xml":               ".xml",
	"application/rss+xml":    ".xml",
	"application/atom+xml":   ".xml",
	"text/plain":             ".txt",
	"text/markdown":          ".md",
	"text/csv":               ".csv",
	"text/css":               ".css",
	"text/javascript":        ".js",
	"application/javascript": ".js",
	"application/pdf":        ".pdf",
	"image/png":              ".png",
	"image/jpeg":             ".jpg",
	"image/gif":              ".gif",
	"image/webp":             ".webp",
	"image/svg+xml":          ".svg",
}

// StoreExt returns the extension of a stored body by its content type:
// .html, .json, .xml, .txt, .pdf, ... and .bin for any other type. A
// body without a content type is sniffed ([http.DetectContentType]). The
// extension comes from a fixed table, never from the header itself.
func StoreExt(contentType string, body []byte) string {
	if strings.TrimSpace(contentType) == "" {
		contentType = http.DetectContentType(body)
	}
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		mt, _, _ = strings.Cut(strings.ToLower(strings.TrimSpace(contentType)), ";")
	}
	if ext, ok := storeExts[mt]; ok {
		return ext
	}
	switch {
	case strings.HasSuffix(mt, "+json"):
		return ".json"
	case strings.HasSuffix(mt, "+xml"):
		return ".xml"
	}
	return ".bin"
}

// storeTypes are the content types given to a stored body read back by
// its extension ([StoredContentType]).
var storeTypes = map[string]string{
	".html": "text/html", ".htm": "text/html", ".json": "application/json", ".xml": "application/xml",
	".txt": "text/plain", ".md": "text/markdown", ".csv": "text/csv", ".css": "text/css",
	".js": "text/javascript", ".pdf": "application/pdf", ".png": "image/png", ".jpg": "image/jpeg",
	".gif": "image/gif", ".webp": "image/webp", ".svg": "image/svg+xml",
}

// StoredContentType is the content type of a stored body named path, by
// its extension ([StoreExt] backwards); "" for .bin and unknown ones.
// Without a charset: the body's own declarations or bytes decide it.
func StoredContentType(path string) string {
	return storeTypes[strings.ToLower(filepath.Ext(path))]
}
