package timeline_test

import (
	"math"
	"slices"
	"testing"
	"time"

	"github.com/modelfn/modelfn/drift"
	"github.com/modelfn/modelfn/drift/timeline"
	"github.com/modelfn/modelfn/testing/driftsim"
)

// reportSeries compares every window of a stream with its reference
// through drift.CompareData and collects the reports into a Series with
// AddReport. (drift.Compare on profiles gives the same results below the
// profiles' sample cap, as the drift package's tests show; CompareData
// sorts the reference once, in place, which keeps this test quick.)
func reportSeries(t testing.TB, s *driftsim.Stream, cfg drift.Config) (series *timeline.Series, methods []string) {
	t.Helper()
	cols := make([]drift.Column, len(s.Features))
	for i, f := range s.Features {
		cols[i] = drift.Column{Name: f}
	}
	data := func(rows [][]float64) *drift.Data {
		d := &drift.Data{Columns: cols, Nums: make([][]float64, len(cols))}
		for j := range cols {
			d.Nums[j] = make([]float64, len(rows))
			for i, r := range rows {
				d.Nums[j][i] = r[j]
			}
		}
		return d
	}
	ref := data(s.Reference.Rows)
	out := &timeline.Series{}
	for _, w := range s.Windows {
		rep := drift.CompareData(ref, data(w.Rows), cfg)
		for _, c := range rep.Columns {
			if !slices.Contains(methods, c.Method) {
				methods = append(methods, c.Method)
			}
		}
		out.AddReport(w.Start, w.End, rep)
	}
	return out, methods
}

// A stream with three drifts on different features, scored by
// drift.Compare (Evidently's automatic choice: the normalised Wasserstein
// distance for this 2,000-row reference), gives three episodes, each with
// its type, start and features, ready for the report.
func TestDetectFromReports(t *testing.T) {
	t.Parallel()
	drifts := []driftsim.Drift{
		{Type: driftsim.Periodic, Features: []string{"worst texture"}, Start: 20, Length: 6, Period: 24, Shift: 0.6},
		{Type: driftsim.Sudden, Features: []string{"mean radius", "mean perimeter"}, Start: 40, Shift: 0.5},
		{Type: driftsim.Temporary, Features: []string{"smoothness error"}, Start: 70, Length: 10, Shift: 0.8},
	}
	st, err := driftsim.Generate(driftsim.Config{Seed: 11, Windows: simWindows, Rows: simRows, Drifts: drifts})
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Now()
	series, methods := reportSeries(t, st, drift.Config{})
	if !slices.Equal(methods, []string{drift.MethodWasserstein}) {
		t.Fatalf("methods %v, want wasserstein alone", methods)
	}
	t.Logf("%d windows x %d features compared in %v", len(series.Windows), len(series.Features), time.Since(t0))
	if !slices.Equal(series.Features, st.Features) {
		t.Fatalf("series features %v, want the stream's", series.Features)
	}
	eps, err := timeline.Detect(series, timeline.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(eps) != len(drifts) {
		t.Fatalf("found %d episodes, want %d: %+v", len(eps), len(drifts), eps)
	}
	for i, e := range eps {
		t.Logf("%s %v from window %d to %d, score %.2f", e.Type, e.Features, e.FromWindow, e.ToWindow, e.Score)
		checkEpisode(t, e, st.Truth[i], st)
	}
	report := timeline.ForReport(eps)
	if len(report) != 3 || report[1].Type != "sudden" || !report[1].Start.Equal(st.Windows[40].Start) {
		t.Fatalf("report episodes %+v", report)
	}
	report[1].Features[0] = "changed"
	if eps[1].Features[0] == "changed" {
		t.Fatal("ForReport shares the features slice with the episode")
	}
}

func TestSeverity(t *testing.T) {
	t.Parallel()
	nan := drift.Num(math.NaN())
	for _, c := range []struct {
		name string
		col  drift.ColumnResult
		want float64
	}{
		{"distance at threshold", drift.ColumnResult{Status: drift.StatusOK, Method: drift.MethodWasserstein, Statistic: 0.1, PValue: nan, Threshold: 0.1}, 1},
		{"distance", drift.ColumnResult{Status: drift.StatusOK, Method: drift.MethodPSI, Statistic: 0.35, PValue: nan, Threshold: 0.2}, 1.75},
		{"test at threshold", drift.ColumnResult{Status: drift.StatusOK, Method: drift.MethodKS, Statistic: 0.3, PValue: 0.05, Threshold: 0.05}, 1},
		{"test, p = threshold squared", drift.ColumnResult{Status: drift.StatusOK, Method: drift.MethodChiSquare, Statistic: 9, PValue: 0.0025, Threshold: 0.05}, 2},
		{"test, p = 1", drift.ColumnResult{Status: drift.StatusOK, Method: drift.MethodZ, Statistic: 0, PValue: 1, Threshold: 0.05}, 0},
		{"test, p = 0", drift.ColumnResult{Status: drift.StatusOK, Method: drift.MethodKS, Statistic: 1, PValue: 0, Threshold: 0.05}, math.Log(1e-300) / math.Log(0.05)},
		{"infinite distance", drift.ColumnResult{Status: drift.StatusOK, Method: drift.MethodKL, Statistic: drift.Num(math.Inf(1)), PValue: nan, Threshold: 0.1}, 1e6},
		{"not enough data", drift.ColumnResult{Status: drift.StatusNotEnoughData, Method: drift.MethodKS, Statistic: nan, PValue: nan, Threshold: 0.05}, math.NaN()},
		{"unknown method", drift.ColumnResult{Status: drift.StatusOK, Method: "mystery", Statistic: 1, PValue: nan, Threshold: 0.1}, math.NaN()},
	} {
		got := timeline.Severity(c.col)
		if math.IsNaN(c.want) != math.IsNaN(got) || (!math.IsNaN(got) && math.Abs(got-c.want) > 1e-12) {
			t.Errorf("%s: severity %v, want %v", c.name, got, c.want)
		}
	}
}

// AddReport aligns features by name across reports: a new feature gets
// NaN in earlier windows, a missing one NaN in the new window.
func TestAddReportAlignsFeatures(t *testing.T) {
	t.Parallel()
	nan := drift.Num(math.NaN())
	col := func(name string, stat float64) drift.ColumnResult {
		return drift.ColumnResult{Name: name, Status: drift.StatusOK, Method: drift.MethodWasserstein, Statistic: drift.Num(stat), PValue: nan, Threshold: 0.1}
	}
	t0 := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	var s timeline.Series
	s.AddReport(t0, t0.Add(time.Hour), &drift.Report{Columns: []drift.ColumnResult{col("a", 0.1), col("b", 0.2)}})
	s.AddReport(t0.Add(time.Hour), t0.Add(2*time.Hour), &drift.Report{Columns: []drift.ColumnResult{col("b", 0.3), col("c", 0.4)},
		PredictionDrift: []drift.ColumnResult{col("prediction", 0.5)}})
	if want := []string{"a", "b", "c", "prediction"}; !slices.Equal(s.Features, want) {
		t.Fatalf("features %v, want %v", s.Features, want)
	}
	want := [][]float64{{1, 2, math.NaN(), math.NaN()}, {math.NaN(), 3, 4, 5}}
	for i, w := range s.Windows {
		for j, v := range w.Severity {
			if math.IsNaN(want[i][j]) != math.IsNaN(v) || (!math.IsNaN(v) && math.Abs(v-want[i][j]) > 1e-12) {
				t.Fatalf("window %d severities %v, want %v", i, w.Severity, want[i])
			}
		}
	}
}

// With a reference of 1,000 rows drift.Compare chooses the KS test, whose
// p-values become severities by ln(p)/ln(0.05); each type is still named.
func TestDetectFromKSReports(t *testing.T) {
	t.Parallel()
	only := []string{"mean radius", "mean texture", "worst area", "smoothness error", "worst symmetry"}
	for _, d := range []driftsim.Drift{
		{Type: driftsim.None},
		{Type: driftsim.Sudden, Features: []string{"mean radius"}, Start: 40, Shift: 0.4},
		{Type: driftsim.Gradual, Features: []string{"mean radius", "worst area"}, Start: 40, Length: 36, Shift: 0.5},
		{Type: driftsim.Temporary, Features: []string{"worst area"}, Start: 40, Length: 8, Shift: 0.5},
		{Type: driftsim.Periodic, Features: []string{"mean texture"}, Start: 30, Length: 6, Period: 24, Shift: 0.5},
	} {
		t.Run(string(d.Type), func(t *testing.T) {
			t.Parallel()
			st, err := driftsim.Generate(driftsim.Config{Seed: 1, Windows: simWindows, Rows: 300, ReferenceRows: 1000, Drifts: []driftsim.Drift{d}})
			if err != nil {
				t.Fatal(err)
			}
			series, methods := reportSeries(t, st, drift.Config{Only: only})
			if !slices.Equal(methods, []string{drift.MethodKS}) {
				t.Fatalf("methods %v, want ks alone", methods)
			}
			if len(series.Features) != len(only) {
				t.Fatalf("features %v, want %v", series.Features, only)
			}
			eps, err := timeline.Detect(series, timeline.Options{})
			if err != nil {
				t.Fatal(err)
			}
			if d.Type == driftsim.None {
				if len(eps) != 0 {
					t.Fatalf("control: %+v", eps)
				}
				return
			}
			if len(eps) != 1 {
				t.Fatalf("found %+v, want one %s episode", eps, d.Type)
			}
			checkEpisode(t, eps[0], st.Truth[0], st)
		})
	}
}
