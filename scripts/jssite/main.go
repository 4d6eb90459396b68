// Command jssite serves a JavaScript application site for
// scripts/bench-render.sh: N pages that are empty shells (a mount point
// and a script) which fetch their title, text and links from a small
// JSON API, so that only a rendering crawler sees their content. With
// -shell-percent below 100, the other pages are served already rendered
// (the same content in the HTML), as a site of mostly static pages with
// a few app-shell pages.
//
//	go run ./scripts/jssite -pages 500 -shell-percent 100
//
// It prints its base URL on the first line of standard output and serves
// until killed. Page i is /p/<i>; its data is /api/page/<i>.json; page i
// links to pages 2i+1 and 2i+2 and i+1 (within N), so a crawl from /p/0
// reaches every page.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
)

const appJS = `(function () {
  var id = location.pathname.split("/").pop();
  fetch("/api/page/" + id + ".json").then(function (r) { return r.json(); }).then(function (d) {
    document.title = d.title;
    var root = document.getElementById("root");
    var h = document.createElement("h1"); h.textContent = d.title; root.appendChild(h);
    var p = document.createElement("p"); p.textContent = d.text; root.appendChild(p);
    var ul = document.createElement("ul");
    d.links.forEach(function (l) {
      var li = document.createElement("li"), a = document.createElement("a");
      a.href = l; a.textContent = l; li.appendChild(a); ul.appendChild(li);
    });
    root.appendChild(ul);
  });
})();
`

type pageData struct {
	Title string   `json:"title"`
	Text  string   `json:"text"`
	Links []string `json:"links"`
}

func data(i, pages int) pageData {
	d := pageData{Title: fmt.Sprintf("App page %d", i), Text: strings.Repeat(fmt.Sprintf("Content of page %d, loaded from the API. ", i), 8)}
	for _, k := range []int{2*i + 1, 2*i + 2, i + 1} {
		if k < pages {
			d.Links = append(d.Links, "/p/"+strconv.Itoa(k))
		}
	}
	return d
}

func main() {
	pages := flag.Int("pages", 500, "number of pages")
	shells := flag.Int("shell-percent", 100, "percentage of pages served as JavaScript shells (every k-th page)")
	addr := flag.String("addr", "127.0.0.1:0", "address to listen on")
	flag.Parse()
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		fmt.Fprintln(os.Stderr, "jssite:", err)
		os.Exit(1)
	}
	isShell := func(i int) bool {
		if *shells >= 100 {
			return true
		}
		if *shells <= 0 {
			return false
		}
		return i%(100 / *shells) == 0
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/robots.txt", func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "User-agent: *\nAllow: /\n") })
	mux.HandleFunc("/app.js", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/javascript")
		fmt.Fprint(w, appJS)
	})
	mux.HandleFunc("/api/page/", func(w http.ResponseWriter, r *http.Request) {
		i, err := strconv.Atoi(strings.TrimSuffix(strings.TrimPrefix(r.URL.Path, "/api/page/"), ".json"))
		if err != nil || i < 0 || i >= *pages {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(data(i, *pages))
	})
	mux.HandleFunc("/p/", func(w http.ResponseWriter, r *http.Request) {
		i, err := strconv.Atoi(strings.TrimPrefix(r.URL.Path, "/p/"))
		if err != nil || i < 0 || i >= *pages {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		if isShell(i) {
			fmt.Fprint(w, `<!doctype html><html lang="en"><head><meta charset="utf-8"><title></title></head><body><div id="root"></div><script src="/app.js"></script></body></html>`)
			return
		}
		d := data(i, *pages)
		var links strings.Builder
		for _, l := range d.Links {
			fmt.Fprintf(&links, `<li><a href="%s">%s</a></li>`, l, l)
		}
		fmt.Fprintf(w, `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>%s</title></head><body><div id="root"><h1>%s</h1><p>%s</p><ul>%s</ul></div><script src="/app.js"></script></body></html>`,
			d.Title, d.Title, d.Text, links.String())
	})
	fmt.Printf("http://%s\n", ln.Addr())
	os.Stdout.Sync()
	if err := http.Serve(ln, mux); err != nil {
		fmt.Fprintln(os.Stderr, "jssite:", err)
		os.Exit(1)
	}
}
