package timeline_test

import (
	"fmt"
	"slices"
	"testing"

	"github.com/modelfn/modelfn/drift/stats"
	"github.com/modelfn/modelfn/drift/timeline"
	"github.com/modelfn/modelfn/testing/driftsim"
)

func column(rows [][]float64, j int) []float64 {
	x := make([]float64, len(rows))
	for i, r := range rows {
		x[i] = r[j]
	}
	slices.Sort(x)
	return x
}

// wassersteinSeries scores every window of a stream against its reference
// with the normalised Wasserstein distance (drift/stats, Evidently's
// wasserstein_distance_norm), threshold 0.1.
func wassersteinSeries(s *driftsim.Stream) *timeline.Series {
	ref := make([][]float64, len(s.Features))
	for j := range s.Features {
		ref[j] = column(s.Reference.Rows, j)
	}
	out := &timeline.Series{Features: s.Features}
	for _, w := range s.Windows {
		sev := make([]float64, len(s.Features))
		for j := range s.Features {
			sev[j] = stats.WassersteinNorm(ref[j], column(w.Rows, j)) / 0.1
		}
		out.Windows = append(out.Windows, timeline.Window{Start: w.Start, End: w.End, Severity: sev})
	}
	return out
}

func TestExplore(t *testing.T) {
	feats := []string{"mean radius", "worst texture", "mean smoothness"}
	for _, d := range []driftsim.Drift{
		{Type: driftsim.None},
		{Type: driftsim.Sudden, Features: feats, Start: 30, Shift: 0.5},
		{Type: driftsim.Gradual, Features: feats, Start: 30, Length: 36, Shift: 1},
		{Type: driftsim.Temporary, Features: feats, Start: 40, Length: 12, Shift: 0.5},
		{Type: driftsim.Periodic, Features: feats, Start: 30, Length: 8, Period: 24, Shift: 0.5},
	} {
		for seed := uint64(1); seed <= 8; seed++ {
			st, err := driftsim.Generate(driftsim.Config{Seed: seed, Rows: 500, Windows: 120, Drifts: []driftsim.Drift{d}})
			if err != nil {
				t.Fatal(err)
			}
			sr := wassersteinSeries(st)
			eps, err := timeline.Detect(sr, timeline.Options{})
			if err != nil {
				t.Fatal(err)
			}
			fmt.Printf("%s seed %d: %d episodes\n", d.Type, seed, len(eps))
			for _, e := range eps {
				fmt.Printf("   %s [%d,%d) ongoing=%v cycles=%d period=%v score=%.2f %v\n", e.Type, e.FromWindow, e.ToWindow, e.Ongoing, e.Cycles, e.Period, e.Score, e.Features)
			}
		}
	}
}
