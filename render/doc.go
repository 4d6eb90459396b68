// Package render renders fetched pages in headless Chromium for trawl's
// --render, through the chromedp client.
//
// What happens to one page: the crawler fetches it over HTTP as always
// and asks the [Renderer] ([crawler.PageRenderer]) whether to render it
// (always, or under auto when [ShellReason] finds an app-shell signal).
// To render, the Renderer waits for one of its tabs (a
// structured.CapacityLimiter of Config.Tabs), takes a tab of the browser
// context of the page's site (one kept from an earlier page of the site,
// one opened ahead for it, or a new one), intercepts the navigation
// with Fetch.requestPaused and answers it with the bytes already fetched
// (Fetch.fulfillRequest), lets every other request go to the proxy,
// waits as Config.Wait says (capped by Config.Timeout), serialises the
// document, and takes the tab to about:blank, where it waits for the
// next page of the site (a tab is closed after 10 pages, its successor
// opened while it renders its last two; after a page that timed out or
// failed; or when another site needs the room). The crawler then extracts from that
// document. Events are told apart by the document loader they name, so
// that a late event of an earlier page in the tab is never taken for
// one of the page now.
//
// The proxy: Chromium's pages reach the network only through a proxy
// inside trawl that makes each request with the run's crawler.Fetcher
// (robots.txt, per-host limits, body limit, --deny-private), loopback
// included; https is ended in the proxy with certificates made for the
// run. The browser's own traffic goes to a second proxy that refuses
// everything.
//
// The browser process: one Chromium at a time, in its own process group,
// started from a goroutine locked to its OS thread for the browser's
// whole life, with a parent-death signal, so that it dies with trawl even
// on kill -9; trawl is a child subreaper and reaps the group's helpers.
// It is replaced every Config.Recycle pages, and when it crashes (the
// page in flight is rendered once more). [Run] kills every browser before it
// returns, on error, cancellation and panic alike.
//
// CDP: chromedp calls an event listener on the goroutine that reads the
// browser's messages, where sending a command would deadlock: the
// listener only records events and hands those that need an answer to
// a task: paused requests to the page's, dialogs to the tab's, which
// answers them whether or not a page renders in the tab (one left on
// its page runs that page's scripts until its next navigation or its
// close). Every command has a
// deadline (10 s); the few that chromedp ties to the life of a context
// are bounded by a watchdog that closes the tab or kills the browser.
package render
