package content

import (
	"net/url"
	"strings"
	"testing"

	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"
)

func TestUnescapeIntraword(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{`snake\_case and my\_var\_name`, `snake_case and my_var_name`},
		{`\_emphasis\_ stays`, `\_emphasis\_ stays`},
		{"`a\\_b` in code", "`a\\_b` in code"},
		{"```\na\\_b\n```\nc\\_d", "```\na\\_b\n```\nc_d"},
		{`über\_straße`, `über_straße`},
	} {
		if got := unescapeMarkdown(tc.in); got != tc.want {
			t.Errorf("unescapeMarkdown(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// TestUnescapeMarkdown checks that the converter's needless escapes of
// ">", "<" and "=" are undone where Markdown reads the plain character
// as itself, and kept where it would not.
func TestUnescapeMarkdown(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{`<p>a => b</p>`, `a => b`},
		{`<p>=> Wie hast Du gelernt?</p>`, `=> Wie hast Du gelernt?`},
		{`<p>a<br>=> b</p>`, "a  \n=> b"},
		{`<p>x &lt;= y and 1 > 0, <b>=></b></p>`, `x <= y and 1 > 0, **=>**`},
		{`<p>&lt;div&gt; stays a text</p>`, `&lt;div> stays a text`},
		{`<p>> not a quote</p>`, `\> not a quote`},
		{`<ul><li>> not a quote</li></ul>`, `- \> not a quote`},
		{`<p>a <code>=></code></p>`, "a `=>`"},
		{`<pre>a => b</pre>`, "```\na => b\n```"},
	} {
		doc, err := Parse("<body>" + tc.in + "</body>")
		if err != nil {
			t.Fatal(err)
		}
		got, err := toMarkdown(findBody(doc))
		if err != nil {
			t.Fatal(err)
		}
		if got != tc.want {
			t.Errorf("%s: markdown %q, want %q", tc.in, got, tc.want)
		}
	}
}

// TestTitleKept checks that the page's <h1> that repeats the title is at
// the top of the Markdown and the text, where readability removes it,
// and is not repeated where the content starts with it already.
func TestTitleKept(t *testing.T) {
	para := strings.Repeat("The tide pools are counted every spring by the volunteers of the harbour. ", 20)
	for _, tc := range []struct{ name, page string }{
		{"dropped", `<html><head><title>Tidal gardens — Coastal Notes</title></head><body><h1>Tidal gardens</h1><article><p>` + para + `</p><p>` + para + `</p></article></body></html>`},
		{"kept", `<html><head><title>Tidal gardens</title></head><body><article><h1>Tidal gardens</h1><p>` + para + `</p><p>` + para + `</p></article></body></html>`},
	} {
		doc, err := Parse(tc.page)
		if err != nil {
			t.Fatal(err)
		}
		base, _ := url.Parse("https://example.com/")
		r, err := Extract(doc, base, Options{})
		if err != nil {
			t.Fatal(err)
		}
		if r.Method != MethodReadability {
			t.Fatalf("%s: method %s", tc.name, r.Method)
		}
		if !strings.HasPrefix(r.Markdown, "# Tidal gardens\n\nThe tide pools") || !strings.HasPrefix(r.Text, "Tidal gardens\n\nThe tide pools") {
			t.Errorf("%s: title not at the top once:\n%.80q\n%.80q", tc.name, r.Markdown, r.Text)
		}
	}
	// A title that no <h1> of the page repeats is not added.
	doc, _ := Parse(`<html><head><title>Home page</title></head><body><article><p>` + para + `</p></article></body></html>`)
	r, err := Extract(doc, &url.URL{}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(r.Markdown, "Home page") {
		t.Errorf("title added without an <h1>: %.80q", r.Markdown)
	}
}

// TestBoilerplateRemoved checks that blocks trafilatura names as
// boilerplate by class (sharing, related, author boxes), figure captions
// and lists of links inside the article are left out, that the byline is still found
// when its element is one of them, and that a content selector keeps
// what it matches whatever its class.
func TestBoilerplateRemoved(t *testing.T) {
	para := strings.Repeat("The tide pools are counted every spring by the volunteers of the harbour. ", 12)
	page := `<html><head><title>Tidal gardens</title></head><body><article>
<div class="author-box">By Mara Quint</div>
<p>` + para + `</p><div class="share-buttons">Share this on Mastodon</div><figure><img src="/crab.jpg" alt="A crab"><figcaption>Photo © Harbour office</figcaption></figure><p>` + para + `</p>
<div class="related-posts"><p>Ten more rock pools to visit</p></div>
<ul><li><a href="/a">Kelp forests</a></li><li><a href="/b">Crab counts</a></li><li><a href="/c">Tide tables</a></li></ul>
<p>` + para + `</p></article></body></html>`
	doc, err := Parse(page)
	if err != nil {
		t.Fatal(err)
	}
	r, err := Extract(doc, &url.URL{Scheme: "https", Host: "example.com"}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"Share this", "Ten more rock pools", "Kelp forests", "By Mara Quint", "Photo ©"} {
		if strings.Contains(r.Text, s) {
			t.Errorf("boilerplate %q kept:\n%s", s, r.Text)
		}
	}
	if strings.Count(r.Text, "volunteers of the harbour") != 36 {
		t.Errorf("content lost:\n%s", r.Text)
	}
	if r.Byline != "By Mara Quint" {
		t.Errorf("byline %q", r.Byline)
	}
	doc, _ = Parse(page)
	r, err = Extract(doc, &url.URL{}, Options{ContentSelector: ".share-buttons"})
	if err != nil {
		t.Fatal(err)
	}
	if r.Text != "Share this on Mastodon" {
		t.Errorf("selector: text %q", r.Text)
	}
}

// TestTailCut checks that a heading introducing related articles or
// comments at the end of the content goes with what follows it, and
// that a heading with most of the content after it stays.
func TestTailCut(t *testing.T) {
	para := "<p>" + strings.Repeat("The tide pools are counted every spring by the volunteers of the harbour. ", 12) + "</p>"
	for _, tc := range []struct {
		name, page string
		gone, kept []string
	}{
		{"related", `<body><article>` + para + para + `<div class="box"><h3>Auch interessant:</h3></div><p>Crabs of the north coast, counted</p><p>Kelp in winter</p></article></body>`,
			[]string{"Auch interessant", "Crabs of the north", "Kelp in winter"}, []string{"volunteers"}},
		{"comments", `<body><article>` + para + para + `<h2>3 Comments</h2><p>Great read, thanks for the count!</p></article></body>`,
			[]string{"3 Comments", "Great read"}, []string{"volunteers"}},
		{"most after", `<body><article><p>Intro to the tides.</p><h2>Related</h2>` + para + para + `</article></body>`,
			nil, []string{"Related", "volunteers"}},
		{"in a sentence", `<body><article>` + para + `<p>Read more about the tides in the harbour office, which keeps the notebook.</p>` + para + `</article></body>`,
			nil, []string{"Read more about the tides"}},
	} {
		doc, err := Parse(tc.page)
		if err != nil {
			t.Fatal(err)
		}
		r, err := Extract(doc, &url.URL{}, Options{})
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range tc.gone {
			if strings.Contains(r.Text, s) {
				t.Errorf("%s: %q kept:\n%s", tc.name, s, r.Text)
			}
		}
		for _, s := range tc.kept {
			if !strings.Contains(r.Text, s) {
				t.Errorf("%s: %q lost:\n%s", tc.name, s, r.Text)
			}
		}
	}
}

// TestFormWrapper checks that a <form> wrapping content (ASP.NET pages,
// shops) is not boilerplate, while a search or login form is.
func TestFormWrapper(t *testing.T) {
	para := "<p>" + strings.Repeat("The tide pools are counted every spring by the volunteers of the harbour. ", 12) + "</p>"
	doc, err := Parse(`<body><form id="aspnetForm"><div>` + para + `</div></form><form><input name=q><p>Search the site</p></form></body>`)
	if err != nil {
		t.Fatal(err)
	}
	var forms []*html.Node
	walkElements(doc, func(n *html.Node) bool {
		if n.DataAtom == atom.Form {
			forms = append(forms, n)
		}
		return true
	})
	if len(forms) != 2 || isBoilerplate(forms[0]) || !isBoilerplate(forms[1]) {
		t.Errorf("%d forms; boilerplate: the wrapper %v, the search form %v", len(forms), isBoilerplate(forms[0]), isBoilerplate(forms[1]))
	}
}

func TestCountWords(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want int
	}{
		{"Hello, world! It's 2026.", 4},
		{"state-of-the-art", 1},
		{"京都の喫茶店", 6},
		{"Мёд не портится", 3},
		{"", 0},
	} {
		if got := countWords(tc.in); got != tc.want {
			t.Errorf("countWords(%q) = %d, want %d", tc.in, got, tc.want)
		}
	}
}

func TestCutLines(t *testing.T) {
	s := strings.Repeat("line of text\n", 100)
	got := cutLines(s, 100)
	if len(got) > 100 || !strings.HasSuffix(got, "line of text") {
		t.Errorf("cutLines cut %q", got)
	}
	if got := cutLines("ééééé", 3); got != "é" {
		t.Errorf("cutLines in a character: %q", got)
	}
}

func TestText(t *testing.T) {
	doc, err := Parse(`<body><h1>Title</h1><p>One <b>bold</b>  word.<br>Next line.</p><ul><li>a</li><li>b</li></ul>` +
		`<table><tr><td>x</td><td>y</td></tr><tr><td>z</td><td>w</td></tr></table><pre>  code
  block</pre><p>End</p></body>`)
	if err != nil {
		t.Fatal(err)
	}
	base, _ := url.Parse("https://example.com/")
	r, err := Extract(doc, base, Options{ContentSelector: "body"})
	if err != nil {
		t.Fatal(err)
	}
	want := "Title\n\nOne bold word.\nNext line.\n\na\nb\n\nx\ty\nz\tw\n\n  code\n  block\n\nEnd"
	if r.Text != want {
		t.Errorf("text:\n%q\nwant\n%q", r.Text, want)
	}
}

// FuzzExtract checks that no page makes extraction panic or exceed its
// output bounds.
func FuzzExtract(f *testing.F) {
	for _, s := range []string{
		"<p>x",
		`<table><tr><td colspan=9999999999>a<table><tr><td rowspan=-3>b</table></table>`,
		`<base href="javascript:x"><a href="../a_b">l_m</a><img src="//x/y">`,
		`<html><frameset><frame></frameset></html>`,
		`<svg><foreignObject><p>t</p></foreignObject></svg><math><mi>x</mi></math>`,
		"<details hidden><summary>q</summary>a</details><pre>\n\n```\n</pre>",
	} {
		f.Add(s, "p", "")
		f.Add(s, "", "td")
	}
	f.Fuzz(func(t *testing.T, page, sel, excl string) {
		doc, err := Parse(page)
		if err != nil {
			return
		}
		base, _ := url.Parse("https://example.com/a/b")
		r, err := Extract(doc, base, Options{ContentSelector: sel, ExcludeSelector: excl})
		if err != nil {
			return
		}
		if len(r.Markdown) > MaxOutputBytes || len(r.Text) > MaxOutputBytes || r.Coverage < 0 || r.Coverage > 1 {
			t.Errorf("out of bounds: %d, %d bytes, coverage %v", len(r.Markdown), len(r.Text), r.Coverage)
		}
	})
}
