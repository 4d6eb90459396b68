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

func TestCSVSinkNeutralisesFormulas(t *testing.T) {
	ctx := t.Context()
	for _, tc := range []struct {
		name string
		opts []SinkOption
		want string
	}{
		{"default", nil, "-h,title\n" +
			"https://a/,'=1+2\n" +
			"'+x,'-y\n" +
			"'@SUM(A1),'\tcmd\n" +
			"\"'\rx\",a=b\n" +
			",'=\n"},
		{"raw", []SinkOption{WithCSVRaw(true)}, "-h,title\n" +
			"https://a/,=1+2\n" +
			"+x,-y\n" +
			"@SUM(A1),\"\tcmd\"\n" +
			"\"\rx\",a=b\n" +
			",=\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "out.csv")
			// The header is trawl's column names: written as it is.
			s, err := OpenCSV(ctx, path, []string{"-h", "title"}, tc.opts...)
			if err != nil {
				t.Fatal(err)
			}
			row := []string{"https://a/", "=1+2"}
			for _, r := range [][]string{row, {"+x", "-y"}, {"@SUM(A1)", "\tcmd"}, {"\rx", "a=b"}, {"", "="}} {
				if err := s.Write(ctx, r); err != nil {
					t.Fatal(err)
				}
			}
			if err := s.Close(ctx); err != nil {
				t.Fatal(err)
			}
			if got := readString(t, path); got != tc.want {
				t.Errorf("csv file:\n%q\nwant\n%q", got, tc.want)
			}
			if row[1] != "=1+2" {
				t.Errorf("the caller's row changed: %q", row)
			}
			// A resumed run finds its header.
			if s, err := OpenCSV(ctx, path, []string{"-h", "title"}, tc.opts...); err != nil {
				t.Errorf("reopen: %v", err)
			} else {
				s.Close(ctx)
			}
		})
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
