package cmd

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"golang.org/x/net/http/httpguts"
	"golang.org/x/net/http/httpproxy"

	"github.com/trawl-dev/trawl/crawler"
	"github.com/trawl-dev/trawl/store"
)

// RunOptions are the flags shared by `trawl fetch` and `trawl crawl`, and
// the crawl-only ones.
type RunOptions struct {
	IO     *IOStreams
	Args   []string
	Crawl  bool
	Inputs []crawler.Input

	Concurrency int
	PerHost     int
	Rate        float64
	Burst       int
	Timeout     time.Duration
	Retries     int
	MaxBody     string
	QueueMemory string
	SpillDir    string
	Headers     []string
	UserAgent   string
	Proxy       string
	Cookies     bool
	NoRobots    bool
	NoFallback  bool
	DenyPrivate bool
	Selects     []string
	MaxLinks    int
	Output      string
	Format      string
	Fields      []string
	CSVRaw      bool
	Progress    string
	Quiet       bool
	MaxTime     time.Duration
	Grace       time.Duration
	Resume      bool
	Since       []string
	ChangedOnly bool
	Lock        string
	Frontier    string
	Run         string
	Strict      bool
	SummaryJSON string
	Store       string
	OutputDir   string

	// How the main content (--fields markdown, text, ...) is chosen.
	ContentSelector string
	ExcludeSelector string
	MarkdownLinks   string

	// Where credentials go, and how long a server may hold a host.
	MaxRetryAfter    time.Duration
	SensitiveHeaders []string
	LocationTrusted  bool

	// JavaScript rendering.
	RenderOptions

	// --warc and its companions.
	WarcOptions

	// Crawl only.
	Scope    string
	Include  []string
	Exclude  []string
	Depth    int
	MaxPages int
	Sitemap  bool
	// With --since, crawl only.
	NoLastmod     bool
	ReportRemoved bool

	// progress is the bar being drawn, if any: warnings clear it first.
	progress atomic.Pointer[progressBar]

	// Parsed by Validate.
	maxBody   int64
	header    http.Header
	proxyURL  *url.URL
	selectors []crawler.Selector
	extras    crawler.Extras // the opt-in fields computed (expandFields)
	// addedFields are the fields of --fields +a,+b, without '+'.
	addedFields []string
	scopeMode   crawler.ScopeMode
	include     []*regexp.Regexp
	exclude     []*regexp.Regexp
	formatSet   bool // --format was given

	queueMemory int64
}

// addRunFlags defines the shared flags on fs.
func addRunFlags(fs *pflag.FlagSet, o *RunOptions) {
	fs.IntVarP(&o.Concurrency, "concurrency", "c", 16, "number of requests in flight at once, over all hosts (one site gets at most --per-host of them)")
	fs.IntVar(&o.PerHost, "per-host", 2, "requests in flight to one host at once")
	fs.Float64Var(&o.Rate, "rate", 0, "requests per second to one host (0: no limit beyond robots.txt Crawl-delay)")
	fs.IntVar(&o.Burst, "burst", 1, "with --rate: requests a host may get at once after being idle, then --rate holds")
	durationVar(fs, &o.Timeout, "timeout", 30*time.Second, "time limit for one request, headers and body (bare numbers are seconds)")
	fs.IntVar(&o.Retries, "retries", 2, "retries for network errors, 429 and 5xx, with backoff")
	durationVar(fs, &o.MaxRetryAfter, "max-retry-after", 10*time.Minute, "longest Retry-After honoured; a 429/503 asking for more fails at once as rate_limited")
	fs.StringVar(&o.MaxBody, "max-body", "10MiB", "largest body kept, after decompression (e.g. 512KiB, 10MiB, 1GB)")
	fs.StringVar(&o.QueueMemory, "queue-memory", "8MiB", "memory the queued URLs may take, a `SIZE` such as 64MiB; past it the queue spills to disk")
	fs.StringVar(&o.SpillDir, "spill-dir", "", "where the queue past --queue-memory spills: a directory of its own in `DIR`, removed at the end (default: next to -o FILE, else the system temp directory)")
	fs.StringArrayVarP(&o.Headers, "header", "H", nil, `extra request header "Name: value" (repeatable)`)
	fs.StringVar(&o.UserAgent, "user-agent", "", "User-Agent header (default trawl/<version> (+project URL))")
	fs.StringArrayVar(&o.SensitiveHeaders, "sensitive-header", nil, "header NAME that carries credentials, like Authorization and Cookie: sent only to the inputs' origins (repeatable)")
	fs.BoolVar(&o.LocationTrusted, "location-trusted", false, "send Authorization, Cookie and other sensitive headers on redirects to other hosts too")
	fs.StringVar(&o.Proxy, "proxy", "", "proxy URL for every request (default: HTTPS_PROXY/HTTP_PROXY)")
	fs.BoolVar(&o.Cookies, "cookies", false, "keep cookies for the run")
	fs.BoolVar(&o.NoRobots, "no-robots", false, "ignore robots.txt")
	fs.BoolVar(&o.NoFallback, "no-fallback-http", false, "fetch a host given without a scheme (example.com/path) over https only; by default http is tried when https cannot connect")
	fs.BoolVar(&o.DenyPrivate, "deny-private", false, "refuse loopback, private and link-local addresses, redirects included")
	fs.StringArrayVar(&o.Selects, "select", nil, "custom field name=css or name=css@attr, all matches as an array (repeatable); URL attributes (href, src, ...) come out absolute, @html gives the inner HTML")
	fs.IntVar(&o.MaxLinks, "max-links", crawler.DefaultMaxLinks, "most links kept from one page; past it the record has links_truncated: true")
	fs.StringVarP(&o.Output, "output", "o", "", "write results to FILE instead of stdout")
	fs.StringVar(&o.Format, "format", "jsonl", "output format: jsonl, csv (-o FILE.csv means csv) or md (one Markdown file per page, with --output-dir); without either, a terminal gets one readable line per URL, anything else JSON Lines")
	fs.StringSliceVar(&o.Fields, "fields", nil, "output only these fields, in this order (CSV columns / JSON subset), or +a,+b to add fields to the default ones: "+strings.Join(crawler.OutputFields, ", ")+", error_kind, error_message, or a --select name")
	fs.StringVar(&o.Store, "store", "", "save each body under `DIR`/<host>/<sha256>.<ext> (one file per distinct body); the record's stored_path is its absolute path, for trawl extract --from")
	fs.StringVar(&o.OutputDir, "output-dir", "", "with --format md: write each page's main content to `DIR`/<host>/<path>.md, with a YAML front matter")
	fs.StringVar(&o.ContentSelector, "content-selector", "", "CSS selector of the main content (markdown, text): its matches, instead of readability's choice")
	fs.StringVar(&o.ExcludeSelector, "exclude-selector", "", "CSS selector of elements removed before the main content (markdown, text) is chosen")
	fs.StringVar(&o.MarkdownLinks, "markdown-links", "reference", markdownLinksHelp)
	fs.BoolVar(&o.CSVRaw, "csv-raw", false, "CSV: write cells starting with = + - @ tab or CR as they are, without the ' that stops spreadsheets running them as formulas")
	fs.StringVar(&o.Progress, "progress", "auto", "progress bar on stderr: auto (on a terminal, when the records go to -o FILE or a file), always or never")
	fs.BoolVarP(&o.Quiet, "quiet", "q", false, "no progress bar, no summary, no warnings on stderr")
	durationVar(fs, &o.MaxTime, "max-time", 0, "stop taking new URLs after this long, like a first Ctrl-C (0: no limit)")
	durationVar(fs, &o.Grace, "grace", 10*time.Second, "after a first signal or --max-time, time left to requests in flight (0: cancel them at once)")
	fs.BoolVar(&o.Resume, "resume", false, "continue an interrupted run into the same -o FILE without refetching done URLs")
	fs.StringVar(&o.Lock, "lock", "", "lock FILE: refuse to start while another run holds it (exit 3)")
	fs.StringVar(&o.Frontier, "frontier", "memory", "where the queue and seen set live: memory, or redis://[user:pass@]host:port/db to share the run between processes")
	fs.StringVar(&o.Run, "run", "", "name of the run shared on a --frontier redis://... (default: derived from the command and its inputs)")
	addReportFlags(fs, o)
	addSinceFlags(fs, o)
	addRenderFlags(fs, o)

	addWarcFlags(fs, &o.WarcOptions)
}

// addCrawlFlags defines the crawl-only flags on fs.
func addCrawlFlags(fs *pflag.FlagSet, o *RunOptions) {
	fs.StringVar(&o.Scope, "scope", "host", "links followed: host (the seeds' host and port), domain, prefix, any, or host-any-port")
	fs.StringArrayVar(&o.Include, "include", nil, "follow only URLs matching REGEX (repeatable)")
	fs.StringArrayVar(&o.Exclude, "exclude", nil, "never follow URLs matching REGEX (repeatable)")
	fs.IntVar(&o.Depth, "depth", 0, "deepest link depth followed; seeds are depth 0 (0: no limit)")
	fs.IntVar(&o.MaxPages, "max-pages", 0, "stop queueing new pages after N (0: no limit)")
	fs.BoolVar(&o.Sitemap, "sitemap", false, "also seed from sitemap.xml (robots.txt Sitemap: lines or /sitemap.xml)")
	fs.BoolVar(&o.NoLastmod, "no-lastmod", false, "with --sitemap and --since, request every page too (default: a page whose sitemap <lastmod> is older than its previous record is not requested, via: sitemap-lastmod)")
	fs.BoolVar(&o.ReportRemoved, "report-removed", false, "with --since, end a crawl that completed with a change: gone record (via: not-reached) for every previous page in scope it no longer reached")
}

// Validate checks and parses every flag. Errors name the flag and the
// value and make the command exit with ExitUsage.
func (o *RunOptions) Validate() error {
	var err error
	if err := o.defaultToStdin(); err != nil {
		return err
	}
	switch {
	case o.Concurrency < 1:
		return usageError("--concurrency must be at least 1, got %d", o.Concurrency)
	case o.PerHost < 1:
		return usageError("--per-host must be at least 1, got %d", o.PerHost)
	case o.Rate < 0:
		return usageError("--rate must not be negative, got %v", o.Rate)
	case o.Burst < 1:
		return usageError("--burst must be at least 1, got %d", o.Burst)
	case o.Burst > 1 && o.Rate == 0:
		return usageError("--burst %d needs --rate: without a rate there is nothing to burst over", o.Burst)
	case o.Timeout <= 0:
		return usageError("--timeout must be positive, got %v", o.Timeout)
	case o.Retries < 0:
		return usageError("--retries must not be negative, got %d", o.Retries)
	case o.MaxRetryAfter <= 0:
		return usageError("--max-retry-after must be positive, got %v", o.MaxRetryAfter)
	case o.MaxLinks < 1:
		return usageError("--max-links must be at least 1, got %d", o.MaxLinks)
	case o.MaxTime < 0:
		return usageError("--max-time must not be negative, got %v", o.MaxTime)
	case o.Grace < 0:
		return usageError("--grace must not be negative, got %v", o.Grace)
	case o.Format != "jsonl" && o.Format != "csv" && o.Format != "md":
		return usageError("--format must be jsonl, csv or md, got %q", o.Format)
	case o.Progress != "auto" && o.Progress != "always" && o.Progress != "never":
		return usageError("--progress must be auto, always or never, got %q", o.Progress)
	case o.Frontier != "memory" && !isRedisURL(o.Frontier):
		return usageError("--frontier %q: want memory or redis://[user:pass@]host:port/db", crawler.RedactURL(o.Frontier))
	case o.Run != "" && !isRedisURL(o.Frontier):
		return usageError("--run needs --frontier redis://...: only a shared frontier has named runs")
	case o.Run == "" && isRedisURL(o.Frontier) && slices.Contains(o.Args, "-"):
		return usageError("--frontier redis://... with standard input needs --run NAME: every process must name the same run")
	case o.Resume && o.Output == "":
		return usageError("--resume needs -o FILE: it continues the run written there")
	case o.Resume && o.Output == "-":
		return usageError("--resume needs -o FILE, not standard output: it reads what the run wrote there")
	case o.Resume && !isRegularOrMissing(o.Output):
		return usageError("--resume -o %s: not a regular file (a pipe, a device, a directory?): --resume reads what the run wrote there", o.Output)
	}
	if err := o.validateSince(); err != nil {
		return err
	}
	if err := o.validateRender(); err != nil {
		return err
	}
	if err := o.validateOutput(); err != nil {
		return err
	}
	if err := o.validateMarkdownDir(); err != nil {
		return err
	}
	if err := o.validateWarc(!o.NoRobots, o.UserAgent); err != nil {
		return err
	}
	if o.maxBody, err = ParseSize(o.MaxBody); err != nil || o.maxBody <= 0 {
		return usageError("--max-body %q: want a positive size such as 512KiB or 10MiB", o.MaxBody)
	}
	if o.queueMemory, err = ParseSize(o.QueueMemory); err != nil || o.queueMemory <= 0 {
		return usageError("--queue-memory %q: want a positive size such as 16MiB or 1GiB", o.QueueMemory)
	}
	if o.SpillDir != "" {
		if err := store.CheckSpillDir(o.SpillDir); err != nil {
			return usageError("--spill-dir %s: cannot write the queue there: %v", o.SpillDir, err)
		}
	}
	if o.header, err = parseHeaders(o.Headers); err != nil {
		return usageError("--header: %v", err)
	}
	if !httpguts.ValidHeaderFieldValue(o.UserAgent) {
		return usageError("--user-agent %q: a header value cannot hold a line break or control character", o.UserAgent)
	}
	for _, name := range o.SensitiveHeaders {
		if !httpguts.ValidHeaderFieldName(name) {
			return usageError("--sensitive-header %q: not a header name", name)
		}
	}
	if o.Proxy != "" {
		o.proxyURL, err = url.Parse(o.Proxy)
		if err != nil || o.proxyURL.Host == "" || (o.proxyURL.Scheme != "http" && o.proxyURL.Scheme != "https" && o.proxyURL.Scheme != "socks5") {
			return usageError("--proxy %q: want http://host:port, https://host:port or socks5://host:port", crawler.RedactURL(o.Proxy))
		}
	}
	for _, s := range o.Selects {
		sel, err := crawler.ParseSelector(s)
		if err != nil {
			return usageError("--select %q: %v", s, err)
		}
		o.selectors = append(o.selectors, sel)
	}
	if err := crawler.CheckSelectorNames(o.selectors); err != nil {
		return usageError("--select: %v", err)
	}
	if err := o.expandFields(); err != nil {
		return err
	}
	if err := o.validateContent(); err != nil {
		return err
	}
	if o.Crawl {
		if err := o.validateCrawl(); err != nil {
			return err
		}
	}
	if o.Inputs, err = crawler.ParseInputs(o.Args); err != nil {
		return usageError("%v", err)
	}
	return checkFileClashes(append(o.inputFiles(), o.sinceFiles()...), o.outputFiles())
}

func (o *RunOptions) validateCrawl() error {
	var err error
	if o.scopeMode, err = crawler.ParseScopeMode(o.Scope); err != nil {
		return usageError("--scope %q: want host, domain, prefix, any or host-any-port", o.Scope)
	}
	if o.Depth < 0 {
		return usageError("--depth must not be negative (0 means no limit), got %d", o.Depth)
	}
	if o.MaxPages < 0 {
		return usageError("--max-pages must not be negative, got %d", o.MaxPages)
	}
	for _, pats := range []struct {
		flag string
		in   []string
		out  *[]*regexp.Regexp
	}{{"--include", o.Include, &o.include}, {"--exclude", o.Exclude, &o.exclude}} {
		for _, p := range pats.in {
			re, err := regexp.Compile(p)
			if err != nil {
				return usageError("%s %q: %v", pats.flag, p, err)
			}
			*pats.out = append(*pats.out, re)
		}
	}
	return nil
}

// isRedisURL tells a --frontier that names a Redis server.
func isRedisURL(s string) bool {
	return strings.HasPrefix(s, "redis://") || strings.HasPrefix(s, "rediss://")
}

// runName is the name of the shared run: --run, or one derived from the
// command, its arguments (sorted) and the contents of its input files, so
// that the same command started on several machines joins the same run,
// and a changed input file starts a new one. Standard input cannot be
// read twice: with "-" among the inputs, --run is required (Validate).
func (o *RunOptions) runName() (string, error) {
	if o.Run != "" {
		return o.Run, nil
	}
	h := sha256.New()
	mode := "fetch"
	if o.Crawl {
		mode = "crawl"
	}
	fmt.Fprintf(h, "%s\x00", mode)
	for _, arg := range slices.Sorted(slices.Values(o.Args)) {
		fmt.Fprintf(h, "%s\x00", arg)
		if arg == "-" || slices.Contains(o.Inputs, crawler.Input{Name: arg, IsURL: true}) {
			continue
		}
		if err := hashFile(h, arg); err != nil {
			return "", err
		}
	}
	return fmt.Sprintf("%s-%x", mode, h.Sum(nil)[:6]), nil
}

func hashFile(w io.Writer, path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = io.Copy(w, f)
	return err
}

// parseHeaders parses "Name: value" headers.
func parseHeaders(hs []string) (http.Header, error) {
	h := http.Header{}
	for _, s := range hs {
		name, value, ok := strings.Cut(s, ":")
		name = strings.TrimSpace(name)
		if !ok || name == "" || strings.ContainsAny(name, " \t") {
			return nil, fmt.Errorf("%q is not \"Name: value\"", s)
		}
		if strings.ContainsAny(s, "\r\n") || !httpguts.ValidHeaderFieldName(name) || !httpguts.ValidHeaderFieldValue(strings.TrimSpace(value)) {
			return nil, fmt.Errorf("%q: a header cannot hold a line break or control character", s)
		}
		h.Add(name, strings.TrimSpace(value))
	}
	return h, nil
}

// ParseSize parses a byte size: a number with an optional unit B, KB, MB,
// GB (powers of 1000) or KiB, MiB, GiB (powers of 1024), case-insensitive;
// K, M, G alone mean the binary units.
func ParseSize(s string) (int64, error) {
	t := strings.TrimSpace(s)
	i := len(t)
	for i > 0 && (t[i-1] < '0' || t[i-1] > '9') && t[i-1] != '.' {
		i--
	}
	num, unit := t[:i], strings.ToLower(strings.TrimSpace(t[i:]))
	mult := map[string]float64{
		"": 1, "b": 1,
		"k": 1 << 10, "kib": 1 << 10, "kb": 1e3,
		"m": 1 << 20, "mib": 1 << 20, "mb": 1e6,
		"g": 1 << 30, "gib": 1 << 30, "gb": 1e9,
	}[unit]
	if mult == 0 {
		return 0, fmt.Errorf("size %q: unknown unit %q", s, unit)
	}
	f, err := strconv.ParseFloat(num, 64)
	if err != nil || f < 0 {
		return 0, fmt.Errorf("size %q: not a number", s)
	}
	return int64(f * mult), nil
}

// fetchConfig is the fetcher's configuration from the flags.
func (o *RunOptions) fetchConfig() crawler.Config {
	cfg := o.baseFetchConfig()
	cfg.MaxRetryAfter = o.MaxRetryAfter
	cfg.SensitiveHeaders = o.SensitiveHeaders
	cfg.LocationTrusted = o.LocationTrusted
	return cfg
}

// baseFetchConfig is the part of fetchConfig set field by field.
func (o *RunOptions) baseFetchConfig() crawler.Config {
	return crawler.Config{
		Timeout:            o.Timeout,
		MaxBody:            o.maxBody,
		Retries:            retriesValue(o.Retries),
		UserAgent:          o.UserAgent,
		Headers:            o.header,
		Proxy:              o.proxyURL,
		Cookies:            o.Cookies,
		DenyPrivate:        o.DenyPrivate,
		PerHost:            o.PerHost,
		Rate:               o.Rate,
		Burst:              o.Burst,
		IgnoreRobots:       o.NoRobots,
		Capture:            o.Warc != "",
		CaptureCredentials: o.WarcKeepCredentials,
	}
}

// proxyWarning is the warning for a run that combines --deny-private
// with a proxy (--proxy, or HTTP_PROXY/HTTPS_PROXY), or "".
func (o *RunOptions) proxyWarning() string {
	env := httpproxy.FromEnvironment()
	if !o.DenyPrivate || (o.proxyURL == nil && env.HTTPProxy == "" && env.HTTPSProxy == "") {
		return ""
	}
	return "trawl: warning: --deny-private with a proxy: targets are checked by resolving their names here; " +
		"the proxy resolves them again on its own, so a name whose address changes in between (DNS rebinding) can still reach a private address"
}

// retriesValue maps --retries to crawler.Config.Retries, where zero means
// the default and a negative number means none.
func retriesValue(n int) int {
	if n == 0 {
		return -1
	}
	return n
}

// wantProgress decides whether to draw the progress bar.
func (o *RunOptions) wantProgress() bool {
	switch {
	case o.Quiet || o.Progress == "never":
		return false
	case o.Progress == "always":
		return true
	}
	return o.progressAuto()
}

func runCmdE(o *RunOptions, runF func(*cobra.Command, *RunOptions) error) func(*cobra.Command, []string) error {
	return func(c *cobra.Command, args []string) error {
		o.Args = args
		o.formatSet = c.Flags().Changed("format")
		if err := o.Validate(); err != nil {
			return err
		}
		return runF(c, o)
	}
}

// contentRequested reports whether the output fields asked for include
// one of the main-content fields ([crawler.ContentFields]), which are
// computed only then.
func contentRequested(fields []string) bool {
	return slices.ContainsFunc(fields, func(f string) bool { return slices.Contains(crawler.ContentFields, f) })
}

// requestedFields are the fields named by --fields, in either form: the
// exact set, or the fields added to the default ones (+a,+b).
func (o *RunOptions) requestedFields() []string {
	return append(slices.Clip(o.Fields), o.addedFields...)
}

// contentOptions are the main-content options of the run.
func (o *RunOptions) contentOptions() crawler.ContentOptions {
	return crawler.ContentOptions{
		Enabled:         contentRequested(o.requestedFields()) || o.Format == "md",
		ContentSelector: o.ContentSelector,
		ExcludeSelector: o.ExcludeSelector,
		InlineLinks:     o.MarkdownLinks == "inline",
	}
}

// markdownLinksHelp is the help of --markdown-links.
const markdownLinksHelp = "how markdown writes links: reference ([text] in the prose, [text]: URL at the end; clean text, each URL once) or inline ([text](URL), for splitting the Markdown into chunks that keep their URLs)"

// validateContent checks --content-selector, --exclude-selector and
// --markdown-links.
func (o *RunOptions) validateContent() error {
	switch o.MarkdownLinks {
	case "", "reference", "inline":
	default:
		return usageError("--markdown-links %q: want reference or inline", o.MarkdownLinks)
	}
	for _, f := range []struct{ flag, sel string }{{"content-selector", o.ContentSelector}, {"exclude-selector", o.ExcludeSelector}} {
		if f.sel == "" {
			continue
		}
		if err := crawler.CheckContentSelector(f.sel); err != nil {
			return usageError("--%s: %v", f.flag, err)
		}
		if !contentRequested(o.requestedFields()) && o.Format != "md" {
			return usageError("--%s chooses the main content, which only the fields %s hold: ask for one with --fields (e.g. --fields +markdown)", f.flag, strings.Join(crawler.ContentFields, ", "))
		}
	}
	return nil
}

// isRegularOrMissing reports whether path is a regular file, or nothing.
func isRegularOrMissing(path string) bool {
	st, err := os.Stat(path)
	return errors.Is(err, os.ErrNotExist) || (err == nil && st.Mode().IsRegular())
}
