package crawler

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"testing/iotest"
	"time"
	"unicode/utf16"
)

// utf16Bytes encodes s as UTF-16 with a byte order mark.
func utf16Bytes(s string, bigEndian bool) []byte {
	var b []byte
	if bigEndian {
		b = append(b, 0xFE, 0xFF)
	} else {
		b = append(b, 0xFF, 0xFE)
	}
	for _, u := range utf16.Encode([]rune(s)) {
		if bigEndian {
			b = append(b, byte(u>>8), byte(u))
		} else {
			b = append(b, byte(u), byte(u>>8))
		}
	}
	return b
}

func TestDecodeBody(t *testing.T) {
	const page = "<title>caf\u00e9 \u20ac</title>"
	latin1 := []byte("<title>caf\xe9</title>")
	tests := []struct {
		name        string
		contentType string
		body        []byte
		wantType    string
		wantCharset string
		wantText    string // "" means HTML is false and the body passes unchanged
	}{
		{"utf-8 by header", "text/html; charset=utf-8", []byte(page), "text/html", "utf-8", page},
		{"latin-1 by header", "text/html; charset=ISO-8859-1", latin1, "text/html", "windows-1252", "<title>caf\u00e9</title>"},
		{"header label is case-insensitive and quoted", `TEXT/HTML; Charset="Latin1"`, latin1, "text/html", "windows-1252", "<title>caf\u00e9</title>"},
		{"windows-1252 by meta charset", "text/html",
			[]byte("<meta charset=\"windows-1252\"><p>\x80 \x93q\x94"), "text/html", "windows-1252",
			"<meta charset=\"windows-1252\"><p>\u20ac \u201cq\u201d"},
		{"windows-1252 by meta http-equiv", "text/html",
			[]byte(`<meta http-equiv="Content-Type" content="text/html; charset=windows-1252"><p>` + "\x80"), "text/html", "windows-1252",
			`<meta http-equiv="Content-Type" content="text/html; charset=windows-1252"><p>` + "\u20ac"},
		{"header wins over meta", "text/html; charset=utf-8",
			[]byte("<meta charset=\"windows-1252\">\u20ac"), "text/html", "utf-8", "<meta charset=\"windows-1252\">\u20ac"},
		{"meta past 1024 bytes changes a tentative encoding", "text/html",
			append(bytes.Repeat([]byte(" "), 1024), "<meta charset=\"koi8-r\">\xe9"...), "text/html", "koi8-r",
			strings.Repeat(" ", 1024) + "<meta charset=\"koi8-r\">\u0418"},
		{"meta past 1024 bytes does not change the header's encoding", "text/html; charset=windows-1252",
			append(bytes.Repeat([]byte(" "), 1024), "<meta charset=\"koi8-r\">\xe9"...), "text/html", "windows-1252",
			strings.Repeat(" ", 1024) + "<meta charset=\"koi8-r\">\u00e9"},
		{"late http-equiv in the body", "text/html",
			[]byte("<p>" + strings.Repeat("x", 1100) + `<meta http-equiv="content-type" content="text/html;charset='iso-8859-2'">` + "\xb1"), "text/html", "iso-8859-2",
			"<p>" + strings.Repeat("x", 1100) + `<meta http-equiv="content-type" content="text/html;charset='iso-8859-2'">` + "\u0105"},
		{"late meta in a script is not used", "text/html",
			[]byte("<script>" + strings.Repeat("x", 1100) + `"<meta charset=koi8-r>"</script>` + "\xe9"), "text/html", "windows-1252",
			"<script>" + strings.Repeat("x", 1100) + `"<meta charset=koi8-r>"</script>` + "\u00e9"},
		{"late meta in a comment is not used", "text/html",
			[]byte("<!--" + strings.Repeat("x", 1100) + `<meta charset=koi8-r>-->` + "\xe9"), "text/html", "windows-1252",
			"<!--" + strings.Repeat("x", 1100) + `<meta charset=koi8-r>-->` + "\u00e9"},
		{"the first meta the parser sees settles it", "text/html",
			[]byte(`<meta charset="iso-8859-2">` + strings.Repeat("x", 1100) + `<meta charset="koi8-r">` + "\xb1"), "text/html", "iso-8859-2",
			`<meta charset="iso-8859-2">` + strings.Repeat("x", 1100) + `<meta charset="koi8-r">` + "\u0105"},
		{"the prescan reads inside a script", "text/html",
			[]byte(`<script>"<meta charset=koi8-r>"</script>` + "\xe9"), "text/html", "koi8-r",
			`<script>"<meta charset=koi8-r>"</script>` + "\u0418"},
		{"the parser's meta wins over the prescan's, found in raw text", "text/html",
			[]byte(`<title><meta charset=koi8-r></title><meta charset=iso-8859-2>` + "\xb1"), "text/html", "iso-8859-2",
			`<title><meta charset=koi8-r></title><meta charset=iso-8859-2>` + "\u0105"},
		{"late meta naming UTF-16 means UTF-8", "text/html",
			[]byte(strings.Repeat(" ", 1100) + `<meta charset="utf-16le">` + "caf\u00e9"), "text/html", "utf-8",
			strings.Repeat(" ", 1100) + `<meta charset="utf-16le">` + "caf\u00e9"},
		{"no declaration, UTF-8 past 1024 bytes", "text/html",
			[]byte(strings.Repeat(" ", 1100) + "caf\u00e9"), "text/html", "utf-8", strings.Repeat(" ", 1100) + "caf\u00e9"},
		{"no declaration, not UTF-8 past 1024 bytes", "text/html",
			[]byte(strings.Repeat(" ", 1100) + "caf\xe9"), "text/html", "windows-1252", strings.Repeat(" ", 1100) + "caf\u00e9"},
		{"xml declaration", "text/html",
			[]byte(`<?xml version="1.0" encoding="ISO-8859-2"?><p>` + "\xb1"), "text/html", "iso-8859-2",
			`<?xml version="1.0" encoding="ISO-8859-2"?><p>` + "\u0105"},
		{"utf-8 BOM wins over header and is removed", "text/html; charset=iso-8859-1",
			append([]byte{0xEF, 0xBB, 0xBF}, page...), "text/html", "utf-8", page},
		{"utf-16le BOM", "text/html", utf16Bytes(page, false), "text/html", "utf-16le", page},
		{"utf-16be BOM wins over header", "text/html; charset=utf-8", utf16Bytes(page, true), "text/html", "utf-16be", page},
		{"unknown label falls back to meta", "text/html; charset=x-no-such",
			[]byte("<meta charset=\"iso-8859-2\">\xb1"), "text/html", "iso-8859-2", "<meta charset=\"iso-8859-2\">\u0105"},
		{"unknown label falls back to utf-8 detection", "text/html; charset=bogus", []byte(page), "text/html", "utf-8", page},
		{"no label, not utf-8: windows-1252", "text/html", latin1, "text/html", "windows-1252", "<title>caf\u00e9</title>"},
		{"xhtml", "application/xhtml+xml", []byte(page), "application/xhtml+xml", "utf-8", page},
		{"no header, sniffed html", "", []byte("<!DOCTYPE html><html>\xe9"), "text/html", "windows-1252", "<!DOCTYPE html><html>\u00e9"},
		{"unparsable header, sniffed", "garbage", []byte("<html><p>x"), "text/html", "windows-1252", "<html><p>x"},
		{"bad parameter keeps the type", "text/html; charset", []byte(page), "text/html", "utf-8", page},
		{"empty html body", "text/html", nil, "text/html", "windows-1252", ""},
		{"pdf not parsed", "application/pdf", []byte("%PDF-1.4 \xe9"), "application/pdf", "", ""},
		{"json not parsed", "application/json; charset=utf-8", []byte(`{"a":1}`), "application/json", "", ""},
		{"text/plain not sniffed as html", "text/plain", []byte("<html>"), "text/plain", "", ""},
		{"no header, sniffed png", "", []byte("\x89PNG\r\n\x1a\n...."), "image/png", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// OneByteReader checks the read-ahead copes with short reads.
			b, err := DecodeBody(iotest.OneByteReader(bytes.NewReader(tt.body)), tt.contentType)
			if err != nil {
				t.Fatal(err)
			}
			got, err := io.ReadAll(b)
			if err != nil {
				t.Fatal(err)
			}
			if b.MediaType != tt.wantType || b.Charset != tt.wantCharset || b.HTML != (tt.wantCharset != "") {
				t.Errorf("type %q charset %q html %v; want %q %q", b.MediaType, b.Charset, b.HTML, tt.wantType, tt.wantCharset)
			}
			want := tt.wantText
			if !b.HTML {
				want = string(tt.body)
			}
			if string(got) != want {
				t.Errorf("body = %q, want %q", got, want)
			}
			mem := DecodeBytes(tt.body, tt.contentType)
			if got, _ := io.ReadAll(mem); string(got) != want || mem.Charset != b.Charset || mem.MediaType != b.MediaType {
				t.Errorf("DecodeBytes: type %q charset %q body %q; DecodeBody gave %q %q", mem.MediaType, mem.Charset, got, b.MediaType, b.Charset)
			}
		})
	}
}

func TestDecodeBodyLongBody(t *testing.T) {
	body := strings.Repeat("<p>\xe9</p>", 1000) // past the read-ahead
	b, err := DecodeBody(strings.NewReader(body), "text/html; charset=latin1")
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(b)
	if want := strings.Repeat("<p>\u00e9</p>", 1000); string(got) != want {
		t.Errorf("decoded %d bytes, want %d", len(got), len(want))
	}
}

func TestDecodeBodyReadError(t *testing.T) {
	typed := newError(KindTooLarge, "http://example.com/", errors.New("over 10 MB"))
	if _, err := DecodeBody(iotest.ErrReader(typed), "text/html"); err != typed {
		t.Errorf("typed read error = %v, want it returned as is", err)
	}
	_, err := DecodeBody(iotest.ErrReader(errors.New("boom")), "text/html")
	if KindOf(err) != KindDecode || !strings.Contains(err.Error(), "boom") {
		t.Errorf("untyped read error = %v, want decode kind wrapping it", err)
	}
}

// latePage is a UTF-8 page whose <meta charset> comes after a 2 KB inline
// script, past the prescan's 1024 bytes. Its script holds a <meta
// charset="koi8-r"> in a string, also past 1024 bytes, that the parser
// reads as script text.
func latePage() string {
	return "<!DOCTYPE html><html><head><script>var pad = '" + strings.Repeat("x", 2048) + "';\n" +
		"document.title = '<meta charset=\"koi8-r\">';</script>\n" +
		"<meta charset=\"utf-8\"><title>caf\u00e9 \u2013 na\u00efve</title>" +
		"<meta name=\"description\" content=\"caf\u00e9 \u2013 na\u00efve\">" +
		"</head><body><h1>na\u00efve</h1></body></html>"
}

// TestExtractLateMetaCharset fetches latePage from a server that names no
// charset and extracts it the way the pipeline does, with and without
// --select: the late <meta charset="utf-8"> must decode the page, and the
// one inside the script must not.
func TestExtractLateMetaCharset(t *testing.T) {
	srv := serve(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		io.WriteString(w, latePage())
	})
	f := newTestFetcher(t, Config{IgnoreRobots: true})
	resp, err := f.Fetch(t.Context(), srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	sel, err := ParseSelector("h=h1")
	if err != nil {
		t.Fatal(err)
	}
	const want = "caf\u00e9 \u2013 na\u00efve"
	for name, sels := range map[string][]Selector{"token pass": nil, "tree with --select": {sel}} {
		t.Run(name, func(t *testing.T) {
			res := NewResult(Request{URL: srv.URL}, resp, nil, time.Now())
			extractInto(res, resp, sels, Limits{}, Extras{})
			if res.Error != nil {
				t.Fatal(res.Error)
			}
			if res.Title != want || res.Description != want || res.H1 != "na\u00efve" {
				t.Errorf("title %q description %q h1 %q; want %q and h1 %q", res.Title, res.Description, res.H1, want, "na\u00efve")
			}
			if sels != nil && !slices.Equal(res.Fields["h"], []string{"na\u00efve"}) {
				t.Errorf("fields %q, want h = [na\u00efve]", res.Fields)
			}
		})
	}
}

func TestMayDeclareCharset(t *testing.T) {
	tests := []struct {
		in   string
		want bool
	}{
		{`<meta charset=utf-8>`, true},
		{`<META HTTP-EQUIV="Content-Type" CONTENT="text/html; CHARSET=x">`, true},
		{`<meta name="description" content="x"><p>charset</p>`, false},
		{`<meta name=x><meta name="y" content="a<b" charset=z>`, true},
		{`<p>charset</p>`, false},
		{`<metacharset>`, true}, // a superset: the tokenizer decides
		{``, false},
	}
	for _, tt := range tests {
		if got := mayDeclareCharset([]byte(tt.in)); got != tt.want {
			t.Errorf("mayDeclareCharset(%q) = %v, want %v", tt.in, got, tt.want)
		}
	}
	// Many "<meta" before one far '>' and "charset": each tag must not
	// rescan the rest of the body.
	huge := []byte(strings.Repeat("<meta ", 1<<20) + "charset>")
	if !mayDeclareCharset(huge) {
		t.Error("huge body: want true")
	}
}

// TestPrescan covers corners of the HTML standard's prescan that the
// html5lib suite does not.
func TestPrescan(t *testing.T) {
	tests := []struct {
		name, in, want string // want "" means no encoding found
	}{
		{"<!--> ends the comment", `<!--><meta charset=koi8-r>`, "koi8-r"},
		{"<!---> ends the comment", `<!---><meta charset=koi8-r>`, "koi8-r"},
		{"comment not ended", `<!-- <meta charset=koi8-r>`, ""},
		{"<? runs to the first >", `<?php <meta charset=koi8-r> ?>`, ""},
		{"<! runs to the first >", `<!DOCTYPE html><meta charset=koi8-r>`, "koi8-r"},
		{"end tag attributes are read", `</x <meta charset=koi8-r>>`, ""},
		{"the first charset attribute counts", `<meta charset="koi8-r" charset="utf-8">`, "koi8-r"},
		{"a bad charset attribute hides content", `<meta charset=bogus http-equiv=content-type content="charset=koi8-r">`, ""},
		{"a bad content does not hide charset", `<meta http-equiv=content-type content="charset=bogus" charset=koi8-r>`, "koi8-r"},
		{"a bad meta is skipped", `<meta charset=bogus><meta charset=koi8-r>`, "koi8-r"},
		{"slash separates attributes", `<meta/charset=koi8-r>`, "koi8-r"},
		{"x-user-defined means windows-1252", `<meta charset=x-user-defined>`, "windows-1252"},
		{"UTF-16 XML prefix", "<\x00?\x00x\x00m\x00l\x00", "utf-16le"},
		{"XML declaration", `<?xml version="1.0" encoding='koi8-r'?>`, "koi8-r"},
		{"XML declaration naming UTF-16", `<?xml encoding="utf-16"?>`, "utf-8"},
		{"XML declaration, meta wins", `<?xml encoding="koi8-r"?><meta charset=iso-8859-2>`, "iso-8859-2"},
		{"the label replacement is not one", `<meta charset=replacement>`, ""},
		{"vertical tab is not trimmed", "<meta charset=\"koi8-r\v\">", ""},
	}
	for _, tt := range tests {
		g, ok := prescan([]byte(tt.in))
		if got := map[bool]string{true: g.name}[ok]; got != tt.want {
			t.Errorf("%s: prescan(%q) = %q, want %q", tt.name, tt.in, got, tt.want)
		}
	}
}
