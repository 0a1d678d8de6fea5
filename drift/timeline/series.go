package timeline

import (
	"math"
	"slices"
	"time"

	"github.com/modelfn/modelfn/drift"
)

// Series is a sequence of windows, ordered in time, each holding every
// feature's drift severity against the reference.
type Series struct {
	Features []string
	Windows  []Window
}

// Window is one time window. Severity[i] belongs to Features[i]; NaN means
// no verdict (not enough data) and the window is skipped for that feature.
type Window struct {
	Start, End time.Time
	Severity   []float64
}

// maxSeverity caps severities so an infinite statistic or a p-value of 0
// stays a number.
const maxSeverity = 1e6

// Severity puts a column's drift result on one scale for every method: 1
// at the method's threshold, above 1 when the column drifted, 0 for no
// difference at all. Distances give statistic/threshold; tests give
// ln(p)/ln(threshold), so p = threshold is 1 and each tenfold smaller
// p-value adds the same amount. A result without a verdict gives NaN.
func Severity(c drift.ColumnResult) float64 {
	if c.Status != drift.StatusOK || c.Threshold <= 0 {
		return math.NaN()
	}
	_, isTest, ok := drift.DefaultThreshold(c.Method)
	if !ok {
		return math.NaN()
	}
	var s float64
	if isTest {
		p := float64(c.PValue)
		if math.IsNaN(p) || c.Threshold >= 1 {
			return math.NaN()
		}
		s = math.Log(max(p, 1e-300)) / math.Log(c.Threshold)
	} else {
		s = float64(c.Statistic) / c.Threshold
	}
	if math.IsNaN(s) {
		return s
	}
	return min(max(s, 0), maxSeverity)
}

// AddReport appends a window from drift.Compare's report of that window
// against the reference: the severity of every feature column and every
// prediction column (named as in the report). A feature not seen before is
// added, with NaN in earlier windows; one missing from this report gets NaN.
func (s *Series) AddReport(start, end time.Time, r *drift.Report) {
	w := Window{Start: start, End: end, Severity: make([]float64, len(s.Features))}
	for i := range w.Severity {
		w.Severity[i] = math.NaN()
	}
	for _, cols := range [][]drift.ColumnResult{r.Columns, r.PredictionDrift} {
		for _, c := range cols {
			i := slices.Index(s.Features, c.Name)
			if i < 0 {
				s.Features = append(s.Features, c.Name)
				for k := range s.Windows {
					s.Windows[k].Severity = append(s.Windows[k].Severity, math.NaN())
				}
				w.Severity = append(w.Severity, math.NaN())
				i = len(s.Features) - 1
			}
			w.Severity[i] = Severity(c)
		}
	}
	s.Windows = append(s.Windows, w)
}

// Baseline is the level and noise of a feature's severity when nothing
// drifts: the severity is standardised as (severity - Mean) / Std before
// the change detector sees it.
type Baseline struct {
	Mean, Std float64
}

// minBaselineWindows is how many windows an estimated baseline needs.
const minBaselineWindows = 4

// EstimateBaseline estimates a baseline robustly from severities of
// drift-free windows (for instance the reference split into windows, each
// compared with the whole reference, as NannyML does): the median and
// 1.4826 times the median absolute deviation (the standard deviation for
// normal data), at least minStd. NaNs are ignored; with no values it
// returns Mean 0, Std minStd.
func EstimateBaseline(severities []float64, minStd float64) Baseline {
	x := make([]float64, 0, len(severities))
	for _, v := range severities {
		if !math.IsNaN(v) {
			x = append(x, v)
		}
	}
	if len(x) == 0 {
		return Baseline{Mean: 0, Std: minStd}
	}
	m := median(x)
	for i, v := range x {
		x[i] = math.Abs(v - m)
	}
	return Baseline{Mean: m, Std: max(1.4826*median(x), minStd)}
}

// median sorts x in place.
func median(x []float64) float64 {
	slices.Sort(x)
	n := len(x)
	if n%2 == 1 {
		return x[n/2]
	}
	return (x[n/2-1] + x[n/2]) / 2
}
