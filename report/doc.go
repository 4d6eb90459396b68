// Package report turns trawl's JSON Lines output into a site audit: one
// self-contained HTML page (inline CSS, inline SVG charts, a few lines of
// script, no external asset), or JSON, Markdown and JUnit for CI.
//
// A [Builder] reads records one at a time and keeps only what the checks
// need: per URL a few bytes (status, flags, the index of its URL in an
// append-only arena), hashes for duplicate detection, a count of the
// pages that link to each URL, and bounded lists of findings and top-N
// heaps. Memory grows with the number of distinct URLs, not with the
// size of the records, so a million-record crawl fits in a few hundred
// MiB.
//
// Every value read from a record came from a crawled page and is
// untrusted: the HTML page is rendered with html/template only, data is
// never handed to the script (it reads the table cells' text), URLs
// become links only when they are http(s), and a Content-Security-Policy
// allows no script but the page's own.
//
// The checks, their stable IDs and severities are in checks.go.
package report
