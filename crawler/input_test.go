package crawler

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/trawl-dev/trawl/structured"
)

func writeTemp(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestParseInputs(t *testing.T) {
	file := writeTemp(t, "urls.txt", "http://a.test/\n")
	inputs, err := ParseInputs([]string{"https://x.test/", file, "-"})
	if err != nil {
		t.Fatal(err)
	}
	if len(inputs) != 3 || !inputs[0].IsURL || inputs[1].IsURL || inputs[2].Name != "-" {
		t.Fatalf("inputs = %+v", inputs)
	}
	for _, bad := range [][]string{{"no-such-file.txt"}, {"-", "-"}, {t.TempDir()}} {
		if _, err := ParseInputs(bad); err == nil {
			t.Errorf("ParseInputs(%q) = nil error", bad)
		} else if !strings.Contains(err.Error(), bad[0]) && bad[0] != "-" {
			t.Errorf("error %q does not name the input %q", err, bad[0])
		}
	}
}

func TestReadInputsSkipsBlankAndComments(t *testing.T) {
	file := writeTemp(t, "urls.txt", "# seeds\nhttp://a.test/1\n\n   \n  http://a.test/2  \r\n#x\nnot a url\nhttp://a.test/3")
	inputs, _ := ParseInputs([]string{"http://arg.test/", file})
	var got []InputLine
	err := ReadInputs(t.Context(), inputs, nil, func(ctx context.Context, l InputLine) error {
		got = append(got, l)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []InputLine{
		{Source: "http://arg.test/", Text: "http://arg.test/"},
		{Source: file, Line: 2, Text: "http://a.test/1"},
		{Source: file, Line: 5, Text: "http://a.test/2"},
		{Source: file, Line: 7, Text: "not a url"},
		{Source: file, Line: 8, Text: "http://a.test/3"},
	}
	if len(got) != len(want) {
		t.Fatalf("got %+v\nwant %+v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("entry %d = %+v, want %+v", i, got[i], want[i])
		}
	}
	n, known, err := CountInputs(t.Context(), inputs)
	if err != nil || !known || n != len(want) {
		t.Fatalf("CountInputs = %d, %v, %v; want %d, true", n, known, err, len(want))
	}
}

func TestReadInputsFromStdin(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.WriteString("http://a.test/\n# c\nhttp://b.test/\n"); err != nil {
		t.Fatal(err)
	}
	w.Close()
	stdin := structured.NewFile(r)
	defer stdin.Close(context.Background())
	var got []string
	err = ReadInputs(t.Context(), []Input{{Name: "-"}}, stdin, func(ctx context.Context, l InputLine) error {
		got = append(got, l.Text)
		return nil
	})
	if err != nil || strings.Join(got, " ") != "http://a.test/ http://b.test/" {
		t.Fatalf("got %q, %v", got, err)
	}
	if _, known, _ := CountInputs(t.Context(), []Input{{Name: "-"}}); known {
		t.Fatal("stdin count claimed to be known")
	}
}

func TestReadInputsLongLineIsAnEntryError(t *testing.T) {
	file := writeTemp(t, "urls.txt", "http://a.test/\n"+strings.Repeat("x", 2<<20)+"\nhttp://b.test/\n")
	inputs, _ := ParseInputs([]string{file})
	var lines []InputLine
	err := ReadInputs(t.Context(), inputs, nil, func(ctx context.Context, l InputLine) error {
		lines = append(lines, l)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(lines) != 3 || lines[1].Err == nil || lines[1].Line != 2 || lines[2].Text != "http://b.test/" {
		t.Fatalf("lines = %+v; want the long line as an error on line 2 and reading to go on", lines)
	}
}
