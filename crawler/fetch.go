package crawler

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptrace"
	"net/url"
	"sync"
	"time"

	"github.com/trawl-dev/trawl/ratelimit"
	"github.com/trawl-dev/trawl/structured"
	"github.com/trawl-dev/trawl/warc"
	"golang.org/x/net/publicsuffix"
)

// Version is trawl's version as it appears in the default User-Agent. The
// CLI sets it at start-up.
var Version = "dev"

// DefaultUserAgent returns the User-Agent trawl sends unless configured
// otherwise: "trawl/<version> (+https://github.com/trawl-dev/trawl)".
func DefaultUserAgent() string {
	return "trawl/" + Version + " (+https://github.com/trawl-dev/trawl)"
}

// Config sets how a [Fetcher] fetches. The zero value is a polite crawler
// with the defaults given field by field.
type Config struct {
	// Timeout bounds one attempt at one URL, headers and body together:
	// a server that dribbles its body is cut off. Zero means 30s.
	Timeout time.Duration
	// MaxBody is the most decoded body bytes kept; a longer body (after
	// decompression) fails with kind too_large. Zero means 10 MiB.
	MaxBody int64
	// MaxRedirects is the most redirects followed for one URL. Zero means
	// 10; negative means none are followed and the 3xx is the response.
	MaxRedirects int
	// Retries is how many times a network failure, a 429 or a 5xx is
	// retried, with backoff. Zero means 2; negative means no retries.
	Retries int
	// Backoff spaces out retries; the zero value is documented on
	// [ratelimit.Backoff].
	Backoff ratelimit.Backoff
	// MaxRetryAfter is the longest Retry-After honoured: a 429 or 503
	// asking for at most that long pauses its host that long and is
	// retried. One asking for longer is not honoured: the host is not
	// paused, the URL fails at once with kind rate_limited (its response
	// kept), and the run goes on. Zero means 10 minutes.
	MaxRetryAfter time.Duration
	// UserAgent is sent with every request. Empty means
	// [DefaultUserAgent]. A User-Agent in Headers replaces it.
	UserAgent string
	// Headers are added to every request, except the sensitive ones
	// (Authorization, Cookie, Proxy-Authorization and SensitiveHeaders),
	// which carry credentials and go only to trusted origins (see
	// TrustedOrigins), and Host, which sets the Host of requests to those
	// origins only. A name or value with a line break is an error of
	// [NewFetcher].
	Headers http.Header
	// SensitiveHeaders names more headers of Headers to treat as
	// credentials, as Authorization is.
	SensitiveHeaders []string
	// TrustedOrigins, when not nil, are URLs whose origins (scheme, host
	// and port) the sensitive headers are sent to: the seeds of a crawl.
	// When nil, each fetch sends them to the origin of the URL it was
	// given (list mode: every input). Either way a redirect to another
	// origin, and the robots.txt of such an origin, get none of them.
	TrustedOrigins []string
	// LocationTrusted sends the sensitive headers on redirects to other
	// origins too, like curl's --location-trusted. The Host header stays
	// with the trusted origins.
	LocationTrusted bool
	// Proxy is the proxy for every request. Nil means the environment's
	// (HTTPS_PROXY, HTTP_PROXY, NO_PROXY).
	Proxy *url.URL
	// Cookies keeps cookies for the run in a jar shared by all requests,
	// with limits: 50 cookies set by one host, 3,000 in all, a Cookie
	// header of at most 8 KiB.
	Cookies bool
	// DenyPrivate refuses connections to loopback, private, link-local,
	// CGNAT, unspecified and multicast addresses (and IPv6 addresses
	// embedding such an IPv4 one), checked on the resolved address when
	// dialing, for every redirect too (kind denied_private). With a proxy
	// the target is checked before the request is handed to the proxy:
	// a literal IP as is, a name by resolving it here; the proxy then
	// resolves it again on its own, which DNS rebinding can exploit. The
	// proxy's own address is not checked.
	DenyPrivate bool
	// PerHost is the most requests in flight to one host. Zero means 2;
	// negative means unlimited.
	PerHost int
	// Rate is requests per second per host. Zero means unlimited.
	Rate float64
	// Burst is the per-host burst for Rate. Zero means 1.
	Burst int
	// IgnoreRobots skips robots.txt entirely.
	IgnoreRobots bool
	// RobotsTimeout bounds one attempt at a robots.txt. Zero means 10s.
	// The whole robots.txt fetch, retries and redirects included, takes
	// at most Timeout besides waiting for the host's turn.
	RobotsTimeout time.Duration
	// CheckRedirect, when set, is asked about every redirect before it is
	// followed; an error stops the fetch with kind out_of_scope, unless it
	// is an *Error with a kind of its own. The crawl scope plugs in here.
	CheckRedirect func(from, to *url.URL) error
	// Limiter, when set, is the per-host limiter to use, shared with other
	// fetchers; PerHost, Rate and Burst are then ignored for limiting.
	Limiter *ratelimit.HostLimiter
	// SharedLimiter, when set, is a per-host limit shared with other
	// processes, waited on after the fetcher's own (ignored when Limiter
	// is set: put it in that limiter's config).
	SharedLimiter ratelimit.Shared
	// Capture records every request and response as they go over the
	// wire, for a WARC archive: requests are made over HTTP/1.1 only, and
	// under a context from [WithCapture] each one is recorded as an
	// [Exchange]. An https request through a proxy gets its tunnel from
	// the fetcher, so that it is recorded like a direct one; a plain http
	// request through a proxy is recorded with its absolute-form request
	// line, without the Proxy-Authorization sent to the proxy. The values
	// of the sensitive headers (Authorization, Cookie,
	// Proxy-Authorization and SensitiveHeaders) are recorded as "***",
	// unless CaptureCredentials is set.
	Capture bool
	// CaptureCredentials records the sensitive headers' values in the
	// request records as they were sent (a proxy's own credentials are
	// never recorded).
	CaptureCredentials bool
	// Transport, when set, replaces the fetcher's own HTTP transport
	// (tests use it to run without a network). DenyPrivate and Proxy are
	// then up to it.
	Transport http.RoundTripper

	rootCAs *x509.CertPool // tests: the roots TLS trusts instead of the system's
}

// withDefaults returns cfg with its zero values replaced by the defaults.
func (cfg Config) withDefaults() Config {
	if cfg.Timeout <= 0 {
		cfg.Timeout = 30 * time.Second
	}
	if cfg.MaxBody <= 0 {
		cfg.MaxBody = 10 << 20
	}
	if cfg.MaxRedirects == 0 {
		cfg.MaxRedirects = 10
	}
	if cfg.Retries == 0 {
		cfg.Retries = 2
	}
	cfg.Retries = max(cfg.Retries, 0)
	if cfg.MaxRetryAfter <= 0 {
		cfg.MaxRetryAfter = 10 * time.Minute
	}
	if cfg.UserAgent == "" {
		cfg.UserAgent = DefaultUserAgent()
	}
	if cfg.PerHost == 0 {
		cfg.PerHost = 2
	}
	if cfg.RobotsTimeout <= 0 {
		cfg.RobotsTimeout = 10 * time.Second
	}
	return cfg
}

// A Fetcher fetches URLs politely: per-host limits, robots.txt, retries
// with backoff, redirects checked hop by hop, bounded time and memory for
// each response. It is safe for concurrent use; create one per run and
// Close it at the end.
type Fetcher struct {
	cfg       Config
	client    *http.Client
	transport *rotatingTransport // nil when Config.Transport replaced it
	limiter   *ratelimit.HostLimiter
	robots    *robotsCache // nil when robots.txt is ignored
	headers   requestHeaders
	trusted   map[string]bool // origins given credentials; nil: each fetch's own
	masked    map[string]bool // headers whose values request records show as ***
}

// NewFetcher returns a Fetcher for cfg.
func NewFetcher(cfg Config) (*Fetcher, error) {
	cfg = cfg.withDefaults()
	headers, err := splitHeaders(&cfg)
	if err != nil {
		return nil, err
	}
	f := &Fetcher{cfg: cfg, limiter: cfg.Limiter, headers: headers, trusted: trustedOrigins(cfg.TrustedOrigins)}
	if !cfg.CaptureCredentials {
		f.masked = headers.secret
	}
	rt := cfg.Transport
	if rt == nil {
		f.transport = newRotatingTransport(newTransport(&cfg), rotateAfterErrors)
		rt = f.transport
	}
	f.client = &http.Client{
		Transport: locationHider{rt},
		// Redirects are followed by Fetch, one checked hop at a time.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	if cfg.Cookies {
		jar, err := cookiejar.New(&cookiejar.Options{PublicSuffixList: publicsuffix.List})
		if err != nil {
			return nil, fmt.Errorf("create cookie jar: %w", err)
		}
		f.client.Jar = newBoundedJar(jar)
	}
	if f.limiter == nil {
		f.limiter = ratelimit.New(ratelimit.Config{Rate: cfg.Rate, Burst: cfg.Burst, PerHost: max(cfg.PerHost, 0), Shared: cfg.SharedLimiter})
	}
	if !cfg.IgnoreRobots {
		f.robots = newRobotsCache()
	}
	return f, nil
}

// Limiter returns the per-host limiter the fetcher waits on.
func (f *Fetcher) Limiter() *ratelimit.HostLimiter { return f.limiter }

// Close closes the fetcher's idle connections. Fetches still running are
// not affected.
func (f *Fetcher) Close() {
	if f.transport != nil {
		f.transport.CloseIdleConnections()
	}
}

// Response is what came back for one URL, after redirects and retries.
// The connection facts are also typed attributes ([AttrRemoteAddr],
// [AttrProto], [AttrTLSVersion], [AttrConnReused]) for [structured.Extra].
type Response struct {
	// URL is the URL as given to Fetch.
	URL string
	// FinalURL is the normalised URL of the last hop.
	FinalURL string
	// Status is the HTTP status of the last response.
	Status int
	// Header is the last response's header.
	Header http.Header
	// Body is the last response's body, decompressed, at most MaxBody
	// bytes. Read it with a bytes.Reader.
	Body []byte
	// Redirects lists the URLs redirected to, in order.
	Redirects []string
	// Attempts counts the requests made for the last hop (1 without
	// retries).
	Attempts int
	// Elapsed is the time from the call of Fetch to its return.
	Elapsed time.Duration
	// RemoteAddr is the peer's address, "ip:port".
	RemoteAddr string
	// Proto is the response's protocol, "HTTP/1.1" or "HTTP/2.0".
	Proto string
	// TLSVersion is the negotiated TLS version, "TLS 1.3", or empty.
	TLSVersion string

	attrs structured.AttributeSet
}

// ContentType returns the Content-Type header of the response.
func (r *Response) ContentType() string { return r.Header.Get("Content-Type") }

// ExtraAttribute implements [structured.AttributeProvider].
func (r *Response) ExtraAttribute(key any) (any, bool) { return r.attrs.ExtraAttribute(key) }

// fetchOptions are what differs between fetching a page and fetching a
// robots.txt.
type fetchOptions struct {
	robots       bool // check robots.txt and hops with CheckRedirect
	timeout      time.Duration
	maxBody      int64
	cutBody      bool // a longer body is cut at maxBody instead of failing
	maxRedirects int
	retries      int
	secrets      bool // this hop may carry the sensitive headers
	trusted      bool // this hop is on a trusted origin: configured Host, robots.txt with credentials
	// budget, when positive, bounds the time the whole fetch spends on
	// the network and in backoff, attempts and redirects together;
	// waiting for the host's turn in the limiter is not counted. left is
	// what remains of it, shared by the hops and attempts of one fetch.
	budget time.Duration
	left   *time.Duration
	// turn, when not nil, is the host's turn taken ahead (see FetchTurn);
	// with shareTurn, the fetch (a robots.txt) runs within its slot.
	turn      *ratelimit.Turn
	shareTurn bool
}

// spend takes d off the fetch's budget, if it has one.
func (o fetchOptions) spend(d time.Duration) {
	if o.left != nil {
		*o.left -= d
	}
}

// affords reports whether the budget, if any, has more than wait left:
// time to wait and then try again.
func (o fetchOptions) affords(wait time.Duration) bool {
	return o.left == nil || *o.left > wait
}

// Fetch fetches rawURL: it waits for the host's limits, checks robots.txt,
// follows redirects (each hop checked again) and retries failures, then
// returns the final response with its body read and decoded.
//
// A failure is an *Error whose kind says what went wrong. When a response
// was received it comes back too: with a final status of 400 or more the
// error has kind http and the Response carries the status, headers and
// body; with a redirect error it is the redirecting response. If ctx is
// cancelled the error has kind cancelled. The host's slot is released and
// every body closed before Fetch returns, whatever happened.
func (f *Fetcher) Fetch(ctx context.Context, rawURL string) (*Response, error) {
	return f.FetchTurn(ctx, rawURL, nil)
}

// FetchTurn is Fetch for a request whose host's turn (a slot and a rate
// token) was taken ahead by the scheduler (see [Fetcher.Schedule]); a nil
// turn makes it plain Fetch. The rule for the requests of one fetch:
//
//   - The first attempt at the page on the turn's host uses the turn and
//     does not wait for the host's limits (but see
//     [ratelimit.HostLimiter.UseTurn] for a Crawl-delay learned just
//     before it).
//   - A robots.txt read first for the page runs within the turn's slot,
//     before the page, and takes no rate token of its own (one small
//     request per host and day); it waits out a Retry-After pause.
//   - Every later request (a retry, a redirect hop) waits for the limiter
//     as without a turn ([Fetcher.FetchStep] returns instead, for the
//     caller's schedule to give it its host's turn).
//
// The turn's slot is released when the attempt that used it is over; the
// caller should still Release the turn once FetchTurn returns, for when
// no attempt used it.
func (f *Fetcher) FetchTurn(ctx context.Context, rawURL string, turn *ratelimit.Turn) (*Response, error) {
	o := f.pageOptions()
	o.turn = turn
	return f.fetch(ctx, rawURL, o)
}

// A Continuation is a page's fetch that stopped before a request it
// could not make at once, to let its caller do other work meanwhile (see
// [Fetcher.FetchStep]): a retry whose backoff is not over, or that waits
// for its host's pause (a Retry-After) to end, or a redirect hop, which
// needs its host's turn. It holds everything the fetch had: the redirect
// chain, the URLs seen, the attempts made at the current URL and the
// trust of the start URL's origin (for the sensitive headers).
type Continuation struct{ st *fetchState }

// URL returns the URL of the next request: its host's turn is the one to
// pass to [Fetcher.FetchStep] to go on.
func (c *Continuation) URL() string { return c.st.u.String() }

// NotBefore returns the earliest time the next request may be made: a
// retry's backoff; a pause of the host is the limiter's to tell.
func (c *Continuation) NotBefore() time.Time { return c.st.at }

// Size approximates the memory the continuation takes.
func (c *Continuation) Size() int64 {
	n := int64(256 + len(c.st.rawURL))
	for _, r := range c.st.redirects {
		n += 2*int64(len(r)) + 64 // in redirects and in seen
	}
	return n
}

// fetchState is where a fetch is: the hop it is at, the chain so far and
// the attempts made at the hop.
type fetchState struct {
	rawURL       string
	start        time.Time
	o            fetchOptions // o.left points to left
	left         time.Duration
	u, first     *url.URL
	startTrusted bool
	seen         map[string]bool
	redirects    []string
	attempt      int       // attempts made at u
	checked      bool      // robots.txt was checked for u
	yield        bool      // stop instead of waiting (FetchStep)
	at           time.Time // when yielded: not before
}

// FetchStep is [Fetcher.FetchTurn] for a caller that does other work
// while a fetch must wait: instead of waiting for a retry's backoff, for
// its host's pause, or for the turn of the host of a redirect hop (or a
// retry), it returns a [Continuation], with no response and no error. The
// caller passes it back, with the turn of the host of its URL (taken no
// earlier than its NotBefore) and rawURL ignored, to go on; the fetch
// then makes its next request on that turn, as FetchTurn makes its first.
// The response of a fetch that went through continuations is the one
// FetchTurn would have returned: its attempts, redirects and elapsed time
// count from the first call. A robots.txt fetch still waits within the
// call.
func (f *Fetcher) FetchStep(ctx context.Context, rawURL string, turn *ratelimit.Turn, c *Continuation) (*Response, *Continuation, error) {
	st := (*fetchState)(nil)
	if c != nil {
		st = c.st
	} else {
		var err error
		st, err = f.newFetch(ctx, rawURL, f.pageOptions())
		if err != nil {
			return nil, nil, err
		}
		st.yield = true
	}
	resp, yielded, err := f.step(ctx, st, turn)
	if yielded {
		return nil, &Continuation{st}, nil
	}
	return resp, nil, err
}

// StartLater returns a fetch of rawURL as [Fetcher.FetchStep] starts it,
// that has made no request yet: a Continuation to pass to FetchStep with
// the turn of rawURL's host, for a caller that has no turn yet and would
// rather not wait for one. It fails only for a URL that cannot be parsed.
func (f *Fetcher) StartLater(ctx context.Context, rawURL string) (*Continuation, error) {
	st, err := f.newFetch(ctx, rawURL, f.pageOptions())
	if err != nil {
		return nil, err
	}
	st.yield, st.at = true, time.Now()
	return &Continuation{st}, nil
}

// pageOptions are the options of a page's fetch.
func (f *Fetcher) pageOptions() fetchOptions {
	return fetchOptions{
		robots:       true,
		timeout:      f.cfg.Timeout,
		maxBody:      f.cfg.MaxBody,
		maxRedirects: f.cfg.MaxRedirects,
		retries:      f.cfg.Retries,
	}
}

func (f *Fetcher) fetch(ctx context.Context, rawURL string, o fetchOptions) (*Response, error) {
	st, err := f.newFetch(ctx, rawURL, o)
	if err != nil {
		return nil, err
	}
	resp, _, err := f.step(ctx, st, o.turn)
	return resp, err
}

// newFetch starts a fetch of rawURL.
func (f *Fetcher) newFetch(ctx context.Context, rawURL string, o fetchOptions) (*fetchState, error) {
	u, err := ParseURL(rawURL)
	if err != nil {
		return nil, err
	}
	st := &fetchState{rawURL: rawURL, start: time.Now(), o: o, u: u, first: u, startTrusted: f.trustsStart(ctx, u),
		seen: map[string]bool{u.String(): true}}
	st.o.turn = nil // passed to step
	if o.budget > 0 {
		st.left = o.budget
		st.o.left = &st.left
	}
	return st, nil
}

// step goes on with the fetch st, its next request on turn (when not
// nil), until the final response or error, or, when st.yield is set,
// until a request must wait (yielded: st.at says until when).
func (f *Fetcher) step(ctx context.Context, st *fetchState, turn *ratelimit.Turn) (resp *Response, yielded bool, err error) {
	for {
		o := f.hopTrust(st.o, st.startTrusted, st.first, st.u)
		o.turn = turn
		resp, yielded, err := f.fetchHop(ctx, st, o)
		if yielded {
			return nil, true, nil
		}
		if resp != nil {
			resp.URL, resp.Redirects, resp.Elapsed = st.rawURL, st.redirects, time.Since(st.start)
		}
		if err != nil {
			return resp, false, err
		}
		next, err := f.nextHop(st.u, resp, st.o, st.seen, len(st.redirects))
		if next == nil || err != nil {
			return resp, false, err
		}
		st.redirects = append(st.redirects, next.String())
		st.u, st.attempt, st.checked = next, 0, false
		if st.yield {
			// The hop needs its host's turn: the caller's schedule
			// gives it.
			st.at = time.Now()
			return nil, true, nil
		}
	}
}

// nextHop returns where resp redirects to, nil if it does not or if
// redirects are not followed, or the error that stops the chain.
func (f *Fetcher) nextHop(u *url.URL, resp *Response, o fetchOptions, seen map[string]bool, n int) (*url.URL, error) {
	switch resp.Status {
	case http.StatusMovedPermanently, http.StatusFound, http.StatusSeeOther,
		http.StatusTemporaryRedirect, http.StatusPermanentRedirect:
	default:
		return nil, nil
	}
	loc := resp.Header.Get("Location")
	if loc == "" || o.maxRedirects < 0 {
		return nil, nil
	}
	next, err := resolveReference(u, loc)
	if err != nil {
		return nil, newError(KindInvalidURL, u.String(), fmt.Errorf("bad redirect location %q: %w", loc, err))
	}
	if n >= o.maxRedirects {
		return nil, newError(KindTooManyRedirects, u.String(), fmt.Errorf("more than %d redirects", o.maxRedirects))
	}
	if seen[next.String()] {
		return nil, newError(KindRedirectLoop, u.String(), fmt.Errorf("redirect back to %s", next))
	}
	seen[next.String()] = true
	if o.robots && f.cfg.CheckRedirect != nil {
		if err := f.cfg.CheckRedirect(u, next); err != nil {
			if KindOf(err) != "" {
				return nil, err
			}
			return nil, newError(KindOutOfScope, next.String(), err)
		}
	}
	return next, nil
}

// fetchHop fetches st.u without following redirects: robots.txt first,
// then attempts until one succeeds, fails for good or the retries run
// out. With st.yield it returns yielded instead of waiting to retry.
func (f *Fetcher) fetchHop(ctx context.Context, st *fetchState, o fetchOptions) (resp *Response, yielded bool, err error) {
	u := st.u
	if o.robots && f.robots != nil && !st.checked {
		rctx := ctx
		if !o.trusted {
			rctx = withoutSecrets(ctx) // even with LocationTrusted
		}
		if err := f.checkRobots(rctx, u, o.turn); err != nil {
			return nil, false, err
		}
	}
	st.checked = true
	for ; ; st.attempt++ {
		attempt := st.attempt
		resp, release, err := f.attempt(ctx, u, o)
		// The host's slot is held until the outcome is judged, so that a
		// Retry-After pauses the host before its next request may start.
		wait, retry, refused := f.retryWait(u, resp, err, attempt)
		release()
		if refused > 0 {
			resp.Attempts = attempt + 1
			return resp, false, newError(KindRateLimited, u.String(), fmt.Errorf("status %d with Retry-After %v, more than the %v honoured",
				resp.Status, refused, f.cfg.MaxRetryAfter))
		}
		if !retry || attempt >= o.retries || !o.affords(wait) {
			resp, err := finish(u, resp, err, attempt+1)
			return resp, false, err
		}
		if st.yield {
			// The retry waits for its backoff, or for the host's pause,
			// outside the caller's worker; the response is dropped as it
			// is when waiting here.
			st.attempt, st.at = attempt+1, time.Now().Add(wait)
			o.spend(wait)
			return nil, true, nil
		}
		if err := structured.Sleep(ctx, wait); err != nil {
			return nil, false, cancelled(ctx, u)
		}
		o.spend(wait)
	}
}

// finish turns a final status of 400 or more into an error of kind http,
// keeping the response.
func finish(u *url.URL, resp *Response, err error, attempts int) (*Response, error) {
	if resp == nil {
		return nil, err
	}
	resp.Attempts = attempts
	if err == nil && resp.Status >= 400 {
		err = newError(KindHTTP, u.String(), fmt.Errorf("status %d %s", resp.Status, http.StatusText(resp.Status)))
	}
	return resp, err
}

// retryWait decides whether the outcome of attempt is worth another try
// and how long to wait first. A Retry-After on a 429 or 503 pauses the
// whole host, so the wait happens in the limiter for every URL of that
// host, not here, and the wait returned is 0. A Retry-After longer than
// MaxRetryAfter is not honoured: the host is not paused, and refused is
// that Retry-After, for the caller to fail the URL with.
func (f *Fetcher) retryWait(u *url.URL, resp *Response, err error, attempt int) (wait time.Duration, retry bool, refused time.Duration) {
	if err != nil {
		return f.cfg.Backoff.Delay(attempt), retryableKind(KindOf(err)), 0
	}
	if !retryableStatus(resp.Status) {
		return 0, false, 0
	}
	if resp.Status == http.StatusTooManyRequests || resp.Status == http.StatusServiceUnavailable {
		now := time.Now()
		if after, ok := parseRetryAfter(resp.Header.Get("Retry-After"), now); ok {
			if after > f.cfg.MaxRetryAfter {
				return 0, false, after
			}
			f.limiter.PauseUntil(hostKey(u), now.Add(after))
			return 0, true, 0
		}
	}
	return f.cfg.Backoff.Delay(attempt), true, 0
}

// attempt makes one request for u within the host's limits and the
// attempt's deadline. It returns the release of the host's slot, which
// the caller calls once it has judged the outcome (never nil).
func (f *Fetcher) attempt(ctx context.Context, u *url.URL, o fetchOptions) (*Response, func(), error) {
	if o.left != nil && *o.left <= 0 {
		return nil, func() {}, newError(KindTimeout, u.String(), fmt.Errorf("no complete response within %v for the whole fetch", o.budget))
	}
	release, err := f.acquire(ctx, u, o)
	if err != nil {
		return nil, func() {}, cancelled(ctx, u)
	}
	timeout := o.timeout
	if o.left != nil {
		timeout = min(timeout, *o.left)
	}
	var resp *Response
	start := time.Now()
	err = structured.FailAfter(ctx, timeout, func(ctx context.Context) error {
		var err error
		resp, err = f.roundTrip(ctx, u, o)
		return err
	})
	o.spend(time.Since(start))
	switch {
	case err == nil:
		return resp, release, nil
	case resp != nil && KindOf(err) == KindTooLarge:
		return resp, release, err // the status and headers came: the record keeps them
	case ctx.Err() != nil:
		return nil, release, cancelled(ctx, u)
	case errors.Is(err, structured.ErrTimeout),
		// A deadline set on a connection from the request's (a proxy's
		// CONNECT) may fire a moment before the scope says it expired.
		errors.Is(err, context.DeadlineExceeded) && time.Since(start) >= timeout:
		return nil, release, newError(KindTimeout, u.String(), fmt.Errorf("no complete response within %v", timeout))
	}
	return nil, release, err
}

// cancelled is the error for a fetch stopped by ctx.
func cancelled(ctx context.Context, u *url.URL) error {
	return newError(KindCancelled, u.String(), context.Cause(ctx))
}

// connFacts collects what httptrace reports about the connection, and,
// when capturing, attaches the request's tap to it.
type connFacts struct {
	mu         sync.Mutex
	got        bool
	remote     string
	reused     bool
	tlsVersion string // of a TLS connection the capturing dialer made

	tap              *tap // nil unless capturing
	scheme, hostport string
	conn             *tapConn // the connection tap is attached to
}

func (c *connFacts) gotConn(info httptrace.GotConnInfo) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.got, c.reused = true, info.Reused
	if addr := info.Conn.RemoteAddr(); addr != nil {
		c.remote = addr.String()
	}
	tc, ok := info.Conn.(*tapConn)
	if !ok {
		return
	}
	c.tlsVersion = tc.tlsVersion
	if c.tap != nil && tc.capturable(c.scheme, c.hostport) {
		if c.conn != nil && c.conn != tc {
			c.conn.detach(c.tap) // a retry on another connection: the tap is reused, so no stale one may write to it
		}
		c.tap.date = time.Now()
		c.tap.ip, _, _ = net.SplitHostPort(c.remote)
		c.conn = tc
		tc.attach(c.tap)
	}
}

// endCapture detaches the request's tap from its connection and records
// its exchange, when a whole response header came.
func (c *connFacts) endCapture(log *captureLog, u *url.URL, truncated *string, masked map[string]bool) {
	c.mu.Lock()
	t, conn := c.tap, c.conn
	c.mu.Unlock()
	if conn == nil {
		return
	}
	conn.detach(t)
	if _, _, err := warc.SplitHTTP(t.resp.Bytes()); err != nil || t.req.Len() == 0 {
		return // no response to archive
	}
	if *truncated == "" && t.overflow {
		*truncated = "length"
	}
	// The URL as the records name it, a password redacted; the request
	// record keeps what was sent, but for a proxy's credentials and the
	// values of the masked headers.
	log.add(&Exchange{URL: RedactURL(u.String()), Date: t.date, IP: t.ip, Request: recordedRequest(t.req.Bytes(), masked), Response: t.resp.Bytes(), Truncated: *truncated, tap: t})
}

// roundTrip sends one GET for u and reads the body. When ctx ends, it
// returns ctx's error as is, so that the caller's FailAfter can tell its
// own deadline from an outer cancellation.
func (f *Fetcher) roundTrip(ctx context.Context, u *url.URL, o fetchOptions) (*Response, error) {
	facts := &connFacts{}
	truncated := "" // why the captured response is cut short
	if log := captureFrom(ctx); log != nil && f.cfg.Capture {
		facts.tap = newTap(int(min(o.maxBody, 1<<30)) + 2*maxHeaderBytes)
		facts.scheme, facts.hostport = u.Scheme, hostKey(u)
		defer facts.endCapture(log, u, &truncated, f.masked) // after the body is closed
	}
	tctx := httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{GotConn: facts.gotConn})
	req, err := http.NewRequestWithContext(tctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, newError(KindInvalidURL, u.String(), err)
	}
	f.headers.apply(req, o)
	setConditional(ctx, req)
	req.Header.Set("User-Agent", f.cfg.UserAgent)
	req.Header.Set("Accept-Encoding", acceptEncoding)
	if req.Header.Get("Accept") == "" {
		req.Header.Set("Accept", "text/html,application/xhtml+xml,*/*;q=0.8")
	}
	hr, err := f.client.Do(req)
	if err != nil {
		truncated = "disconnect"
		if ctx.Err() != nil {
			truncated = "time"
			return nil, ctx.Err()
		}
		facts.mu.Lock()
		got := facts.got
		facts.mu.Unlock()
		return nil, newError(transportKind(err, got), u.String(), plainNetError(err))
	}
	defer structured.Shielded(ctx, time.Second, func(context.Context) error { return hr.Body.Close() })
	if loc, ok := hr.Header[hiddenLocation]; ok {
		hr.Header["Location"] = loc
		delete(hr.Header, hiddenLocation)
	}
	body, err := readBody(hr.Body, hr.Header.Get("Content-Encoding"), o.maxBody, o.cutBody)
	if o.cutBody && err == nil && int64(len(body)) >= o.maxBody {
		truncated = "length"
	}
	if err != nil {
		truncated = "disconnect"
		if ctx.Err() != nil {
			truncated = "time"
			return nil, ctx.Err()
		}
		if bodyKind(err) == KindTooLarge {
			truncated = "length"
			// The response came: its status and headers are kept, its
			// body is not.
			return newResponse(u, hr, nil, facts), newError(KindTooLarge, u.String(), f.tooLarge(o.maxBody))
		}
		return nil, newError(bodyKind(err), u.String(), err)
	}
	return newResponse(u, hr, body, facts), nil
}

// hiddenLocation is where locationHider keeps a response's Location
// header; no header received can have this name.
const hiddenLocation = ":location"

// locationHider keeps a response's Location header from http.Client,
// which parses it with net/url before CheckRedirect can stop it and fails
// on locations browsers follow (":a", "http://f:b/"): Fetch resolves it
// itself, the WHATWG way (resolveReference), after roundTrip puts it
// back.
type locationHider struct{ rt http.RoundTripper }

// RoundTrip implements [http.RoundTripper].
func (l locationHider) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := l.rt.RoundTrip(r)
	if resp != nil && resp.Header != nil {
		if loc, ok := resp.Header["Location"]; ok {
			resp.Header[hiddenLocation] = loc
			delete(resp.Header, "Location")
		}
	}
	return resp, err
}

// bodyKind is the kind of a readBody error.
func bodyKind(err error) Kind {
	var be *bodyError
	if errors.As(err, &be) {
		return be.kind
	}
	return KindReset
}

// newResponse builds the Response for one received reply.
func newResponse(u *url.URL, hr *http.Response, body []byte, facts *connFacts) *Response {
	facts.mu.Lock()
	remote, reused, tlsVersion := facts.remote, facts.reused, facts.tlsVersion
	facts.mu.Unlock()
	r := &Response{
		FinalURL:   u.String(),
		Status:     hr.StatusCode,
		Header:     hr.Header,
		Body:       body,
		RemoteAddr: remote,
		Proto:      hr.Proto,
	}
	if hr.TLS != nil {
		tlsVersion = tlsVersionName(hr.TLS.Version)
	}
	if tlsVersion != "" {
		r.TLSVersion = tlsVersion
		structured.SetAttribute(&r.attrs, AttrTLSVersion, r.TLSVersion)
	}
	if remote != "" {
		structured.SetAttribute(&r.attrs, AttrRemoteAddr, remote)
	}
	structured.SetAttribute(&r.attrs, AttrProto, r.Proto)
	structured.SetAttribute(&r.attrs, AttrConnReused, reused)
	return r
}
