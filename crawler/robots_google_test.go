package crawler

import (
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
)

// The cases below are transcribed from Google's robots.txt parser tests,
// robots_test.cc in github.com/google/robotstxt (file as of commit
// a67394c800908229d21e58b0ae802830608c9a5e), Copyright 2019 Google LLC,
// licensed under the Apache License, Version 2.0
// (https://www.apache.org/licenses/LICENSE-2.0). The robots.txt texts,
// user agents, URLs and expectations are Google's; the Go table is ours.
// Google's IsValidUserAgentToObey, GetPathParamsQuery and
// MaybeEscapePattern checks test helpers of its C++ API that trawl does
// not have (trawl's own product token is fixed, URLs are normalised by
// ParseURL) and are not transcribed.

// googleCase is one EXPECT of an IsUserAgentAllowed check: whether
// Google's matcher lets agent fetch url under robots.
type googleCase struct {
	test    string // the TEST of robots_test.cc
	robots  string
	agent   string
	url     string
	allowed bool
	// decline, when set, is why trawl answers differently, following
	// RFC 9309 where Google's expectation departs from it; the tests
	// then check that trawl gives the other answer.
	decline string
}

// Reasons for the cases where trawl follows RFC 9309 and not Google.
const (
	declineRawURL = "RFC 9309 §2.2.2: octets outside US-ASCII in the URI MUST be percent-encoded before comparison; " +
		"Google leaves that to its caller, trawl normalises the URL, so /foo/bar/ツ is /foo/bar/%E3%83%84 and matches"
	declineUnreservedEscape = "RFC 9309 §2.2.2: a percent-encoded unreserved octet MUST be unencoded before comparison " +
		"(its table maps /foo/bar/%62%61%7A to /foo/bar/baz), on both sides, so Allow: /foo/bar/%62%61%7A allows /foo/bar/baz"
	declineIndexHTML = "Google-only: Google reads Allow: /x/index.html as allowing /x/ too; under RFC 9309 the pattern " +
		"does not match /x/, so Disallow: / decides"
	declineLineTooLong = "Google-only: Google cuts lines after 16664 bytes; RFC 9309 sets no line limit (only >= 500 KiB " +
		"for the file), so the whole pattern is used and a cut-off Allow does not widen to URLs the file disallows"
)

// googleURLCases returns the IsUserAgentAllowed expectations of
// robots_test.cc, in the file's order.
func googleURLCases() []googleCase {
	var cs []googleCase
	add := func(test, robots, agent, url string, allowed bool, decline ...string) {
		c := googleCase{test: test, robots: robots, agent: agent, url: url, allowed: allowed}
		if len(decline) > 0 {
			c.decline = decline[0]
		}
		cs = append(cs, c)
	}

	// GoogleOnly_SystemTest
	{
		const t = "GoogleOnly_SystemTest"
		robots := "user-agent: FooBot\n" +
			"disallow: /\n"
		add(t, "", "FooBot", "", true)
		add(t, robots, "", "", true)
		add(t, robots, "FooBot", "", false)
		add(t, "", "", "", true)
	}

	// ID_LineSyntax_Line
	{
		const t = "ID_LineSyntax_Line"
		correct := "user-agent: FooBot\n" +
			"disallow: /\n"
		incorrect := "foo: FooBot\n" +
			"bar: /\n"
		incorrectAccepted := "user-agent FooBot\n" +
			"disallow /\n"
		url := "http://foo.bar/x/y"
		add(t, correct, "FooBot", url, false)
		add(t, incorrect, "FooBot", url, true)
		add(t, incorrectAccepted, "FooBot", url, false)
	}

	// ID_LineSyntax_Groups
	{
		const t = "ID_LineSyntax_Groups"
		robots := "allow: /foo/bar/\n" +
			"\n" +
			"user-agent: FooBot\n" +
			"disallow: /\n" +
			"allow: /x/\n" +
			"user-agent: BarBot\n" +
			"disallow: /\n" +
			"allow: /y/\n" +
			"\n" +
			"\n" +
			"allow: /w/\n" +
			"user-agent: BazBot\n" +
			"\n" +
			"user-agent: FooBot\n" +
			"allow: /z/\n" +
			"disallow: /\n"
		w, x, y, z := "http://foo.bar/w/a", "http://foo.bar/x/b", "http://foo.bar/y/c", "http://foo.bar/z/d"
		foo := "http://foo.bar/foo/bar/"
		add(t, robots, "FooBot", x, true)
		add(t, robots, "FooBot", z, true)
		add(t, robots, "FooBot", y, false)
		add(t, robots, "BarBot", y, true)
		add(t, robots, "BarBot", w, true)
		add(t, robots, "BarBot", z, false)
		add(t, robots, "BazBot", z, true)
		add(t, robots, "FooBot", foo, false)
		add(t, robots, "BarBot", foo, false)
		add(t, robots, "BazBot", foo, false)
	}

	// ID_LineSyntax_Groups_OtherRules
	{
		const t = "ID_LineSyntax_Groups_OtherRules"
		sitemap := "User-agent: BarBot\n" +
			"Sitemap: https://foo.bar/sitemap\n" +
			"User-agent: *\n" +
			"Disallow: /\n"
		unknown := "User-agent: FooBot\n" +
			"Invalid-Unknown-Line: unknown\n" +
			"User-agent: *\n" +
			"Disallow: /\n"
		url := "http://foo.bar/"
		add(t, sitemap, "FooBot", url, false)
		add(t, sitemap, "BarBot", url, false)
		add(t, unknown, "FooBot", url, false)
		add(t, unknown, "BarBot", url, false)
	}

	// ID_REPLineNamesCaseInsensitive
	{
		const t = "ID_REPLineNamesCaseInsensitive"
		upper := "USER-AGENT: FooBot\n" +
			"ALLOW: /x/\n" +
			"DISALLOW: /\n"
		lower := "user-agent: FooBot\n" +
			"allow: /x/\n" +
			"disallow: /\n"
		camel := "uSeR-aGeNt: FooBot\n" +
			"AlLoW: /x/\n" +
			"dIsAlLoW: /\n"
		allowed, disallowed := "http://foo.bar/x/y", "http://foo.bar/a/b"
		for _, r := range []string{upper, lower, camel} {
			add(t, r, "FooBot", allowed, true)
		}
		for _, r := range []string{upper, lower, camel} {
			add(t, r, "FooBot", disallowed, false)
		}
	}

	// ID_UserAgentValueCaseInsensitive
	{
		const t = "ID_UserAgentValueCaseInsensitive"
		upper := "User-Agent: FOO BAR\n" +
			"Allow: /x/\n" +
			"Disallow: /\n"
		lower := "User-Agent: foo bar\n" +
			"Allow: /x/\n" +
			"Disallow: /\n"
		camel := "User-Agent: FoO bAr\n" +
			"Allow: /x/\n" +
			"Disallow: /\n"
		allowed, disallowed := "http://foo.bar/x/y", "http://foo.bar/a/b"
		for _, agent := range []string{"Foo", "foo"} {
			for _, r := range []string{upper, lower, camel} {
				add(t, r, agent, allowed, true)
			}
			for _, r := range []string{upper, lower, camel} {
				add(t, r, agent, disallowed, false)
			}
		}
	}

	// GoogleOnly_AcceptUserAgentUpToFirstSpace
	{
		const t = "GoogleOnly_AcceptUserAgentUpToFirstSpace"
		robots := "User-Agent: *\n" +
			"Disallow: /\n" +
			"User-Agent: Foo Bar\n" +
			"Allow: /x/\n" +
			"Disallow: /\n"
		url := "http://foo.bar/x/y"
		add(t, robots, "Foo", url, true)
		add(t, robots, "Foo Bar", url, false)
	}

	// ID_GlobalGroups_Secondary
	{
		const t = "ID_GlobalGroups_Secondary"
		empty := ""
		global := "user-agent: *\n" +
			"allow: /\n" +
			"user-agent: FooBot\n" +
			"disallow: /\n"
		onlySpecific := "user-agent: FooBot\n" +
			"allow: /\n" +
			"user-agent: BarBot\n" +
			"disallow: /\n" +
			"user-agent: BazBot\n" +
			"disallow: /\n"
		url := "http://foo.bar/x/y"
		add(t, empty, "FooBot", url, true)
		add(t, global, "FooBot", url, false)
		add(t, global, "BarBot", url, true)
		add(t, onlySpecific, "QuxBot", url, true)
	}

	// ID_AllowDisallow_Value_CaseSensitive
	{
		const t = "ID_AllowDisallow_Value_CaseSensitive"
		lower := "user-agent: FooBot\n" +
			"disallow: /x/\n"
		upper := "user-agent: FooBot\n" +
			"disallow: /X/\n"
		url := "http://foo.bar/x/y"
		add(t, lower, "FooBot", url, false)
		add(t, upper, "FooBot", url, true)
	}

	// ID_LongestMatch
	{
		const t = "ID_LongestMatch"
		url := "http://foo.bar/x/page.html"
		add(t, "user-agent: FooBot\n"+
			"disallow: /x/page.html\n"+
			"allow: /x/\n", "FooBot", url, false)
		r2 := "user-agent: FooBot\n" +
			"allow: /x/page.html\n" +
			"disallow: /x/\n"
		add(t, r2, "FooBot", url, true)
		add(t, r2, "FooBot", "http://foo.bar/x/", false)
		add(t, "user-agent: FooBot\n"+
			"disallow: \n"+
			"allow: \n", "FooBot", url, true)
		add(t, "user-agent: FooBot\n"+
			"disallow: /\n"+
			"allow: /\n", "FooBot", url, true)
		r5 := "user-agent: FooBot\n" +
			"disallow: /x\n" +
			"allow: /x/\n"
		add(t, r5, "FooBot", "http://foo.bar/x", false)
		add(t, r5, "FooBot", "http://foo.bar/x/", true)
		add(t, "user-agent: FooBot\n"+
			"disallow: /x/page.html\n"+
			"allow: /x/page.html\n", "FooBot", url, true)
		r7 := "user-agent: FooBot\n" +
			"allow: /page\n" +
			"disallow: /*.html\n"
		add(t, r7, "FooBot", "http://foo.bar/page.html", false)
		add(t, r7, "FooBot", "http://foo.bar/page", true)
		r8 := "user-agent: FooBot\n" +
			"allow: /x/page.\n" +
			"disallow: /*.html\n"
		add(t, r8, "FooBot", url, true)
		add(t, r8, "FooBot", "http://foo.bar/x/y.html", false)
		r9 := "User-agent: *\n" +
			"Disallow: /x/\n" +
			"User-agent: FooBot\n" +
			"Disallow: /y/\n"
		add(t, r9, "FooBot", "http://foo.bar/x/page", true)
		add(t, r9, "FooBot", "http://foo.bar/y/page", false)
	}

	// ID_Encoding
	{
		const t = "ID_Encoding"
		add(t, "User-agent: FooBot\n"+
			"Disallow: /\n"+
			"Allow: /foo/bar?qux=taz&baz=http://foo.bar?tar&par\n", "FooBot",
			"http://foo.bar/foo/bar?qux=taz&baz=http://foo.bar?tar&par", true)
		r2 := "User-agent: FooBot\n" +
			"Disallow: /\n" +
			"Allow: /foo/bar/ツ\n"
		add(t, r2, "FooBot", "http://foo.bar/foo/bar/%E3%83%84", true)
		add(t, r2, "FooBot", "http://foo.bar/foo/bar/ツ", false, declineRawURL)
		r3 := "User-agent: FooBot\n" +
			"Disallow: /\n" +
			"Allow: /foo/bar/%E3%83%84\n"
		add(t, r3, "FooBot", "http://foo.bar/foo/bar/%E3%83%84", true)
		add(t, r3, "FooBot", "http://foo.bar/foo/bar/ツ", false, declineRawURL)
		r4 := "User-agent: FooBot\n" +
			"Disallow: /\n" +
			"Allow: /foo/bar/%62%61%7A\n"
		add(t, r4, "FooBot", "http://foo.bar/foo/bar/baz", false, declineUnreservedEscape)
		add(t, r4, "FooBot", "http://foo.bar/foo/bar/%62%61%7A", true)
	}

	// ID_SpecialCharacters
	{
		const t = "ID_SpecialCharacters"
		r1 := "User-agent: FooBot\n" +
			"Disallow: /foo/bar/quz\n" +
			"Allow: /foo/*/qux\n"
		add(t, r1, "FooBot", "http://foo.bar/foo/bar/quz", false)
		add(t, r1, "FooBot", "http://foo.bar/foo/quz", true)
		add(t, r1, "FooBot", "http://foo.bar/foo//quz", true)
		add(t, r1, "FooBot", "http://foo.bar/foo/bax/quz", true)
		r2 := "User-agent: FooBot\n" +
			"Disallow: /foo/bar$\n" +
			"Allow: /foo/bar/qux\n"
		add(t, r2, "FooBot", "http://foo.bar/foo/bar", false)
		add(t, r2, "FooBot", "http://foo.bar/foo/bar/qux", true)
		add(t, r2, "FooBot", "http://foo.bar/foo/bar/", true)
		add(t, r2, "FooBot", "http://foo.bar/foo/bar/baz", true)
		r3 := "User-agent: FooBot\n" +
			"# Disallow: /\n" +
			"Disallow: /foo/quz#qux\n" +
			"Allow: /\n"
		add(t, r3, "FooBot", "http://foo.bar/foo/bar", true)
		add(t, r3, "FooBot", "http://foo.bar/foo/quz", false)
	}

	// GoogleOnly_IndexHTMLisDirectory
	{
		const t = "GoogleOnly_IndexHTMLisDirectory"
		robots := "User-Agent: *\n" +
			"Allow: /allowed-slash/index.html\n" +
			"Disallow: /\n"
		add(t, robots, "foobot", "http://foo.com/allowed-slash/", true, declineIndexHTML)
		add(t, robots, "foobot", "http://foo.com/allowed-slash/index.htm", false)
		add(t, robots, "foobot", "http://foo.com/allowed-slash/index.html", true)
		add(t, robots, "foobot", "http://foo.com/anyother-url", false)
	}

	// GoogleOnly_LineTooLong
	{
		const t = "GoogleOnly_LineTooLong"
		const eolLen, maxLineLen = 1, 2083 * 8
		allow, disallow := "allow: ", "disallow: "
		{
			robots := "user-agent: FooBot\n"
			// Google appends "a" to "/x/" up to maxLength.
			maxLength := maxLineLen - len("/x/") - len(disallow) + eolLen
			longline := "/x/" + strings.Repeat("a", maxLength-len("/x/"))
			robots += disallow + longline + "/qux\n"
			add(t, robots, "FooBot", "http://foo.bar/fux", true)
			add(t, robots, "FooBot", "http://foo.bar"+longline+"/fux", false, declineLineTooLong)
		}
		{
			robots := "user-agent: FooBot\n" +
				"disallow: /\n"
			maxLength := maxLineLen - len("/x/") - len(allow) + eolLen
			longlineA := "/x/" + strings.Repeat("a", maxLength-len("/x/"))
			longlineB := "/x/" + strings.Repeat("b", maxLength-len("/x/"))
			robots += allow + longlineA + "/qux\n"
			robots += allow + longlineB + "/qux\n"
			add(t, robots, "FooBot", "http://foo.bar/", false)
			add(t, robots, "FooBot", "http://foo.bar"+longlineA+"/qux", true)
			add(t, robots, "FooBot", "http://foo.bar"+longlineB+"/fux", true, declineLineTooLong)
		}
	}

	// GoogleOnly_DocumentationChecks
	{
		const t = "GoogleOnly_DocumentationChecks"
		check := func(robots string, allowed []string, disallowed []string) {
			// Google's order: the first disallowed URL, then the allowed
			// ones, then the other disallowed ones.
			add(t, robots, "FooBot", disallowed[0], false)
			for _, u := range allowed {
				add(t, robots, "FooBot", u, true)
			}
			for _, u := range disallowed[1:] {
				add(t, robots, "FooBot", u, false)
			}
		}
		check("user-agent: FooBot\n"+
			"disallow: /\n"+
			"allow: /fish\n",
			[]string{"http://foo.bar/fish", "http://foo.bar/fish.html", "http://foo.bar/fish/salmon.html",
				"http://foo.bar/fishheads", "http://foo.bar/fishheads/yummy.html", "http://foo.bar/fish.html?id=anything"},
			[]string{"http://foo.bar/bar", "http://foo.bar/Fish.asp", "http://foo.bar/catfish", "http://foo.bar/?id=fish"})
		check("user-agent: FooBot\n"+
			"disallow: /\n"+
			"allow: /fish*\n",
			[]string{"http://foo.bar/fish", "http://foo.bar/fish.html", "http://foo.bar/fish/salmon.html",
				"http://foo.bar/fishheads", "http://foo.bar/fishheads/yummy.html", "http://foo.bar/fish.html?id=anything"},
			[]string{"http://foo.bar/bar", "http://foo.bar/Fish.bar", "http://foo.bar/catfish", "http://foo.bar/?id=fish"})
		check("user-agent: FooBot\n"+
			"disallow: /\n"+
			"allow: /fish/\n",
			[]string{"http://foo.bar/fish/", "http://foo.bar/fish/salmon", "http://foo.bar/fish/?salmon",
				"http://foo.bar/fish/salmon.html", "http://foo.bar/fish/?id=anything"},
			[]string{"http://foo.bar/bar", "http://foo.bar/fish", "http://foo.bar/fish.html", "http://foo.bar/Fish/Salmon.html"})
		{
			robots := "user-agent: FooBot\n" +
				"disallow: /\n" +
				"allow: /*.php\n"
			add(t, robots, "FooBot", "http://foo.bar/bar", false)
			for _, u := range []string{"http://foo.bar/filename.php", "http://foo.bar/folder/filename.php",
				"http://foo.bar/folder/filename.php?parameters", "http://foo.bar//folder/any.php.file.html",
				"http://foo.bar/filename.php/", "http://foo.bar/index?f=filename.php/"} {
				add(t, robots, "FooBot", u, true)
			}
			for _, u := range []string{"http://foo.bar/php/", "http://foo.bar/index?php", "http://foo.bar/windows.PHP"} {
				add(t, robots, "FooBot", u, false)
			}
		}
		check("user-agent: FooBot\n"+
			"disallow: /\n"+
			"allow: /*.php$\n",
			[]string{"http://foo.bar/filename.php", "http://foo.bar/folder/filename.php"},
			[]string{"http://foo.bar/bar", "http://foo.bar/filename.php?parameters", "http://foo.bar/filename.php/",
				"http://foo.bar/filename.php5", "http://foo.bar/php/", "http://foo.bar/filename?php",
				"http://foo.bar/aaaphpaaa", "http://foo.bar//windows.PHP"})
		check("user-agent: FooBot\n"+
			"disallow: /\n"+
			"allow: /fish*.php\n",
			[]string{"http://foo.bar/fish.php", "http://foo.bar/fishheads/catfish.php?parameters"},
			[]string{"http://foo.bar/bar", "http://foo.bar/Fish.PHP"})
		// Section "Order of precedence for group-member records".
		add(t, "user-agent: FooBot\n"+
			"allow: /p\n"+
			"disallow: /\n", "FooBot", "http://example.com/page", true)
		add(t, "user-agent: FooBot\n"+
			"allow: /folder\n"+
			"disallow: /folder\n", "FooBot", "http://example.com/folder/page", true)
		add(t, "user-agent: FooBot\n"+
			"allow: /page\n"+
			"disallow: /*.htm\n", "FooBot", "http://example.com/page.htm", false)
		r := "user-agent: FooBot\n" +
			"allow: /$\n" +
			"disallow: /\n"
		add(t, r, "FooBot", "http://example.com/", true)
		add(t, r, "FooBot", "http://example.com/page.html", false)
	}
	return cs
}

// googleParseCase is one robots.txt of the ParseRobotsTxt checks, with
// what Google's RobotsStatsReporter saw: directives it knows (User-agent,
// Allow, Disallow, Sitemap), unknown ones, the last line number with a
// directive, and the Sitemap values concatenated. -1 means not checked.
type googleParseCase struct {
	test                     string
	robots                   string
	valid, unknown, lastLine int
	sitemap                  string
}

// googleParseCases returns the ParseRobotsTxt expectations of
// robots_test.cc, one case per robots.txt, in the file's order.
func googleParseCases() []googleParseCase {
	lines := func(eol ...string) string {
		texts := []string{"User-Agent: foo", "Allow: /some/path", "User-Agent: bar", "", "", "Disallow: /"}
		var b strings.Builder
		for i, s := range texts {
			b.WriteString(s)
			if i < len(eol) {
				b.WriteString(eol[i])
			}
		}
		return b.String()
	}
	const lt = "ID_LinesNumbersAreCountedCorrectly"
	const bt = "ID_UTF8ByteOrderMarkIsSkipped"
	const st = "ID_NonStandardLineExample_Sitemap"
	const sitemapLoc = "http://foo.bar/sitemap.xml"
	groups := "User-Agent: foo\n" +
		"Allow: /some/path\n" +
		"User-Agent: bar\n" +
		"\n" +
		"\n"
	return []googleParseCase{
		{lt, lines("\n", "\n", "\n", "\n", "\n", "\n"), 4, -1, 6, ""},
		{lt, lines("\r\n", "\r\n", "\r\n", "\r\n", "\r\n", "\r\n"), 4, -1, 6, ""},
		{lt, lines("\r", "\r", "\r", "\r", "\r", "\r"), 4, -1, 6, ""},
		{lt, lines("\n", "\n", "\n", "\n", "\n"), 4, -1, 6, ""},
		{lt, lines("\n", "\r\n", "\n", "\r\n", "\n"), 4, -1, 6, ""},
		{bt, "\xEF\xBB\xBF" + "User-Agent: foo\n" + "Allow: /AnyValue\n", 2, 0, -1, ""},
		{bt, "\xEF\xBB" + "User-Agent: foo\n" + "Allow: /AnyValue\n", 2, 0, -1, ""},
		{bt, "\xEF" + "User-Agent: foo\n" + "Allow: /AnyValue\n", 2, 0, -1, ""},
		{bt, "\xEF\x11\xBF" + "User-Agent: foo\n" + "Allow: /AnyValue\n", 1, 1, -1, ""},
		{bt, "User-Agent: foo\n" + "\xEF\xBB\xBF" + "Allow: /AnyValue\n", 1, 1, -1, ""},
		{st, groups + "Sitemap: " + sitemapLoc + "\n", -1, -1, -1, sitemapLoc},
		{st, "Sitemap: " + sitemapLoc + "\n" + groups, -1, -1, -1, sitemapLoc},
	}
}

// googleAgreeFloor is the least number of Google's 157 cases trawl must
// agree with: all but the declined ones.
const googleAgreeFloor = 151

// googleTarget is the request target trawl matches for one of Google's
// URLs: the normalised URL's path and query; Google reads "" as "/".
func googleTarget(t *testing.T, raw string) string {
	t.Helper()
	if raw == "" {
		return "/"
	}
	u, err := ParseURL(raw)
	if err != nil {
		t.Fatalf("ParseURL(%q): %v", raw, err)
	}
	return u.RequestURI()
}

// googleParseStats runs one parse case and reports whether trawl's
// scanner agrees.
func googleParseStats(c googleParseCase) (ok bool, got string) {
	valid, unknown, last := 0, 0, 0
	scanRobots([]byte(c.robots), func(line int, key robotsKey, _ string) {
		last = line
		switch key {
		case keyUserAgent, keyAllow, keyDisallow, keySitemap:
			valid++
		default:
			unknown++
		}
	})
	sitemap := strings.Join(parseRobots([]byte(c.robots)).sitemaps, "")
	ok = (c.valid < 0 || valid == c.valid) && (c.unknown < 0 || unknown == c.unknown) &&
		(c.lastLine < 0 || last == c.lastLine) && (c.sitemap == "" || sitemap == c.sitemap)
	return ok, fmt.Sprintf("valid %d unknown %d last %d sitemap %q", valid, unknown, last, sitemap)
}

// TestRobotsGoogleSuite runs Google's cases against the matcher
// directly: parse, pick the agent's group, match the URL's target.
func TestRobotsGoogleSuite(t *testing.T) {
	cases := googleURLCases()
	if len(cases) != 145 {
		t.Fatalf("%d URL cases transcribed, want Google's 145", len(cases))
	}
	agree, declined := 0, 0
	for i, c := range cases {
		got := parseRobots([]byte(c.robots)).group(c.agent).allows(googleTarget(t, c.url))
		agree += tallyGoogle(t, i, c, got, &declined)
	}
	parse := googleParseCases()
	for i, c := range parse {
		if ok, got := googleParseStats(c); ok {
			agree++
		} else {
			t.Errorf("%s parse case %d: got %s, want valid %d unknown %d last %d sitemap %q",
				c.test, i, got, c.valid, c.unknown, c.lastLine, c.sitemap)
		}
	}
	total := len(cases) + len(parse)
	t.Logf("robots.txt conformance (Google robots_test.cc, matcher): agree %d/%d, declined %d (RFC 9309 wins)", agree, total, declined)
	if agree < googleAgreeFloor {
		t.Errorf("agree %d/%d, below the floor of %d", agree, total, googleAgreeFloor)
	}
}

// tallyGoogle checks one URL case: an agreed case must give Google's answer, a
// declined one the other. It returns 1 when trawl agreed with Google.
func tallyGoogle(t *testing.T, i int, c googleCase, got bool, declined *int) int {
	t.Helper()
	short := c.url
	if len(short) > 80 {
		short = short[:40] + "…" + short[len(short)-30:]
	}
	switch {
	case c.decline != "":
		*declined++
		if got == c.allowed {
			t.Errorf("%s #%d (%s, %q): declined case gives Google's %v, want the RFC 9309 answer %v (%s)",
				c.test, i, c.agent, short, got, !c.allowed, c.decline)
		}
		return 0
	case got != c.allowed:
		t.Errorf("%s #%d (%s, %q): allowed %v, Google expects %v\nrobots.txt:\n%s",
			c.test, i, c.agent, short, got, c.allowed, c.robots)
		return 0
	}
	return 1
}

// TestRobotsGoogleSuiteEndToEnd runs Google's URL cases through
// Fetcher.Fetch against a loopback server that serves the case's
// robots.txt and records whether the page itself was requested, and the
// Sitemap cases through Fetcher.Sitemaps.
func TestRobotsGoogleSuiteEndToEnd(t *testing.T) {
	var mu sync.Mutex
	var robots string
	pages := 0
	srv := serve(t, func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		if r.URL.Path == "/robots.txt" {
			_, _ = w.Write([]byte(robots))
			return
		}
		pages++
		_, _ = w.Write([]byte("ok"))
	})
	f := newTestFetcher(t, Config{Retries: -1})
	run := func(body, agent, rawURL string) bool {
		t.Helper()
		mu.Lock()
		robots, pages = body, 0
		mu.Unlock()
		f.robots = newRobotsCache() // a fresh cache: robots.txt is fetched again
		f.robots.agent = agent
		_, err := f.Fetch(t.Context(), srv.URL+googlePath(rawURL))
		mu.Lock()
		fetched := pages
		mu.Unlock()
		switch {
		case err == nil && fetched == 1:
			return true
		case KindOf(err) == KindRobotsDisallowed && fetched == 0:
			return false
		}
		t.Fatalf("agent %q, %q: error %v with %d page requests", agent, rawURL, err, fetched)
		return false
	}
	agree, declined := 0, 0
	cases := googleURLCases()
	for i, c := range cases {
		got := run(c.robots, c.agent, c.url)
		agree += tallyGoogle(t, i, c, got, &declined)
	}
	sitemaps := 0
	for _, c := range googleParseCases() {
		if c.sitemap == "" {
			continue
		}
		sitemaps++
		run(c.robots, RobotsAgent, "http://foo.bar/")
		if got := strings.Join(f.Sitemaps(srv.URL), ""); got != c.sitemap {
			t.Errorf("%s: sitemaps %q, want %q", c.test, got, c.sitemap)
			continue
		}
		agree++
	}
	total := len(cases) + sitemaps
	t.Logf("robots.txt conformance (Google robots_test.cc, end to end through Fetch): agree %d/%d, declined %d (RFC 9309 wins); "+
		"the %d other parse checks count lines and directives, which only the matcher table can see",
		agree, total, declined, len(googleParseCases())-sitemaps)
	if floor := googleAgreeFloor - (len(googleParseCases()) - sitemaps); agree < floor {
		t.Errorf("agree %d/%d, below the floor of %d", agree, total, floor)
	}
}

// googlePath is the path and query of one of Google's URLs, to be asked
// of the test server; Google reads "" as "/".
func googlePath(raw string) string {
	rest, ok := strings.CutPrefix(raw, "http://")
	if !ok {
		return "/"
	}
	if i := strings.IndexAny(rest, "/?"); i >= 0 {
		return rest[i:]
	}
	return "/"
}
