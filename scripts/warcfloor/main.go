// Command warcfloor measures, on one core, the CPU that archiving a page
// cannot do without under trawl's --warc: the two SHA-1 digests a
// response record needs (WARC-Block-Digest over the HTTP message,
// WARC-Payload-Digest over the body), compressing the record into its
// gzip member at each --warc-compress level, and appending the result to
// a file. It reads the pages of a site written by scripts/benchsite, so
// that the figures are those of scripts/bench.sh --warc:
//
//	go run ./scripts/warcfloor -dir SITE [-out DIR]
//
// It prints microseconds a page for each step: the least that any
// implementation of the WARC (one gzip member a record, SHA-1
// digests by default) must add to a page.
package main

import (
	"bytes"
	"crypto/sha1"
	"flag"
	"fmt"
	"io/fs"
	"log"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/klauspost/compress/gzip"
)

func main() {
	dir := flag.String("dir", "", "a site written by scripts/benchsite")
	out := flag.String("out", os.TempDir(), "directory for the file the write step appends to")
	flag.Parse()
	if *dir == "" {
		log.Fatal("warcfloor: -dir is required")
	}
	var pages [][]byte
	err := filepath.WalkDir(*dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".html") {
			return err
		}
		body, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		head := fmt.Sprintf("HTTP/1.1 200 OK\r\nServer: nginx/1.22.1\r\nDate: Wed, 02 Dec 2026 02:53:07 GMT\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: %d\r\nLast-Modified: Wed, 02 Dec 2026 02:50:00 GMT\r\nConnection: keep-alive\r\nETag: \"6930b7a8-5602\"\r\nAccept-Ranges: bytes\r\n\r\n", len(body))
		warcHead := "WARC/1.1\r\nWARC-Type: response\r\nWARC-Record-ID: <urn:uuid:00000000-0000-0000-0000-000000000000>\r\nWARC-Date: 2026-12-02T02:53:07.123456Z\r\nWARC-Target-URI: http://127.0.0.1:8080/page/1.html\r\nWARC-IP-Address: 127.0.0.1\r\nContent-Type: application/http;msgtype=response\r\nWARC-Block-Digest: sha1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\r\nWARC-Payload-Digest: sha1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\r\nContent-Length: 22000\r\n\r\n"
		pages = append(pages, append(append([]byte(warcHead+head), body...), "\r\n\r\n"...))
		return nil
	})
	if err != nil {
		log.Fatal(err)
	}
	if len(pages) == 0 {
		log.Fatalf("warcfloor: no .html files under %s", *dir)
	}
	var total int
	for _, p := range pages {
		total += len(p)
	}
	fmt.Printf("%d pages, %.1f KB a record on average, one core\n", len(pages), float64(total)/float64(len(pages))/1000)

	perPage := func(name string, step func(p []byte)) {
		best := time.Duration(1 << 62)
		for range 3 { // best of 3 passes over every page
			start := time.Now()
			for _, p := range pages {
				step(p)
			}
			best = min(best, time.Since(start))
		}
		fmt.Printf("%-28s %6.1f µs a page\n", name, float64(best.Microseconds())/float64(len(pages)))
	}
	perPage("sha1 block + payload", func(p []byte) {
		sha1.Sum(p)
		sha1.Sum(p[bytes.Index(p, []byte("\r\n\r\n"))+4:])
	})
	for _, l := range []struct {
		name  string
		level int
	}{{"gzip normal (BestSpeed)", gzip.BestSpeed}, {"gzip fast (HuffmanOnly)", gzip.HuffmanOnly}, {"gzip none (stored)", gzip.NoCompression}} {
		var buf bytes.Buffer
		zw, _ := gzip.NewWriterLevel(&buf, l.level)
		perPage(l.name, func(p []byte) {
			buf.Reset()
			zw.Reset(&buf)
			zw.Write(p)
			zw.Close()
		})
	}
	f, err := os.CreateTemp(*out, "warcfloor-*.warc")
	if err != nil {
		log.Fatal(err)
	}
	defer os.Remove(f.Name())
	defer f.Close()
	perPage("write (uncompressed record)", func(p []byte) {
		if _, err := f.Write(p); err != nil {
			log.Fatal(err)
		}
	})
}
