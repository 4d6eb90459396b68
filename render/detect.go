package render

import (
	"bytes"
	"strings"

	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"
)

// The app-shell signals of --render auto, as they appear in the record's
// render_reason. A page is rendered when any of them holds; the first
// found is the reason.
const (
	// ReasonAlways is the reason under --render always.
	ReasonAlways = "always"
	// ReasonNoSignal is the reason of a page auto did not render.
	ReasonNoSignal = "no_shell_signal"
	// ReasonNotHTML is the reason of a response that is not HTML.
	ReasonNotHTML = "not_html"
	// ReasonEmptyMount (followed by ":#id") is an empty mount point: an
	// element with id root, app, __next, __nuxt, ___gatsby or svelte, or
	// an <app-root>, with nothing but white space inside.
	ReasonEmptyMount = "empty_mount"
	// ReasonNoscript is a <noscript> asking for JavaScript ("javascript"
	// or "enable js" in its text) on a page with less than
	// ShellTextNoscript characters of text outside it.
	ReasonNoscript = "noscript_js"
	// ReasonFramework (followed by ":marker") is a framework's bundle
	// (/_next/static/, /_nuxt/, /static/js/main., /assets/index-,
	// bundle.js, app.js, main.js) on a page with less than ShellText
	// characters of text.
	ReasonFramework = "framework"
	// ReasonScriptHeavy is little text against much script: less than
	// ShellText characters of text, and script weight (inline script
	// bytes, plus 1 KiB for each external script) of at least 1 KiB and
	// at least five times the text.
	ReasonScriptHeavy = "script_heavy"
)

// ShellText is the most visible text (characters, white space runs
// counted as one) a page may have for the framework and script-heavy
// signals; ShellTextNoscript is the same for the noscript signal.
const (
	ShellText         = 200
	ShellTextNoscript = 1000
)

var mountIDs = map[string]bool{"root": true, "app": true, "__next": true, "__nuxt": true, "___gatsby": true, "svelte": true}

var bundleMarkers = []string{"/_next/static/", "/_nuxt/", "/static/js/main.", "/assets/index-", "bundle.js", "app.js", "main.js"}

// shellScan is what one pass over a page's tokens found.
type shellScan struct {
	emptyMount string // "#id" of the first empty mount point
	noscriptJS bool
	bundle     string
	text       int // visible text characters outside script, style, noscript, template
	script     int // script weight
}

// ShellReason reports whether the HTML page body looks like an
// application shell that needs JavaScript to show its content, and the
// signal that says so (see the Reason constants); ReasonNoSignal when
// none holds. body must be UTF-8 (or ASCII-compatible).
func ShellReason(body []byte) (bool, string) {
	s := scanShell(body)
	switch {
	case s.emptyMount != "":
		return true, ReasonEmptyMount + ":" + s.emptyMount
	case s.noscriptJS && s.text < ShellTextNoscript:
		return true, ReasonNoscript
	case s.bundle != "" && s.text < ShellText:
		return true, ReasonFramework + ":" + s.bundle
	case s.text < ShellText && s.script >= 1024 && s.script >= 5*s.text:
		return true, ReasonScriptHeavy
	}
	return false, ReasonNoSignal
}

func scanShell(body []byte) shellScan {
	var s shellScan
	z := html.NewTokenizer(bytes.NewReader(body))
	var hidden atom.Atom // script, style, noscript or template we are in
	var pending string   // mount point whose emptiness is being checked
	var pendingTag string
	lastSpace := true
	for {
		tt := z.Next()
		if tt == html.ErrorToken {
			return s
		}
		tok := z.Token()
		if pending != "" {
			switch {
			case tt == html.TextToken && strings.TrimSpace(tok.Data) == "":
			case tt == html.EndTagToken && tok.Data == pendingTag:
				if s.emptyMount == "" {
					s.emptyMount = pending
				}
				pending = ""
			default:
				pending = ""
			}
		}
		switch tt {
		case html.StartTagToken, html.SelfClosingTagToken:
			s.startTag(tok, tt, &hidden, &pending, &pendingTag)
		case html.EndTagToken:
			if tok.DataAtom == hidden {
				hidden = 0
			}
		case html.TextToken:
			switch hidden {
			case atom.Script:
				s.script += len(tok.Data)
			case atom.Noscript:
				low := strings.ToLower(tok.Data)
				if strings.Contains(low, "javascript") || strings.Contains(low, "enable js") {
					s.noscriptJS = true
				}
			case 0:
				s.text += visibleLen(tok.Data, &lastSpace)
			}
		}
	}
}

func (s *shellScan) startTag(tok html.Token, tt html.TokenType, hidden *atom.Atom, pending, pendingTag *string) {
	if *hidden != 0 {
		return
	}
	switch tok.DataAtom {
	case atom.Script:
		for _, a := range tok.Attr {
			if a.Key == "src" {
				s.script += 1024
				for _, m := range bundleMarkers {
					if s.bundle == "" && strings.Contains(a.Val, m) {
						s.bundle = m
					}
				}
			}
		}
		fallthrough
	case atom.Style, atom.Noscript, atom.Template:
		if tt == html.StartTagToken {
			*hidden = tok.DataAtom
		}
		return
	}
	if tt != html.StartTagToken {
		return
	}
	if tok.Data == "app-root" {
		*pending, *pendingTag = "app-root", tok.Data
		return
	}
	for _, a := range tok.Attr {
		if a.Key == "id" && mountIDs[a.Val] {
			*pending, *pendingTag = "#"+a.Val, tok.Data
		}
	}
}

// visibleLen counts the characters of text, each run of white space as
// one, carrying whether the last one was a space across text tokens.
func visibleLen(text string, lastSpace *bool) int {
	n := 0
	for _, r := range text {
		space := r == ' ' || r == '\n' || r == '\t' || r == '\r' || r == '\f'
		if space && *lastSpace {
			continue
		}
		*lastSpace = space
		n++
	}
	return n
}
