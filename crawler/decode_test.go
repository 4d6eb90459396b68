package crawler

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"
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
		{"meta past 1024 bytes is not seen", "text/html",
			append(bytes.Repeat([]byte(" "), 1024), "<meta charset=\"koi8-r\">\xe9"...), "text/html", "windows-1252",
			strings.Repeat(" ", 1024) + "<meta charset=\"koi8-r\">\u00e9"},
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
