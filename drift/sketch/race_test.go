//go:build race

package sketch

// raceEnabled shortens the million-value checks under the race detector,
// which slows them tenfold.
const raceEnabled = true
