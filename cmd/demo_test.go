package cmd

import (
	"bufio"
	"encoding/json"
	"runtime/debug"
	"strings"
	"testing"
)

func TestDemoFetchesEveryPage(t *testing.T) {
	io, _, out, errOut := TestIO()
	code := run(t.Context(), io, NewCmdRoot(io), []string{"demo", "--pages", "50", "-c", "8"})
	if code != ExitOK {
		t.Fatalf("exit %d, stderr: %s", code, errOut)
	}
	seen := map[string]bool{}
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		var rec demoRecord
		if err := json.Unmarshal(sc.Bytes(), &rec); err != nil {
			t.Fatalf("line %q is not a JSON object: %v", sc.Text(), err)
		}
		if rec.Status != 200 || rec.Title == "" {
			t.Errorf("record %+v, want status 200 and a title", rec)
		}
		seen[rec.URL] = true
	}
	if len(seen) != 50 {
		t.Fatalf("%d distinct pages in output, want 50", len(seen))
	}
	if !strings.Contains(errOut.String(), "50 pages, 0 failed") {
		t.Fatalf("summary = %q", errOut)
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
