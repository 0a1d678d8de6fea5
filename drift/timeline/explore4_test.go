package timeline_test

import (
	"fmt"
	"slices"
	"testing"

	"github.com/modelfn/modelfn/testing/driftsim"
)

func TestExplore4(t *testing.T) {
	for _, c := range []struct {
		seed uint64
		f    string
	}{{26, "worst compactness"}, {27, "worst radius"}} {
		st, _ := driftsim.Generate(driftsim.Config{Seed: c.seed, Rows: 500, Windows: 120})
		sr := wassersteinSeries(st)
		f := slices.Index(sr.Features, c.f)
		for i, w := range sr.Windows {
			if i%24 == 0 {
				fmt.Println()
			}
			fmt.Printf(" %.2f", w.Severity[f])
		}
		fmt.Println()
	}
}
