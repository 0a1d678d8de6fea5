package timeline_test

import (
	"errors"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/modelfn/modelfn/drift/timeline"
)

var t0 = time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC)

// synthetic builds hourly windows whose severities are 0.5 + N(0, 0.1^2)
// noise plus each feature's drift shape.
func synthetic(n int, seed uint64, shapes map[string]func(w int) float64) *timeline.Series {
	r := rand.New(rand.NewPCG(seed, 5))
	s := &timeline.Series{}
	for name := range shapes {
		s.Features = append(s.Features, name)
	}
	slices.Sort(s.Features)
	for w := range n {
		sev := make([]float64, len(s.Features))
		for i, f := range s.Features {
			sev[i] = 0.5 + 0.1*r.NormFloat64() + shapes[f](w)
		}
		start := t0.Add(time.Duration(w) * time.Hour)
		s.Windows = append(s.Windows, timeline.Window{Start: start, End: start.Add(time.Hour), Severity: sev})
	}
	return s
}

func flat(int) float64 { return 0 }

func step(at int, size float64) func(int) float64 {
	return func(w int) float64 {
		if w >= at {
			return size
		}
		return 0
	}
}

func pulse(from, to int, size float64) func(int) float64 {
	return func(w int) float64 {
		if w >= from && w < to {
			return size
		}
		return 0
	}
}

func ramp(at, length int, size float64) func(int) float64 {
	return func(w int) float64 {
		if w < at {
			return 0
		}
		return size * math.Min(1, float64(w-at+1)/float64(length))
	}
}

func pulses(on int, size float64, starts ...int) func(int) float64 {
	return func(w int) float64 {
		for _, s := range starts {
			if w >= s && w < s+on {
				return size
			}
		}
		return 0
	}
}

func every(period, from, n int) []int {
	var out []int
	for s := from; s < n; s += period {
		out = append(out, s)
	}
	return out
}

// want describes an expected episode: type, windows [from, to) with a
// tolerance on from, and features.
type want struct {
	typ      string
	from, to int
	slack    int
	features []string
	period   time.Duration
}

func TestDetectSynthetic(t *testing.T) {
	t.Parallel()
	const n = 120
	for _, c := range []struct {
		name   string
		shapes map[string]func(int) float64
		opt    timeline.Options
		want   []want
	}{
		{name: "flat", shapes: map[string]func(int) float64{"a": flat, "b": flat}},
		{name: "sub-threshold step", shapes: map[string]func(int) float64{"a": step(40, 0.3)}},
		{name: "sudden", shapes: map[string]func(int) float64{"a": step(40, 3), "b": flat},
			want: []want{{timeline.Sudden, 40, n, 0, []string{"a"}, 0}}},
		{name: "gradual", shapes: map[string]func(int) float64{"a": ramp(40, 30, 3)},
			want: []want{{timeline.Gradual, 40, n, 3, []string{"a"}, 0}}},
		{name: "temporary", shapes: map[string]func(int) float64{"a": pulse(40, 52, 3)},
			want: []want{{timeline.Temporary, 40, 52, 0, []string{"a"}, 0}}},
		{name: "periodic", shapes: map[string]func(int) float64{"a": pulses(6, 3, every(20, 30, n)...)},
			want: []want{{timeline.Periodic, 30, n, 0, []string{"a"}, 20 * time.Hour}}},
		{name: "periodic that stopped", shapes: map[string]func(int) float64{"a": pulses(6, 3, 10, 30, 50, 70)},
			want: []want{{timeline.Periodic, 10, 76, 0, []string{"a"}, 20 * time.Hour}}},
		{name: "irregular recurrences are temporary", shapes: map[string]func(int) float64{"a": pulses(6, 3, 30, 50, 90)},
			want: []want{{timeline.Temporary, 30, 36, 0, []string{"a"}, 0}, {timeline.Temporary, 50, 56, 0, []string{"a"}, 0},
				{timeline.Temporary, 90, 96, 0, []string{"a"}, 0}}},
		{name: "one period is not periodic", shapes: map[string]func(int) float64{"a": pulses(6, 3, 30, 50)},
			want: []want{{timeline.Temporary, 30, 36, 0, []string{"a"}, 0}, {timeline.Temporary, 50, 56, 0, []string{"a"}, 0}}},
		{name: "features grouped by type and onset", shapes: map[string]func(int) float64{
			"a": step(40, 3), "b": step(41, 5), "c": pulse(60, 70, 2), "d": flat},
			want: []want{{timeline.Sudden, 40, n, 0, []string{"a", "b"}, 0}, {timeline.Temporary, 60, 70, 0, []string{"c"}, 0}}},
		{name: "noise spike is no episode", shapes: map[string]func(int) float64{"a": pulse(50, 52, 5)}},
		{name: "drifted throughout, no baseline given", shapes: map[string]func(int) float64{"a": step(0, 3)}},
		{name: "drifted throughout, baseline given", shapes: map[string]func(int) float64{"a": step(0, 3)},
			opt:  timeline.Options{Baselines: map[string]timeline.Baseline{"a": {Mean: 0.5, Std: 0.1}}},
			want: []want{{timeline.Sudden, 0, n, 0, []string{"a"}, 0}}},
	} {
		for seed := uint64(1); seed <= 5; seed++ {
			eps, err := timeline.Detect(synthetic(n, seed, c.shapes), c.opt)
			if err != nil {
				t.Fatalf("%s: %v", c.name, err)
			}
			if len(eps) != len(c.want) {
				t.Errorf("%s, seed %d: %d episodes %+v, want %d", c.name, seed, len(eps), eps, len(c.want))
				continue
			}
			for i, w := range c.want {
				e := eps[i]
				if e.Type != w.typ || e.FromWindow < w.from-w.slack || e.FromWindow > w.from+w.slack || e.ToWindow != w.to ||
					!slices.Equal(e.Features, w.features) || e.Period != w.period || e.Ongoing != (w.to == n) {
					t.Errorf("%s, seed %d: episode %d is %s [%d,%d) %v period %v ongoing %v, want %s [%d±%d,%d) %v period %v",
						c.name, seed, i, e.Type, e.FromWindow, e.ToWindow, e.Features, e.Period, e.Ongoing, w.typ, w.from, w.slack, w.to, w.features, w.period)
				}
			}
		}
	}
}

// Windows without a verdict (NaN) are skipped, not read as a return to
// baseline.
func TestDetectSkipsMissingWindows(t *testing.T) {
	t.Parallel()
	s := synthetic(120, 3, map[string]func(int) float64{"a": step(40, 3)})
	for w := range s.Windows {
		if w%4 == 1 {
			s.Windows[w].Severity[0] = math.NaN()
		}
	}
	eps, err := timeline.Detect(s, timeline.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(eps) != 1 || eps[0].Type != timeline.Sudden || eps[0].FromWindow != 40 || !eps[0].Ongoing {
		t.Fatalf("episodes %+v, want one sudden from window 40", eps)
	}
	if !eps[0].Start.Equal(t0.Add(40*time.Hour)) || !eps[0].End.Equal(t0.Add(120*time.Hour)) {
		t.Fatalf("episode from %v to %v", eps[0].Start, eps[0].End)
	}
}

func TestDetectShortSeries(t *testing.T) {
	t.Parallel()
	eps, err := timeline.Detect(synthetic(7, 1, map[string]func(int) float64{"a": step(3, 3)}), timeline.Options{})
	if err != nil || len(eps) != 0 {
		t.Fatalf("episodes %+v, error %v; want none: too few windows for a baseline", eps, err)
	}
	eps, err = timeline.Detect(&timeline.Series{}, timeline.Options{})
	if err != nil || len(eps) != 0 {
		t.Fatalf("empty series: %+v, %v", eps, err)
	}
}

func TestDetectRejectsBadInput(t *testing.T) {
	t.Parallel()
	s := synthetic(30, 1, map[string]func(int) float64{"a": flat})
	s.Windows[3].Severity = nil
	if _, err := timeline.Detect(s, timeline.Options{}); err == nil {
		t.Error("a window without severities: no error")
	}
	s = synthetic(30, 1, map[string]func(int) float64{"a": flat})
	s.Windows[3].Start, s.Windows[4].Start = s.Windows[4].Start, s.Windows[3].Start
	if _, err := timeline.Detect(s, timeline.Options{}); err == nil || !errors.Is(err, timeline.ErrUnordered) {
		t.Errorf("unordered windows: %v", err)
	}
	for _, opt := range []timeline.Options{{K: -1}, {H: -2}, {MinStd: -1}, {PeriodTolerance: -0.1}, {MinLevel: -1}} {
		if _, err := timeline.Detect(synthetic(30, 1, map[string]func(int) float64{"a": flat}), opt); err == nil {
			t.Errorf("options %+v: no error", opt)
		}
	}
}

func TestEstimateBaseline(t *testing.T) {
	t.Parallel()
	b := timeline.EstimateBaseline([]float64{1, 2, 3, 4, 100, math.NaN()}, 0.01)
	// median 3, absolute deviations 2 1 0 1 97: MAD 1.
	if b.Mean != 3 || math.Abs(b.Std-1.4826) > 1e-12 {
		t.Fatalf("baseline %+v, want mean 3, std 1.4826", b)
	}
	if b := timeline.EstimateBaseline([]float64{2, 2, 2}, 0.05); b.Mean != 2 || b.Std != 0.05 {
		t.Fatalf("constant: %+v, want the floor 0.05", b)
	}
	if b := timeline.EstimateBaseline(nil, 0.05); b.Mean != 0 || b.Std != 0.05 {
		t.Fatalf("empty: %+v", b)
	}
}

// Detect stays cheap: the monitor runs it on every run over a few hundred
// windows.
const benchWindows = 300

func BenchmarkDetect(b *testing.B) {
	shapes := map[string]func(int) float64{}
	for i := range 30 {
		name := string(rune('a'+i%26)) + string(rune('a'+i/26))
		switch i % 5 {
		case 0:
			shapes[name] = step(100, 3)
		case 1:
			shapes[name] = ramp(80, 40, 3)
		case 2:
			shapes[name] = pulses(6, 3, every(24, 50, benchWindows)...)
		default:
			shapes[name] = flat
		}
	}
	s := synthetic(benchWindows, 1, shapes)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := timeline.Detect(s, timeline.Options{}); err != nil {
			b.Fatal(err)
		}
	}
}
