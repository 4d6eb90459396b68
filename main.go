// Command trawl is a concurrent web scraper: it fetches URLs, follows links
// within a scope, and writes one JSON object per page.
package main

import (
	"os"

	"github.com/trawl-dev/trawl/cmd"
)

func main() { os.Exit(cmd.Execute()) }
