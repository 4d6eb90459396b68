package crawler

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/trawl-dev/trawl/store"
)

func TestCleanText(t *testing.T) {
	tests := []struct{ in, want string }{
		{"plain text", "plain text"},
		{"tab\tand\nnewline", "tab\tand\nnewline"},
		{"nul\x00here", "nulhere"},
		{"\x1b[31mred\x1b[0m", "[31mred[0m"},
		{"cr\r\nlf", "cr\nlf"},
		{"bell\x07 del\x7f", "bell del"},
		{"c1 \u0085\u009b csi", "c1  csi"},
		{"bad \xff\xfe bytes", "bad \ufffd\ufffd bytes"},
		{"cut \xe2\x82", "cut \ufffd\ufffd"},
		{"real \ufffd kept", "real \ufffd kept"},
		{"caf\u00e9 \u2013 \U0001F600", "caf\u00e9 \u2013 \U0001F600"},
		{"", ""},
	}
	for _, tt := range tests {
		if got := CleanText(tt.in); got != tt.want {
			t.Errorf("CleanText(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
	clean := strings.Repeat("caf\u00e9 ", 100)
	if n := testing.AllocsPerRun(100, func() { CleanText(clean) }); n != 0 {
		t.Errorf("clean text: %v allocations, want none", n)
	}
}

// dirtyPage has a NUL, an ESC, a C1 control and a byte invalid in UTF-8
// in each text field trawl extracts.
const dirtyPage = "<html lang=\"en\x1b\"><head><title>ti\x00t\x1b[2Jle\xff</title>" +
	"<meta name=description content=\"de\x1bsc\x00\xc2\x9b\xfe\">" +
	"</head><body><h1>h\x00e\x1b[0mad\xff</h1><p class=x data-v=\"a\x1bt\x00tr\xff\">p\x00ar\x07a\xff</p></body></html>"

// TestExtractCleansText checks that both extraction paths give the same
// clean text: the token pass (default fields) and the tree (--select).
func TestExtractCleansText(t *testing.T) {
	base, _ := ParseURL("http://example.com/")
	tokens, err := extractTokens(DecodeBytes([]byte(dirtyPage), "text/html; charset=utf-8"), base, Limits{})
	if err != nil {
		t.Fatal(err)
	}
	var sels []Selector
	for _, spec := range []string{"p=p.x", "v=p.x@data-v"} {
		s, err := ParseSelector(spec)
		if err != nil {
			t.Fatal(err)
		}
		sels = append(sels, s)
	}
	tree, err := Extract(DecodeBytes([]byte(dirtyPage), "text/html; charset=utf-8"), base, sels)
	if err != nil {
		t.Fatal(err)
	}
	// The HTML tokenizer turns a NUL in a title or an attribute into
	// U+FFFD, and the tree builder drops one in text, as the standard
	// says; CleanText removes the NUL the token pass used to keep in h1.
	want := Page{Title: "ti\ufffdt[2Jle\ufffd", Description: "desc\ufffd\ufffd", H1: "he[0mad\ufffd", Lang: "en"}
	for name, p := range map[string]Page{"token pass": tokens, "tree": tree} {
		if p.Title != want.Title || p.Description != want.Description || p.H1 != want.H1 || p.Lang != want.Lang {
			t.Errorf("%s: title %q description %q h1 %q lang %q; want %q %q %q %q",
				name, p.Title, p.Description, p.H1, p.Lang, want.Title, want.Description, want.H1, want.Lang)
		}
	}
	if got := tree.Fields["p"]; len(got) != 1 || got[0] != "para\ufffd" {
		t.Errorf("--select text %q, want [para\ufffd]", got)
	}
	if got := tree.Fields["v"]; len(got) != 1 || got[0] != "at\ufffdtr\ufffd" {
		t.Errorf("--select attribute %q, want [at\ufffdtr\ufffd]", got)
	}
}

// TestOutputsCleanText checks that JSON and CSV write the text fields
// that do not come from the page (the input line, the server, an error
// message) clean too.
func TestOutputsCleanText(t *testing.T) {
	ctx := context.Background()
	r := &Result{
		URL: "not a url \x1b]0;owned\x07", Line: 3, ContentType: "text/html\x00",
		Title: "t\x1bitle", Fields: map[string][]string{"p": {"\x00v\xff"}},
		Error: &ResultError{Kind: KindInvalidURL, Message: "bad host \"\x1b[31mx\xff\""},
	}
	var lines lineCapture
	if err := NewJSONOutput(&lines, nil).Write(ctx, r); err != nil {
		t.Fatal(err)
	}
	var back Result
	if err := json.Unmarshal(lines.records[0], &back); err != nil {
		t.Fatal(err)
	}
	if back.URL != "not a url ]0;owned" || back.ContentType != "text/html" || back.Title != "title" ||
		back.Fields["p"][0] != "v\ufffd" || back.Error.Message != "bad host \"[31mx\ufffd\"" {
		t.Errorf("JSON read back as %+v", back)
	}
	if r.URL != "not a url \x1b]0;owned\x07" {
		t.Errorf("the result itself changed: %q", r.URL)
	}

	name := filepath.Join(t.TempDir(), "out.csv")
	cols := CSVColumns(nil, []Selector{{Name: "p"}})
	sink, err := store.OpenCSV(ctx, name, cols)
	if err != nil {
		t.Fatal(err)
	}
	if err := NewCSVOutput(sink, cols).Write(ctx, r); err != nil {
		t.Fatal(err)
	}
	if err := sink.Close(ctx); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	if !utf8.Valid(data) || bytes.ContainsAny(data, "\x00\x1b\x07") {
		t.Errorf("CSV holds raw control bytes or invalid UTF-8: %q", data)
	}
	rows, err := csv.NewReader(bytes.NewReader(data)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	row := map[string]string{}
	for i, c := range rows[0] {
		row[c] = rows[1][i]
	}
	if row["url"] != "not a url ]0;owned" || row["title"] != "title" || row["p"] != "v\ufffd" ||
		row["error_message"] != "bad host \"[31mx\ufffd\"" {
		t.Errorf("CSV row %q", row)
	}
}

// TestCleanedKeepsEveryPageField: cleaning a record for output keeps the
// page fields that are not text (the truncation flags and counts).
func TestCleanedKeepsEveryPageField(t *testing.T) {
	r := Result{Title: "a\x00b", Links: []string{"http://x.test/"}, LinksTruncated: true, LinksDropped: 3,
		Fields: map[string][]string{"f": {"v"}}, FieldsTruncated: true}
	c := r.cleaned()
	if c.Title != "ab" || !c.LinksTruncated || c.LinksDropped != 3 || !c.FieldsTruncated || len(c.Links) != 1 || len(c.Fields["f"]) != 1 {
		t.Fatalf("cleaned record %+v lost page fields of %+v", c, r)
	}
}
