package monitor_test

import (
	"context"
	"testing"
	"time"

	"github.com/modelfn/modelfn/functions/predlog"
	"github.com/modelfn/modelfn/runtime"
	"github.com/modelfn/modelfn/testing/driftsim"
)

// TestDriftOverTime runs the monitor every hour over two days of traffic
// simulated from the example's data, with drift of a known type injected
// at hour 30: the monitor's report names that type, its start and its
// features, carrying the hours that left the window in its history.
func TestDriftOverTime(t *testing.T) {
	if testing.Short() {
		t.Skip("48 monitor runs")
	}
	for _, tc := range []struct {
		drift driftsim.Drift
		want  string
	}{
		{driftsim.Drift{Type: driftsim.Sudden, Features: []string{"mean radius", "worst area"}, Start: 30, Shift: 1.5}, "sudden"},
		{driftsim.Drift{Type: driftsim.Temporary, Features: []string{"mean texture"}, Start: 30, Length: 8, Shift: 1.5}, "temporary"},
	} {
		t.Run(tc.want, func(t *testing.T) {
			start := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
			stream, err := driftsim.Generate(driftsim.Config{Seed: 3, Start: start, Windows: 48, Rows: 300, Drifts: []driftsim.Drift{tc.drift}})
			if err != nil {
				t.Fatal(err)
			}
			now := start
			app := newApp(t, now)
			app.Monitor.Now = func() time.Time { return now }
			s, info := app.Bundle.Schema, app.Model.Info()
			enc := predlog.NewEncoder("breast-cancer", "1", s, info)
			for h, w := range stream.Windows {
				b := runtime.NewBatch(s, len(w.Rows))
				for i, row := range w.Rows {
					rw := b.Begin(i)
					for c, name := range stream.Features {
						col, _ := s.Index(name)
						rw.Number(col, row[c], "")
					}
					if err := rw.End(); err != nil {
						t.Fatal(err)
					}
				}
				out := make([]float64, b.Rows*2)
				app.Model.Predict(context.Background(), b, out)
				var lines predlog.Lines
				for i := 0; i < b.Rows; i++ {
					enc.Append(&lines, &predlog.Record{ID: predlog.NewID(), Time: w.Start.Add(time.Minute), Source: "http", X: b.Row(i), Out: out[2*i : 2*i+2]})
				}
				key := predlog.Partition(app.LogPrefix(), w.Start) + predlog.NewID() + ".jsonl.gz"
				if err := predlog.WriteObject(context.Background(), app.LogBucket, key, lines.Bytes()); err != nil {
					t.Fatal(err)
				}
				now = w.End.Add(-time.Minute)
				r, err := app.Monitor.Run(context.Background())
				if err != nil {
					t.Fatalf("hour %d: %v", h, err)
				}
				if h == len(stream.Windows)-1 {
					if len(r.Report.Episodes) != 1 {
						t.Fatalf("episodes %+v", r.Report.Episodes)
					}
					e := r.Report.Episodes[0]
					wantStart := stream.Truth[0].From
					if e.Type != tc.want || e.Start.Sub(wantStart).Abs() > time.Hour {
						t.Fatalf("episode %+v, want %s from %v", e, tc.want, wantStart)
					}
					for _, f := range tc.drift.Features {
						found := false
						for _, g := range e.Features {
							found = found || g == f
						}
						if !found {
							t.Errorf("episode features %v lack %q", e.Features, f)
						}
					}
				}
			}
		})
	}
}
