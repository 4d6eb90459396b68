package crawler

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/trawl-dev/trawl/structured"
)

// Subresource makes one request of a page rendered in a browser (a
// script, a stylesheet, an XHR or fetch call) for the render proxy, with
// the same rules as a page: robots.txt, the host's limits (a slot and a
// rate token), the dialer of [Config.DenyPrivate], Timeout for the whole
// exchange and MaxBody for the decoded body. Redirects are not followed:
// the browser follows them, and each hop comes back here.
//
// header is the browser's request header: its hop-by-hop and proxy
// fields are dropped, Accept-Encoding and User-Agent are trawl's, and
// none of the configured sensitive headers is added. The returned
// Response has the body decoded (no Content-Encoding left). Errors are
// *Error values as for Fetch; a status of 400 or more is not an error.
func (f *Fetcher) Subresource(ctx context.Context, method, rawURL string, header http.Header, body io.Reader) (*Response, error) {
	u, err := ParseURL(rawURL)
	if err != nil {
		return nil, err
	}
	if f.robots != nil {
		if err := f.checkRobots(withoutSecrets(ctx), u, nil); err != nil {
			return nil, err
		}
	}
	release, err := f.acquire(ctx, u, fetchOptions{})
	if err != nil {
		return nil, cancelled(ctx, u)
	}
	defer release()
	var resp *Response
	err = structured.FailAfter(ctx, f.cfg.Timeout, func(ctx context.Context) error {
		req, err := http.NewRequestWithContext(ctx, method, u.String(), body)
		if err != nil {
			return newError(KindInvalidURL, u.String(), err)
		}
		copySubresourceHeader(req.Header, header)
		f.headers.apply(req, fetchOptions{})
		req.Header.Set("User-Agent", f.cfg.UserAgent)
		req.Header.Set("Accept-Encoding", acceptEncoding)
		resp, err = f.subRoundTrip(ctx, u, req)
		return err
	})
	switch {
	case err == nil:
		return resp, nil
	case ctx.Err() != nil:
		return nil, cancelled(ctx, u)
	case errors.Is(err, structured.ErrTimeout):
		return nil, newError(KindTimeout, u.String(), fmt.Errorf("no complete response within %v", f.cfg.Timeout))
	}
	return nil, err
}

func (f *Fetcher) subRoundTrip(ctx context.Context, u *url.URL, req *http.Request) (*Response, error) {
	hr, err := f.client.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, newError(transportKind(err, false), u.String(), plainNetError(err))
	}
	defer structured.Shielded(ctx, time.Second, func(context.Context) error { return hr.Body.Close() })
	if loc, ok := hr.Header[hiddenLocation]; ok {
		hr.Header["Location"] = loc
		delete(hr.Header, hiddenLocation)
	}
	data, err := readBody(hr.Body, hr.Header.Get("Content-Encoding"), f.cfg.MaxBody, false)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		if bodyKind(err) == KindTooLarge {
			return nil, newError(KindTooLarge, u.String(), f.tooLarge(f.cfg.MaxBody))
		}
		return nil, newError(bodyKind(err), u.String(), err)
	}
	hr.Header.Del("Content-Encoding")
	hr.Header.Del("Content-Length")
	return &Response{URL: u.String(), FinalURL: u.String(), Status: hr.StatusCode, Header: hr.Header, Body: data, Proto: hr.Proto}, nil
}

// hopHeaders are the header fields of one connection or of the proxy
// leg, never forwarded (RFC 9110 section 7.6.1), and those trawl sets
// itself.
var hopHeaders = map[string]bool{
	"Connection": true, "Keep-Alive": true, "Proxy-Authenticate": true, "Proxy-Authorization": true,
	"Proxy-Connection": true, "Te": true, "Trailer": true, "Transfer-Encoding": true, "Upgrade": true,
	"Accept-Encoding": true, "User-Agent": true, "Host": true,
}

// copySubresourceHeader copies the browser's header fields to dst, less
// the hop-by-hop ones and those named in Connection.
func copySubresourceHeader(dst, src http.Header) {
	named := map[string]bool{}
	for _, v := range src.Values("Connection") {
		for _, f := range strings.Split(v, ",") {
			named[http.CanonicalHeaderKey(strings.TrimSpace(f))] = true
		}
	}
	for k, vs := range src {
		if hopHeaders[k] || named[k] {
			continue
		}
		dst[k] = append([]string(nil), vs...)
	}
}
