package timeline_test

import (
	"testing"

	"github.com/modelfn/modelfn/drift/timeline"
	"github.com/modelfn/modelfn/testing/driftsim"
)

func BenchmarkStream(b *testing.B) {
	for b.Loop() {
		st, _ := driftsim.Generate(driftsim.Config{Seed: 1, Rows: 500, Windows: 120})
		timeline.Detect(wassersteinSeries(st), timeline.Options{})
	}
}
func BenchmarkGenerate(b *testing.B) {
	for b.Loop() {
		driftsim.Generate(driftsim.Config{Seed: 1, Rows: 500, Windows: 120})
	}
}
func BenchmarkDetect(b *testing.B) {
	st, _ := driftsim.Generate(driftsim.Config{Seed: 1, Rows: 500, Windows: 120})
	s := wassersteinSeries(st)
	for b.Loop() {
		timeline.Detect(s, timeline.Options{})
	}
}
