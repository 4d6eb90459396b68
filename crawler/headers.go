package crawler

import (
	"context"
	"fmt"
	"net/http"
	"net/url"

	"golang.org/x/net/http/httpguts"
)

// defaultSensitive are the headers that carry credentials whatever the
// configuration says, as curl treats them.
var defaultSensitive = []string{"Authorization", "Cookie", "Proxy-Authorization"}

// requestHeaders are the configured headers sorted by where they may go.
type requestHeaders struct {
	plain     http.Header     // to every host
	sensitive http.Header     // credentials: to trusted origins only
	host      string          // a configured Host header: the request's Host on trusted origins
	secret    map[string]bool // canonical names of the sensitive headers
}

// splitHeaders sorts cfg.Headers into plain and sensitive ones, takes the
// Host header out (Go sends req.Host, never a Host in the header map)
// and a User-Agent into cfg.UserAgent, where it replaces the default.
// A header name or value that could not be sent (a line break in it) is
// an error naming it.
func splitHeaders(cfg *Config) (requestHeaders, error) {
	secret := map[string]bool{}
	h := requestHeaders{plain: http.Header{}, sensitive: http.Header{}, secret: secret}
	for _, name := range append(defaultSensitive, cfg.SensitiveHeaders...) {
		secret[http.CanonicalHeaderKey(name)] = true
	}
	for name, values := range cfg.Headers {
		if !httpguts.ValidHeaderFieldName(name) {
			return h, fmt.Errorf("header name %q is not a valid token", name)
		}
		for _, v := range values {
			if !httpguts.ValidHeaderFieldValue(v) {
				return h, fmt.Errorf("header %s: value %q holds a line break or control character", name, v)
			}
		}
		key := http.CanonicalHeaderKey(name)
		switch {
		case key == "Host":
			h.host = values[len(values)-1]
		case key == "User-Agent":
			cfg.UserAgent = values[len(values)-1]
		case secret[key]:
			h.sensitive[key] = append(h.sensitive[key], values...)
		default:
			h.plain[key] = append(h.plain[key], values...)
		}
	}
	if !httpguts.ValidHeaderFieldValue(cfg.UserAgent) {
		return h, fmt.Errorf("user agent %q holds a line break or control character", cfg.UserAgent)
	}
	return h, nil
}

// apply sets the headers on req: the plain ones always, the sensitive
// ones and the Host only when o allows them for this hop.
func (h *requestHeaders) apply(req *http.Request, o fetchOptions) {
	for k, vs := range h.plain {
		req.Header[k] = append([]string(nil), vs...)
	}
	if o.secrets {
		for k, vs := range h.sensitive {
			req.Header[k] = append([]string(nil), vs...)
		}
	}
	if o.trusted && h.host != "" {
		req.Host = h.host
	}
}

// origin is the origin of u, "scheme://host:port", which credentials are
// bound to: scheme, host and port must all match (as curl does).
func origin(u *url.URL) string {
	return u.Scheme + "://" + hostKey(u)
}

// trustsStart reports whether a fetch starting at u may send credentials
// at all: with TrustedOrigins set, only to those origins; without, to the
// origin of every URL given to Fetch. A robots.txt fetched for a hop that
// may not carry them gets none either (see withoutSecrets).
func (f *Fetcher) trustsStart(ctx context.Context, u *url.URL) bool {
	if ctx.Value(noSecretsKey{}) != nil {
		return false
	}
	return f.trusted == nil || f.trusted[origin(u)]
}

// hopTrust sets in o what the hop to u may carry, for a fetch that
// started at start: the sensitive headers go to the start's origin and to
// the trusted origins, or anywhere with LocationTrusted; a configured
// Host, and credentials for the hop's robots.txt, only to the first two.
func (f *Fetcher) hopTrust(o fetchOptions, startTrusted bool, start, u *url.URL) fetchOptions {
	o.trusted = startTrusted && (u == start || origin(u) == origin(start) || f.trusted[origin(u)])
	o.secrets = o.trusted || (startTrusted && f.cfg.LocationTrusted)
	return o
}

// noSecretsKey marks a context whose fetches send no credentials.
type noSecretsKey struct{}

// withoutSecrets returns ctx marked so that fetches under it (the
// robots.txt of a hop that may not carry credentials) send none.
func withoutSecrets(ctx context.Context) context.Context {
	return context.WithValue(ctx, noSecretsKey{}, true)
}

// trustedOrigins returns the set of origins of urls, nil for nil urls.
// A URL that does not parse is never fetched and adds nothing.
func trustedOrigins(urls []string) map[string]bool {
	if urls == nil {
		return nil
	}
	set := make(map[string]bool, len(urls))
	for _, raw := range urls {
		if u, err := ParseURL(raw); err == nil {
			set[origin(u)] = true
		}
	}
	return set
}
