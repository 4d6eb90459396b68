//go:build unix

package e2e

import (
	"bufio"
	"encoding/json"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// readmeBlock is one fenced block of README.md.
type readmeBlock struct {
	lang string // the fence's info string: sh, cron, json, ...
	text string
	line int    // line number of the opening fence
	skip string // the reason of a "<!-- test: skip (...) -->" just above, or ""
}

// readmeBlocks returns the fenced blocks of the repository's README.md.
func readmeBlocks(t *testing.T) []readmeBlock {
	t.Helper()
	f, err := os.Open(filepath.Join("..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var blocks []readmeBlock
	var cur *readmeBlock
	prev := ""
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		switch {
		case cur == nil && strings.HasPrefix(line, "```"):
			cur = &readmeBlock{lang: strings.TrimSpace(strings.TrimPrefix(line, "```")), line: n}
			if m := regexp.MustCompile(`^<!-- test: skip \((.+)\) -->$`).FindStringSubmatch(prev); m != nil {
				cur.skip = m[1]
			}
		case cur != nil && strings.TrimSpace(line) == "```":
			blocks = append(blocks, *cur)
			cur = nil
		case cur != nil:
			cur.text += line + "\n"
		}
		if strings.TrimSpace(line) != "" {
			prev = strings.TrimSpace(line)
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return blocks
}

// needTools skips the test when a tool the README's examples use is
// missing, and fails it under CI=true, where .ci/run installs them.
func needTools(t *testing.T, tools ...string) {
	t.Helper()
	for _, tool := range tools {
		if _, err := exec.LookPath(tool); err != nil {
			if os.Getenv("CI") == "true" {
				t.Fatalf("%s is missing (CI=true): the README's examples need it", tool)
			}
			t.Skipf("%s is missing: the README's examples need it (apt-get install %s)", tool, tool)
		}
	}
}

// exampleHosts are the hosts the README's examples name; the test points
// them at its local site.
var exampleHosts = regexp.MustCompile(`https?://[a-z0-9.-]+\.(?:com|org|net|example)\b`)

// TestREADMEExamples runs every sh and cron example of README.md, in
// order, in one directory, with trawl on the PATH and the example hosts
// replaced by a local site, so that the README cannot drift from the
// binary. A block says why it is not run with a comment just above it:
// <!-- test: skip (reason) -->.
func TestREADMEExamples(t *testing.T) {
	t.Parallel()
	needTools(t, "bash", "jq", "sqlite3")
	ctx := testContext(t)
	s := newSite(t, map[string]page{
		"/":      htmlPage("Home", `<a href="/about">about</a> <p class="price">1.50</p> <img src="/logo.png">`),
		"/about": htmlPage("About", `<a href="/">home</a>`),
	}, -1)
	dir := t.TempDir()
	path := filepath.Dir(trawlBin) + string(os.PathListSeparator) + os.Getenv("PATH")
	ran := 0
	var sqliteOut string
	for _, b := range readmeBlocks(t) {
		if b.skip != "" || (b.lang != "sh" && b.lang != "cron") {
			continue
		}
		script := exampleHosts.ReplaceAllString(b.text, s.URL)
		script = strings.NewReplacer("/data/", dir+"/", "/tmp/trawl.lock", dir+"/trawl.lock").Replace(script)
		if b.lang == "cron" {
			var cmds []string
			for _, l := range strings.Split(strings.TrimSpace(script), "\n") {
				if f := strings.Fields(l); len(f) > 5 {
					cmds = append(cmds, strings.Join(f[5:], " ")) // the command after the schedule
				}
			}
			script = strings.Join(cmds, "\n") + "\n"
		}
		cmd := exec.CommandContext(ctx, "bash", "-e", "-o", "pipefail", "-c", script)
		cmd.Dir = dir
		for _, kv := range os.Environ() {
			k, _, _ := strings.Cut(kv, "=")
			if k != "PATH" && !strings.Contains(strings.ToLower(k), "proxy") {
				cmd.Env = append(cmd.Env, kv)
			}
		}
		cmd.Env = append(cmd.Env, "PATH="+path)
		var stdout, stderr strings.Builder
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		if err := cmd.Run(); err != nil {
			t.Errorf("README.md line %d: the example failed: %v\n%s\nstdout:\n%s\nstderr:\n%s", b.line, err, script, stdout.String(), stderr.String())
		}
		if strings.Contains(script, "sqlite3") {
			sqliteOut += stdout.String()
		}
		ran++
	}
	if ran < 5 {
		t.Fatalf("ran %d examples of README.md: the fences were not found", ran)
	}
	if !strings.Contains(sqliteOut, "200|2") || !strings.Contains(sqliteOut, "404|1") {
		t.Errorf("the SQLite example counted:\n%s\nwant 200|2 and 404|1 (two pages and a missing one)", sqliteOut)
	}
	checkSummaryExample(t, filepath.Join(dir, "last-run.json"))
}

// checkSummaryExample checks that the keys of the --summary-json example
// in README.md are those the cron example's run wrote.
func checkSummaryExample(t *testing.T, written string) {
	t.Helper()
	b, err := os.ReadFile(written)
	if err != nil {
		t.Fatalf("the cron example wrote no summary: %v", err)
	}
	var got map[string]any
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatalf("%s: %v", written, err)
	}
	for _, blk := range readmeBlocks(t) {
		if blk.lang != "json" || !strings.Contains(blk.text, `"exit_code"`) {
			continue
		}
		var doc map[string]any
		if err := json.Unmarshal([]byte(blk.text), &doc); err != nil {
			t.Fatalf("README.md line %d: %v", blk.line, err)
		}
		if k1, k2 := slices.Sorted(maps.Keys(doc)), slices.Sorted(maps.Keys(got)); !slices.Equal(k1, k2) {
			t.Errorf("README.md line %d: the --summary-json example has keys\n%v\nthe binary writes\n%v", blk.line, k1, k2)
		}
		return
	}
	t.Error("README.md has no --summary-json example")
}

// TestREADMEAgreesWithHelp: the exit codes, the command list and the CSV
// default columns of README.md are those of the binary.
func TestREADMEAgreesWithHelp(t *testing.T) {
	t.Parallel()
	ctx := testContext(t)
	readme, err := os.ReadFile(filepath.Join("..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	help := runTrawl(t, ctx, nil, "--help").stdout

	section := func(text, from, to string) string {
		_, after, _ := strings.Cut(text, from)
		before, _, _ := strings.Cut(after, to)
		return before
	}
	readmeCodes := regexp.MustCompile(`(?m)^\| (\d+) \|`).FindAllStringSubmatch(section(string(readme), "### Exit codes", "\n#"), -1)
	helpCodes := regexp.MustCompile(`(?m)^  (\d+) `).FindAllStringSubmatch(section(help, "Exit codes:", "\n\n"), -1)
	if a, b := firsts(readmeCodes), firsts(helpCodes); len(a) == 0 || !slices.Equal(a, b) {
		t.Errorf("exit codes: README.md %v, --help %v", a, b)
	}

	var synopsis string
	for _, b := range readmeBlocks(t) {
		if strings.Contains(b.text, "trawl fetch [URL") {
			synopsis = b.text
		}
	}
	readmeCmds := firsts(regexp.MustCompile(`(?m)^trawl (\w+)`).FindAllStringSubmatch(synopsis, -1))
	var helpCmds []string
	for _, m := range regexp.MustCompile(`(?m)^  (\w+) `).FindAllStringSubmatch(section(help, "Available Commands:", "\n\n"), -1) {
		if m[1] != "help" && m[1] != "completion" {
			helpCmds = append(helpCmds, m[1])
		}
	}
	slices.Sort(readmeCmds)
	if len(readmeCmds) == 0 || !slices.Equal(readmeCmds, helpCmds) {
		t.Errorf("commands: README.md %v, --help %v", readmeCmds, helpCmds)
	}

	s := newSite(t, numberedPages(1), -1)
	out := filepath.Join(t.TempDir(), "out.csv")
	if res := runTrawl(t, ctx, nil, args("fetch", "-o", out, s.URL+"/p/0")...); res.code != 0 {
		t.Fatalf("exit code %d; stderr:\n%s", res.code, res.stderr)
	}
	b, _ := os.ReadFile(out)
	header, _, _ := strings.Cut(string(b), "\n")
	cols := regexp.MustCompile("Default\\s+columns are\\s+`([a-z0-9_,]+)`").FindStringSubmatch(string(readme))
	if cols == nil || cols[1] != header {
		t.Errorf("CSV default columns: README.md %q, the binary %q", cols, header)
	}
}

// firsts returns the first submatch of each match.
func firsts(ms [][]string) []string {
	var out []string
	for _, m := range ms {
		out = append(out, m[1])
	}
	return out
}
