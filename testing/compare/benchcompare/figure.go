package main

import (
	"fmt"
	"math"
	"slices"
)

// Figure is one quantity measured over several runs: its median and
// spread, and every run's value so the JSON can be re-analysed.
type Figure struct {
	Unit   string    `json:"unit"`
	Median float64   `json:"median"`
	Min    float64   `json:"min"`
	Max    float64   `json:"max"`
	Runs   []float64 `json:"runs"`
}

func newFigure(unit string, runs []float64) Figure {
	f := Figure{Unit: unit, Runs: slices.Clone(runs), Median: math.NaN(), Min: math.NaN(), Max: math.NaN()}
	if len(runs) == 0 {
		return f
	}
	s := slices.Clone(runs)
	slices.Sort(s)
	f.Min, f.Max = s[0], s[len(s)-1]
	if n := len(s); n%2 == 1 {
		f.Median = s[n/2]
	} else {
		f.Median = (s[n/2-1] + s[n/2]) / 2
	}
	return f
}

// Row is one line of the table: modelfn's figure against the
// alternative's, measured in alternating runs.
type Row struct {
	Section string `json:"section"`
	What    string `json:"what"`
	Modelfn Figure `json:"modelfn"`
	Other   Figure `json:"other"`
	Against string `json:"against"` // what Other measured
	// Advantage is how many times better modelfn did, per pair of
	// adjacent runs (other/modelfn for times, latencies and memory;
	// modelfn/other for rates): above 1 modelfn is better.
	Advantage Figure `json:"advantage"`
	// Goal is the advantage the issue asks for (0: none), GoalText how
	// it reads, Met whether the median advantage reaches it.
	Goal     float64 `json:"goal,omitempty"`
	GoalText string  `json:"goal_text,omitempty"`
	Met      *bool   `json:"met,omitempty"`
	Note     string  `json:"note,omitempty"`
}

// compare builds a row from paired runs. higherIsBetter says whether the
// unit is a rate (requests/s, rows/s) or a cost (seconds, MB).
func compare(section, what, against string, m, o Figure, higherIsBetter bool, goal float64, goalText string) Row {
	n := min(len(m.Runs), len(o.Runs))
	adv := make([]float64, 0, n)
	for i := 0; i < n; i++ {
		if higherIsBetter {
			adv = append(adv, m.Runs[i]/o.Runs[i])
		} else {
			adv = append(adv, o.Runs[i]/m.Runs[i])
		}
	}
	r := Row{Section: section, What: what, Modelfn: m, Other: o, Against: against,
		Advantage: newFigure("×", adv), Goal: goal, GoalText: goalText}
	if goal > 0 {
		met := r.Advantage.Median >= goal
		r.Met = &met
	}
	return r
}

// format prints a figure as "median (min–max) unit" with sensible digits.
func (f Figure) format() string {
	if math.IsNaN(f.Median) {
		return "n/a"
	}
	unit := " " + f.Unit
	if f.Unit == "×" {
		unit = f.Unit
	}
	if f.Min == f.Max || len(f.Runs) < 2 {
		return num(f.Median) + unit
	}
	return fmt.Sprintf("%s%s (%s–%s)", num(f.Median), unit, num(f.Min), num(f.Max))
}

func num(v float64) string {
	a := math.Abs(v)
	switch {
	case a >= 1000:
		return commas(int64(math.Round(v)))
	case a >= 100:
		return fmt.Sprintf("%.0f", v)
	case a >= 10:
		return fmt.Sprintf("%.1f", v)
	case a >= 1:
		return fmt.Sprintf("%.2f", v)
	default:
		return fmt.Sprintf("%.3g", v)
	}
}

func commas(n int64) string {
	s := fmt.Sprint(n)
	neg := ""
	if n < 0 {
		neg, s = "-", s[1:]
	}
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return neg + s
}
