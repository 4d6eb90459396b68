package render

import (
	"strings"
	"testing"
)

func TestShellReason(t *testing.T) {
	article := "<p>" + strings.Repeat("Plenty of server-rendered prose about the topic. ", 20) + "</p>"
	tests := []struct {
		name   string
		html   string
		render bool
		reason string
	}{
		{"create-react-app shell", `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>React App</title>
<script defer="defer" src="/static/js/main.8f2c1b.js"></script><link href="/static/css/main.css" rel="stylesheet"></head>
<body><noscript>You need to enable JavaScript to run this app.</noscript><div id="root"></div></body></html>`, true, "empty_mount:#root"},
		{"vue app", `<html><head><title>Vue</title></head><body><div id="app">
  </div><script type="module" src="/assets/index-4f2a.js"></script></body></html>`, true, "empty_mount:#app"},
		{"next.js client-only", `<html><head></head><body><div id="__next"></div><script id="__NEXT_DATA__" type="application/json">{"props":{}}</script></body></html>`, true, "empty_mount:#__next"},
		{"angular", `<html><head><title>Ng</title></head><body><app-root></app-root><script src="runtime.js"></script><script src="main.js"></script></body></html>`, true, "empty_mount:app-root"},
		{"noscript asking for js", `<html><body><noscript>Please enable JavaScript to view this site.</noscript><div class="wrap"><span>Loading…</span></div></body></html>`, true, "noscript_js"},
		{"bundle and no text", `<html><head><script src="/_next/static/chunks/app.js"></script></head><body><div class="x"><span>Loading</span></div></body></html>`, true, "framework:/_next/static/"},
		{"inline script, no text", `<html><body><div class="c"></div><script>` + strings.Repeat("var a = 1; ", 200) + `</script></body></html>`, true, "script_heavy"},
		{"server-rendered next.js", `<html><body><div id="__next"><h1>Title</h1>` + article + `</div><script src="/_next/static/chunks/main.js"></script></body></html>`, false, "no_shell_signal"},
		{"article with noscript", `<html><body><noscript>Enable JavaScript for comments.</noscript>` + article + article + article + `</body></html>`, false, "no_shell_signal"},
		{"small static page", `<html><head><title>Hi</title></head><body><p>Hello.</p></body></html>`, false, "no_shell_signal"},
		{"root with content", `<html><body><div id="root"><p>Rendered on the server.</p>` + article + `</div><script src="/static/js/main.js"></script></body></html>`, false, "no_shell_signal"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			render, reason := ShellReason([]byte(tt.html))
			if render != tt.render || reason != tt.reason {
				t.Errorf("ShellReason = %v, %q; want %v, %q", render, reason, tt.render, tt.reason)
			}
		})
	}
}

func TestParseFlags(t *testing.T) {
	if w, err := ParseWait("selector:#main .item"); err != nil || w.Kind != WaitSelector || w.Selector != "#main .item" {
		t.Errorf("ParseWait selector = %+v, %v", w, err)
	}
	for _, bad := range []string{"soon", "selector:", "selector:[["} {
		if _, err := ParseWait(bad); err == nil {
			t.Errorf("ParseWait(%q) accepted", bad)
		}
	}
	if _, err := ParseMode("sometimes"); err == nil {
		t.Error("ParseMode accepted sometimes")
	}
	if b, err := ParseBlock("image, font"); err != nil || len(b) != 2 {
		t.Errorf("ParseBlock = %v, %v", b, err)
	}
	if _, err := ParseBlock("images"); err == nil {
		t.Error("ParseBlock accepted images")
	}
}
