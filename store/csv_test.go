package store

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/trawl-dev/trawl/structured"
)

func TestCSVSinkQuotes(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "out.csv")
	s, err := OpenCSV(ctx, path, []string{"url", "title"})
	if err != nil {
		t.Fatal(err)
	}
	rows := [][]string{
		{"https://a/", "plain"},
		{"https://b/", "comma, here"},
		{"https://c/", `say "hi"`},
		{"https://d/", "two\nlines"},
		{"https://e/", ""},
	}
	for _, r := range rows {
		if err := s.Write(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Close(ctx); err != nil {
		t.Fatal(err)
	}
	want := "url,title\n" +
		"https://a/,plain\n" +
		"https://b/,\"comma, here\"\n" +
		"https://c/,\"say \"\"hi\"\"\"\n" +
		"https://d/,\"two\nlines\"\n" +
		"https://e/,\n"
	if got := readString(t, path); got != want {
		t.Fatalf("csv file:\n%q\nwant\n%q", got, want)
	}
}

func TestCSVSinkHeaderOnce(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "out.csv")
	header := []string{"url", "status"}
	for _, row := range [][]string{{"https://a/", "200"}, {"https://b/", "404"}} {
		s, err := OpenCSV(ctx, path, header)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Write(ctx, row); err != nil {
			t.Fatal(err)
		}
		if err := s.Close(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if got, want := readString(t, path), "url,status\nhttps://a/,200\nhttps://b/,404\n"; got != want {
		t.Fatalf("after two runs the file holds %q, want %q", got, want)
	}
	if _, err := OpenCSV(ctx, path, []string{"url", "title"}); !errors.Is(err, ErrHeaderMismatch) {
		t.Fatalf("OpenCSV with another header: %v, want ErrHeaderMismatch", err)
	}
}

func TestCSVSinkFieldCount(t *testing.T) {
	ctx := t.Context()
	s, err := OpenCSV(ctx, filepath.Join(t.TempDir(), "out.csv"), []string{"url", "title"})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close(ctx)
	if err := s.Write(ctx, []string{"https://a/"}); !errors.Is(err, ErrFieldCount) {
		t.Fatalf("Write of a short row: %v, want ErrFieldCount", err)
	}
}

func TestNewCSVWritesHeader(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "out.csv")
	osf, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	s, err := NewCSV(ctx, structured.NewFile(osf), []string{"url"})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if got := readString(t, path); got != "url\n" {
		t.Fatalf("file holds %q, want the header", got)
	}
}
