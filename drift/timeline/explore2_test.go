package timeline_test

import (
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/modelfn/modelfn/drift"
	"github.com/modelfn/modelfn/testing/driftsim"
)

func TestExplore2(t *testing.T) {
	st, _ := driftsim.Generate(driftsim.Config{Seed: 1})
	t0 := time.Now()
	sr := series(t, st, drift.Config{})
	fmt.Println("series took", time.Since(t0))
	for f, name := range sr.Features[:10] {
		var s, ss float64
		mn, mx := math.Inf(1), math.Inf(-1)
		for _, w := range sr.Windows {
			v := w.Severity[f]
			s += v
			ss += v * v
			mn = min(mn, v)
			mx = max(mx, v)
		}
		n := float64(len(sr.Windows))
		m := s / n
		fmt.Printf("%-25s mean %.3f sd %.3f min %.3f max %.3f\n", name, m, math.Sqrt(ss/n-m*m), mn, mx)
	}
}
