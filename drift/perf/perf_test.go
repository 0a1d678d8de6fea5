package perf

import (
	"encoding/json"
	"math"
	"os"
	"testing"
)

type sklearnCase struct {
	Name     string             `json:"name"`
	Task     string             `json:"task"`
	Positive string             `json:"positive"`
	Truth    []string           `json:"truth"`
	Pred     []string           `json:"pred"`
	Score    []float64          `json:"score"`
	Y        []float64          `json:"y"`
	YHat     []float64          `json:"yhat"`
	Metrics  map[string]float64 `json:"metrics"`
}

func loadCases(t *testing.T) []sklearnCase {
	b, err := os.ReadFile("testdata/sklearn_cases.json")
	if err != nil {
		t.Fatal(err)
	}
	var f struct{ Cases []sklearnCase }
	if err := json.Unmarshal(b, &f); err != nil {
		t.Fatal(err)
	}
	return f.Cases
}

// build feeds a case in two halves merged, through a JSON round trip, so
// merging and serialisation are part of what the fixtures check.
func build(t *testing.T, c sklearnCase, cap int) Accumulator {
	if c.Task == "regression" {
		a, b := NewRegression(), NewRegression()
		for i := range c.Y {
			if i < len(c.Y)/2 {
				a.Add(c.Y[i], c.YHat[i])
			} else {
				b.Add(c.Y[i], c.YHat[i])
			}
		}
		a.Merge(roundTrip(t, b, NewRegression()))
		return a
	}
	a, b := NewClassification(c.Positive), NewClassification(c.Positive)
	a.ScoreCap, b.ScoreCap = cap, cap
	for i := range c.Truth {
		s := math.NaN()
		if c.Score != nil {
			s = c.Score[i]
		}
		if i < len(c.Truth)/2 {
			a.Add(c.Truth[i], c.Pred[i], s)
		} else {
			b.Add(c.Truth[i], c.Pred[i], s)
		}
	}
	if err := a.Merge(roundTrip(t, b, NewClassification(""))); err != nil {
		t.Fatal(err)
	}
	return a
}

func roundTrip[T any](t *testing.T, v T, into T) T {
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, into); err != nil {
		t.Fatal(err)
	}
	return into
}

func TestMatchesSklearn(t *testing.T) {
	t.Parallel()
	for _, c := range loadCases(t) {
		got := build(t, c, DefaultScoreCap).Metrics()
		for name, want := range c.Metrics {
			if g, ok := got[name]; !ok || math.Abs(g-want) > 1e-9*math.Max(1, math.Abs(want)) {
				t.Errorf("%s: %s = %.17g, scikit-learn %.17g", c.Name, name, g, want)
			}
		}
		if _, ok := got["roc_auc_error_bound"]; ok {
			t.Errorf("%s: exact AUC reported a bound", c.Name)
		}
	}
}

// Past the score cap the AUC is binned and stays within its reported bound.
func TestBinnedAUCWithinBound(t *testing.T) {
	t.Parallel()
	for _, c := range loadCases(t) {
		if c.Score == nil || len(c.Score) <= 50 {
			continue
		}
		want := c.Metrics["roc_auc"]
		got := build(t, c, 50).Metrics()
		bound, ok := got["roc_auc_error_bound"]
		if !ok {
			t.Fatalf("%s: no bound past the cap", c.Name)
		}
		if d := math.Abs(got["roc_auc"] - want); d > bound+1e-12 {
			t.Errorf("%s: binned AUC %.6f vs %.6f: off by %.2g > bound %.2g", c.Name, got["roc_auc"], want, d, bound)
		}
		if math.Abs(got["log_loss"]-c.Metrics["log_loss"]) > 1e-9 {
			t.Errorf("%s: log loss changed with binning", c.Name)
		}
	}
}
