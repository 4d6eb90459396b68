package crawler

import "github.com/trawl-dev/trawl/store"

// The frontier types live in package store, next to their Redis and
// journaled forms; the pipeline uses them under these names.
type (
	// Request is one URL waiting to be fetched ([store.Request]).
	Request = store.Request
	// Frontier holds the URLs still to fetch and the seen set
	// ([store.Frontier]).
	Frontier = store.Frontier
	// Consumer is one worker's end of a Frontier ([store.Consumer]).
	Consumer = store.Consumer
)
