package timeline_test

import (
	"fmt"
	"testing"

	"github.com/modelfn/modelfn/drift/timeline"
	"github.com/modelfn/modelfn/testing/driftsim"
)

func TestExplore3(t *testing.T) {
	for _, rows := range []int{200, 300} {
		bad := 0
		for seed := uint64(1); seed <= 20; seed++ {
			st, _ := driftsim.Generate(driftsim.Config{Seed: seed, Rows: rows, Windows: 120})
			eps, _ := timeline.Detect(wassersteinSeries(st), timeline.Options{})
			if len(eps) > 0 {
				bad++
				for _, e := range eps {
					fmt.Printf("rows %d seed %d: %s [%d,%d) score=%.2f %v\n", rows, seed, e.Type, e.FromWindow, e.ToWindow, e.Score, e.Features)
				}
			}
		}
		fmt.Println("rows", rows, "streams with false episodes:", bad, "of 20")
	}
}
