package cmd

import (
	"testing"

	"github.com/trawl-dev/trawl/crawler"
)

func TestPrettyLine(t *testing.T) {
	plain := &prettyOutput{}
	color := &prettyOutput{color: true}
	for _, tc := range []struct {
		p    *prettyOutput
		r    crawler.Result
		want string
	}{
		{plain, crawler.Result{URL: "https://a.test/", Status: 200, Title: "Home"}, "200  https://a.test/  Home"},
		{color, crawler.Result{URL: "https://a.test/", Status: 200, Title: "Home"}, "\x1b[32m200\x1b[0m  https://a.test/  Home"},
		{plain, crawler.Result{URL: "https://a.test/x", Status: 404, Error: &crawler.ResultError{Kind: crawler.KindHTTP, Message: "status 404"}}, "404  https://a.test/x"},
		{color, crawler.Result{URL: "https://a.test/x", Status: 503, Error: &crawler.ResultError{Kind: crawler.KindHTTP}}, "\x1b[31m503\x1b[0m  https://a.test/x"},
		{plain, crawler.Result{URL: "https://down.test/", Error: &crawler.ResultError{Kind: crawler.KindConnect, Message: "connection refused"}}, "---  https://down.test/  connect: connection refused"},
		{plain, crawler.Result{URL: "http://a.test/old", FinalURL: "https://a.test/new", Status: 200, Title: "New"}, "200  http://a.test/old -> https://a.test/new  New"},
		{plain, crawler.Result{URL: "https://a.test/", Status: 200, Title: "evil\x1b]0;pwned\x07\nline"}, `200  https://a.test/  evil\x1b]0;pwned\x07\nline`},
		{plain, crawler.Result{URL: "https://a.test/", Status: 200, Fields: map[string][]string{"price": {"1", "2"}, "a": {}}}, "200  https://a.test/  a=  price=1,2"},
	} {
		if got := tc.p.line(&tc.r); got != tc.want {
			t.Errorf("line(%+v) = %q, want %q", tc.r, got, tc.want)
		}
	}
}
