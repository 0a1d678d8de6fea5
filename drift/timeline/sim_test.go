package timeline_test

import (
	"fmt"
	"testing"

	"github.com/modelfn/modelfn/drift"
	"github.com/modelfn/modelfn/drift/timeline"
	"github.com/modelfn/modelfn/testing/driftsim"
)

// series compares every window of a stream with its reference as the
// monitor does: one profile per window, drift.Compare, severities.
func series(t testing.TB, s *driftsim.Stream, cfg drift.Config) *timeline.Series {
	t.Helper()
	cols := make([]drift.Column, len(s.Features))
	for i, f := range s.Features {
		cols[i] = drift.Column{Name: f}
	}
	ref := drift.NewProfile(cols, drift.ProfileOptions{})
	for _, row := range s.Reference.Rows {
		ref.Add(row, nil)
	}
	out := &timeline.Series{}
	for _, w := range s.Windows {
		cur := drift.NewProfile(cols, drift.ProfileOptions{})
		for _, row := range w.Rows {
			cur.Add(row, nil)
		}
		out.AddReport(w.Start, w.End, drift.Compare(ref, cur, cfg))
	}
	return out
}

func TestExplore(t *testing.T) {
	feats := []string{"mean radius", "worst texture", "mean smoothness"}
	for _, d := range []driftsim.Drift{
		{Type: driftsim.None},
		{Type: driftsim.Sudden, Features: feats, Start: 30, Shift: 0.5},
		{Type: driftsim.Gradual, Features: feats, Start: 20, Length: 36, Shift: 1},
		{Type: driftsim.Temporary, Features: feats, Start: 40, Length: 12, Shift: 0.5},
		{Type: driftsim.Periodic, Features: feats, Start: 10, Length: 8, Period: 24, Shift: 0.5},
	} {
		for seed := uint64(1); seed <= 5; seed++ {
			st, err := driftsim.Generate(driftsim.Config{Seed: seed, Drifts: []driftsim.Drift{d}})
			if err != nil {
				t.Fatal(err)
			}
			sr := series(t, st, drift.Config{})
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
