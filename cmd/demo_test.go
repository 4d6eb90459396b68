package cmd

import (
	"bufio"
	"encoding/json"
	"fmt"
	"runtime/debug"
	"strings"
	"testing"

	"github.com/trawl-dev/trawl/crawler/demosite"
)

func TestDemoCrawlsEveryPage(t *testing.T) {
	io, _, out, errOut := TestIO()
	code := run(t.Context(), io, NewCmdRoot(io), []string{"demo", "--pages", "50", "-c", "8", "--retries", "0"})
	if code != ExitOK {
		t.Fatalf("exit %d, stderr: %s", code, errOut)
	}
	seen := map[string]bool{}
	kinds := map[string]bool{}
	sc := bufio.NewScanner(out)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var rec struct {
			URL    string `json:"url"`
			Status int    `json:"status"`
			Title  string `json:"title"`
			Error  *struct {
				Kind string `json:"kind"`
			} `json:"error"`
		}
		if err := json.Unmarshal(sc.Bytes(), &rec); err != nil {
			t.Fatalf("line %q is not a JSON object: %v", sc.Text(), err)
		}
		if seen[rec.URL] {
			t.Errorf("%s written twice", rec.URL)
		}
		seen[rec.URL] = true
		if rec.Error != nil {
			kinds[rec.Error.Kind] = true
		} else if !strings.HasSuffix(rec.URL, ".pdf") && (rec.Status != 200 || rec.Title == "") {
			t.Errorf("record %+v, want status 200 and a title", rec)
		}
	}
	if want := 50 + len(demosite.BrokenPaths); len(seen) != want {
		t.Fatalf("%d distinct pages in output, want %d", len(seen), want)
	}
	for _, k := range []string{"http", "redirect_loop"} {
		if !kinds[k] {
			t.Errorf("no %s error among the broken pages (got %v)", k, kinds)
		}
	}
	if !strings.Contains(errOut.String(), fmt.Sprintf("%d URLs", 50+len(demosite.BrokenPaths))) {
		t.Fatalf("summary = %q", errOut)
	}
	if !strings.HasSuffix(errOut.String(), "trawl demo -o demo.jsonl && trawl report demo.jsonl -o report.html\n") {
		t.Errorf("stderr does not end with the hint on trawl report:\n%s", errOut)
	}
}

// TestReportHint: the hint names the output file, quoted for the shell
// when it needs to be.
func TestReportHint(t *testing.T) {
	for out, want := range map[string]string{
		"":              "trawl report demo.jsonl -o report.html",
		"-":             "trawl report demo.jsonl -o report.html",
		"site.jsonl":    ": trawl report site.jsonl -o report.html",
		"my site.jsonl": ": trawl report 'my site.jsonl' -o report.html",
		"it's.jsonl":    `: trawl report 'it'\''s.jsonl' -o report.html`,
	} {
		if got := reportHint(out); !strings.HasSuffix(got, want) {
			t.Errorf("reportHint(%q) = %q, want it to end with %q", out, got, want)
		}
	}
}

func TestDemoRejectsBadFlags(t *testing.T) {
	for _, args := range [][]string{
		{"demo", "--pages", "0"},
		{"demo", "-c", "-1"},
		{"demo", "--no-such-flag"},
		{"no-such-command"},
	} {
		io, _, out, errOut := TestIO()
		if code := run(t.Context(), io, NewCmdRoot(io), args); code != ExitUsage {
			t.Errorf("%v: exit %d, want %d", args, code, ExitUsage)
		}
		if out.Len() != 0 {
			t.Errorf("%v: wrote to stdout: %q", args, out)
		}
		if !strings.HasPrefix(errOut.String(), "trawl: ") {
			t.Errorf("%v: stderr %q, want a trawl: message", args, errOut)
		}
	}
}

func TestVersion(t *testing.T) {
	io, _, out, _ := TestIO()
	if code := run(t.Context(), io, NewCmdRoot(io), []string{"version"}); code != ExitOK {
		t.Fatalf("exit %d", code)
	}
	if !strings.HasPrefix(out.String(), "trawl ") || !strings.Contains(out.String(), "revision") {
		t.Fatalf("version output %q", out)
	}
}

func TestHelpListsExitCodes(t *testing.T) {
	io, _, out, _ := TestIO()
	if code := run(t.Context(), io, NewCmdRoot(io), []string{"--help"}); code != ExitOK {
		t.Fatalf("exit %d", code)
	}
	for _, want := range []string{"Exit codes:", "130", "--lock"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("help lacks %q:\n%s", want, out)
		}
	}
}

func TestVersionStringReadsVCS(t *testing.T) {
	info := &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "v1.2.3"}, Settings: []debug.BuildSetting{
		{Key: "vcs.revision", Value: "0123456789abcdef0123"},
		{Key: "vcs.modified", Value: "true"},
	}}
	if got, want := versionString(info, true), "trawl v1.2.3 revision 0123456789ab+dirty go1.26.8"; got != want {
		t.Fatalf("versionString = %q, want %q", got, want)
	}
	if got := versionString(nil, false); !strings.Contains(got, "unknown") {
		t.Fatalf("versionString without build info = %q", got)
	}
}
