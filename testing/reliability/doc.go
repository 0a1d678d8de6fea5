// Package reliability holds modelfn's reliability suite (issue 8): the
// local server under load, killed with SIGKILL under load, the object
// store going away during batch scoring and monitoring, and hostile input
// against the predict endpoint and the batch, event and log readers.
//
// Everything is in its tests. Plain `go test` (and so `make test` and CI)
// runs the fast size: 5,000 requests, one kill -9 round, fewer outages.
// `make reliability` (MODELFN_RELIABILITY=full) runs the full size and
// prints a summary table. The hostile-input table is HOSTILE.md, written by
// TestHostileInput from the answers it actually got.
package reliability
