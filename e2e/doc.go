// Package e2e holds trawl's end-to-end tests. TestMain builds the trawl
// binary once; each test starts local httptest sites on 127.0.0.1 and
// runs the binary against them as a subprocess, the way a user or cron
// does: output on a pipe or in a file, exit codes, signals (SIGINT,
// SIGKILL), --resume, --lock, --max-time, crawl scope and limits,
// progress on a non-terminal stderr, and golden files for --help
// (regenerate them with `go test ./e2e -update`).
//
// The tests never sleep to wait for trawl: the sites report the requests
// they receive and can hold them until the test releases them, and the
// tests wait on those events and on trawl's output, always under a
// deadline so that a hang fails the test instead of hanging CI.
package e2e
