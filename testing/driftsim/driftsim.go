// Package driftsim generates streams of time windows with known drift from
// a real dataset, so drift detection can be tested against ground truth.
//
// Each window's rows are drawn with replacement from the dataset (seeded,
// deterministic: math/rand/v2's PCG). A Drift then moves chosen features of
// a row by Shift standard deviations with probability p(w), which depends
// on the window index w and the drift's type:
//
//	none       p = 0 (the control stream)
//	sudden     p = 1 from Start on (an abrupt, persisting shift)
//	gradual    p = (w-Start+1)/Length for Start <= w < Start+Length, then 1:
//	           the drifted distribution's share rises linearly, as a
//	           mixture of the old and new concept (MOA's and river's
//	           ConceptDriftStream mix per instance too, with a sigmoid; a
//	           linear ramp gives an exact start and end for the truth)
//	temporary  p = 1 for Start <= w < Start+Length, then 0 (it reverts)
//	periodic   p = 1 when w >= Start and (w-Start) mod Period < Length
//	           (on for Length windows of every Period: recurring drift)
//
// The bootstrap draws and the mixture coins come from separate generators,
// so streams with the same Seed share every row index and differ only
// where a drift applies: a drifted stream minus its control is exactly the
// injected shift.
package driftsim

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"time"
)

// Type is a kind of drift.
type Type string

const (
	None      Type = "none"
	Sudden    Type = "sudden"
	Gradual   Type = "gradual"
	Periodic  Type = "periodic"
	Temporary Type = "temporary"
)

// Drift is one injected drift.
type Drift struct {
	Type     Type
	Features []string
	// Start is the first window the drift touches.
	Start int
	// Length is the ramp (gradual), how long it lasts before reverting
	// (temporary) or how long it is on in each period (periodic), in
	// windows. Sudden and none ignore it.
	Length int
	// Period is the cycle of a periodic drift, in windows (> Length).
	Period int
	// Shift moves a drifted value by Shift standard deviations of its
	// feature (over the whole dataset). 0 means 1.
	Shift float64
}

// Config describes a stream. Zero fields take the defaults in brackets.
type Config struct {
	Data          *Dataset      // [BreastCancer()]
	Seed          uint64        // generators' seed
	Start         time.Time     // first window's start [2025-01-01T00:00:00Z]
	Window        time.Duration // window length [1h]
	Windows       int           // number of windows [96: four days hourly]
	Rows          int           // rows per window [500]
	ReferenceRows int           // rows of the drift-free reference sample [2000]
	Drifts        []Drift
}

// Sample is a set of rows (features in Stream.Features order) and their labels.
type Sample struct {
	Rows   [][]float64
	Labels []float64 // nil when the dataset has none
}

// Window is one time window of the stream.
type Window struct {
	Start, End time.Time
	Sample
}

// Truth is what was injected: the drift as configured and when it was in
// effect. End is when a temporary drift reverted; drifts that last to the
// end of the stream (sudden, gradual, periodic) have Ongoing set and End
// at the stream's end.
type Truth struct {
	Drift
	From, End time.Time
	Ongoing   bool
}

// Stream is a generated sequence of windows with its ground truth.
type Stream struct {
	Features  []string
	Reference Sample
	Windows   []Window
	Truth     []Truth
}

// Generate builds the stream cfg describes.
func Generate(cfg Config) (*Stream, error) {
	if cfg.Data == nil {
		d, err := BreastCancer()
		if err != nil {
			return nil, err
		}
		cfg.Data = d
	}
	if cfg.Start.IsZero() {
		cfg.Start = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	}
	cfg.Window = cmpOr(cfg.Window, time.Hour)
	cfg.Windows = cmpOr(cfg.Windows, 96)
	cfg.Rows = cmpOr(cfg.Rows, 500)
	cfg.ReferenceRows = cmpOr(cfg.ReferenceRows, 2000)
	data := cfg.Data
	if len(data.Rows) == 0 {
		return nil, fmt.Errorf("driftsim: dataset has no rows")
	}

	var injected []injection
	std := data.std()
	s := &Stream{Features: slices.Clone(data.Features)}
	for i, d := range cfg.Drifts {
		inj, err := newInjection(d, data.Features, std, cfg.Windows, uint64(i+1), cfg.Seed)
		if err != nil {
			return nil, fmt.Errorf("driftsim: drift %d (%s): %w", i, d.Type, err)
		}
		if d.Type == None {
			continue // the control: nothing to inject
		}
		injected = append(injected, inj)
		s.Truth = append(s.Truth, truthOf(inj.Drift, cfg))
	}

	rows := rand.New(rand.NewPCG(cfg.Seed, 0))
	s.Reference = draw(rows, data, cfg.ReferenceRows)
	for w := range cfg.Windows {
		start := cfg.Start.Add(time.Duration(w) * cfg.Window)
		win := Window{Start: start, End: start.Add(cfg.Window), Sample: draw(rows, data, cfg.Rows)}
		for i := range injected {
			injected[i].apply(w, win.Rows)
		}
		s.Windows = append(s.Windows, win)
	}
	return s, nil
}

func cmpOr[T comparable](v, def T) T {
	var zero T
	if v == zero {
		return def
	}
	return v
}

// draw resamples n rows with replacement.
func draw(r *rand.Rand, d *Dataset, n int) Sample {
	s := Sample{Rows: make([][]float64, n)}
	if d.Labels != nil {
		s.Labels = make([]float64, n)
	}
	for i := range n {
		k := r.IntN(len(d.Rows))
		s.Rows[i] = slices.Clone(d.Rows[k])
		if d.Labels != nil {
			s.Labels[i] = d.Labels[k]
		}
	}
	return s
}

// injection is a validated Drift with resolved columns and shifts.
type injection struct {
	Drift
	cols   []int
	shifts []float64
	coins  *rand.Rand
}

func newInjection(d Drift, features []string, std []float64, windows int, stream, seed uint64) (injection, error) {
	if d.Shift == 0 {
		d.Shift = 1
	}
	inj := injection{Drift: d, coins: rand.New(rand.NewPCG(seed, stream))}
	switch d.Type {
	case None:
		return inj, nil
	case Sudden:
	case Gradual, Temporary:
		if d.Length < 1 {
			return inj, fmt.Errorf("length %d: must be at least 1 window", d.Length)
		}
	case Periodic:
		if d.Length < 1 || d.Period <= d.Length {
			return inj, fmt.Errorf("length %d, period %d: need 1 <= length < period", d.Length, d.Period)
		}
	default:
		return inj, fmt.Errorf("unknown type %q", d.Type)
	}
	if d.Start < 0 || d.Start >= windows {
		return inj, fmt.Errorf("start window %d is outside [0, %d)", d.Start, windows)
	}
	if len(d.Features) == 0 {
		return inj, fmt.Errorf("no features to drift")
	}
	for _, f := range d.Features {
		j := slices.Index(features, f)
		if j < 0 {
			return inj, fmt.Errorf("feature %q is not in the dataset", f)
		}
		inj.cols = append(inj.cols, j)
		inj.shifts = append(inj.shifts, d.Shift*std[j])
	}
	return inj, nil
}

// Share is p(w): the probability that a row of window w is drifted.
func (d Drift) Share(w int) float64 {
	if d.Type == None || w < d.Start {
		return 0
	}
	k := w - d.Start
	switch d.Type {
	case Gradual:
		return min(1, float64(k+1)/float64(d.Length))
	case Temporary:
		if k < d.Length {
			return 1
		}
		return 0
	case Periodic:
		if k%d.Period < d.Length {
			return 1
		}
		return 0
	}
	return 1
}

// apply shifts the drifted rows of window w. One coin is drawn per row
// whatever p is, so the coins stay aligned across windows and configs.
func (inj *injection) apply(w int, rows [][]float64) {
	p := inj.Share(w)
	for _, row := range rows {
		if inj.coins.Float64() >= p {
			continue
		}
		for i, j := range inj.cols {
			row[j] += inj.shifts[i]
		}
	}
}

func truthOf(d Drift, cfg Config) Truth {
	at := func(w int) time.Time { return cfg.Start.Add(time.Duration(w) * cfg.Window) }
	t := Truth{Drift: d, From: at(d.Start), End: at(cfg.Windows), Ongoing: true}
	if d.Type == Temporary && d.Start+d.Length < cfg.Windows {
		t.End, t.Ongoing = at(d.Start+d.Length), false
	}
	return t
}
