//go:build race

package local

// raceEnabled: the race detector changes two things here. sync.Pool drops
// items at random under it, so allocation counts are only meaningful
// without it (make test counts them in a run of their own); and it learns
// that a write to a socket happens before the read at the other end only
// from Go's own net package, so the server keeps net's read and write
// under it (see sockets).
const raceEnabled = true
