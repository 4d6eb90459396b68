package cmd

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/cobra"
)

func TestRedisFlagsRejected(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"fetch", "--frontier", "postgres://x", "http://a.test/"}, "want memory or redis://"},
		{[]string{"fetch", "--run", "x", "http://a.test/"}, "--run needs --frontier redis://"},
		{[]string{"fetch", "--frontier", "redis://127.0.0.1:1/0", "-"}, "needs --run NAME"},
		{[]string{"stats", "--frontier", "redis://127.0.0.1:1/0"}, "--run NAME is required"},
		{[]string{"stats", "--run", "x"}, "want redis://"},
	} {
		io, _, _, errOut := TestIO()
		if code := run(t.Context(), io, NewCmdRoot(io), tc.args); code != ExitUsage {
			t.Errorf("%v: exit %d, want %d", tc.args, code, ExitUsage)
		}
		if !strings.Contains(errOut.String(), tc.want) {
			t.Errorf("%v: stderr %q, want %q", tc.args, errOut, tc.want)
		}
	}
}

// The derived run name is the same for the same command and inputs, in
// any order, and changes with the command or an input file's contents.
func TestRunNameDerivedFromInputs(t *testing.T) {
	list := filepath.Join(t.TempDir(), "urls.txt")
	write := func(s string) {
		if err := os.WriteFile(list, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	name := func(cmd string, args ...string) string {
		t.Helper()
		var got *RunOptions
		capture := func(c *cobra.Command, o *RunOptions) error { got = o; return nil }
		io, _, _, _ := TestIO()
		c := NewCmdFetch(io, capture)
		if cmd == "crawl" {
			c = NewCmdCrawl(io, capture)
		}
		c.SetArgs(append([]string{"--frontier", "redis://127.0.0.1:6379/0"}, args...))
		if err := c.Execute(); err != nil {
			t.Fatal(err)
		}
		n, err := got.runName()
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	write("http://a.test/1\n")
	base := name("fetch", list, "http://b.test/")
	if again := name("fetch", "http://b.test/", list); again != base {
		t.Errorf("same inputs in another order: %s, want %s", again, base)
	}
	if crawl := name("crawl", list, "http://b.test/"); crawl == base || !strings.HasPrefix(crawl, "crawl-") {
		t.Errorf("crawl of the same inputs named %s (fetch: %s)", crawl, base)
	}
	write("http://a.test/2\n")
	if changed := name("fetch", list, "http://b.test/"); changed == base {
		t.Errorf("a changed input file kept the run name %s", base)
	}
	if named := name("fetch", "--run", "nightly", list); named != "nightly" {
		t.Errorf("--run nightly gave %s", named)
	}
}
