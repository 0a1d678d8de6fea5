//go:build race

package local

// raceEnabled: sync.Pool drops items at random under the race detector,
// so allocation counts are only meaningful without it (make test counts
// them in a run of their own).
const raceEnabled = true
