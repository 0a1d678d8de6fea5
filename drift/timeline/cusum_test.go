package timeline

import (
	"math"
	"math/rand/v2"
	"testing"
)

// runLength is how many observations of N(shift, 1) a fresh chart takes
// to signal (the zero-state run length).
func runLength(c CUSUM, r *rand.Rand, shift float64) int {
	for n := 1; ; n++ {
		if c.Add(shift + r.NormFloat64()) {
			return n
		}
	}
}

// The average run lengths of the CUSUM with K = 1/2 are those Montgomery
// tabulates (Introduction to Statistical Quality Control, the ARL table of
// the tabular CUSUM for k = 1/2 and h = 4 or 5), within 5% (at least three
// standard errors of the simulated mean). His chart is two-sided; ours
// watches one side, so in control it signals half as often: its ARL is
// twice his (ARL = 1/(1/ARL+ + 1/ARL-), Kemp's relation; Siegmund's
// approximation gives 338 and 938 for the one-sided chart). Once shifted,
// the lower side hardly ever signals and his figures are ours.
func TestCUSUMAverageRunLength(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		h, shift, arl float64
		runs          int
	}{
		{4, 0, 2 * 168, 4000},
		{5, 0, 2 * 465, 4000},
		{4, 1, 8.38, 20000},
		{5, 1, 10.4, 20000},
		{4, 2, 3.34, 20000},
		{5, 2, 4.01, 20000},
		{4, 3, 2.19, 20000},
		{5, 3, 2.57, 20000},
	} {
		r := rand.New(rand.NewPCG(uint64(c.h*10+c.shift), 1))
		var sum float64
		for range c.runs {
			sum += float64(runLength(CUSUM{K: 0.5, H: c.h}, r, c.shift))
		}
		got := sum / float64(c.runs)
		if math.Abs(got-c.arl) > 0.05*c.arl {
			t.Errorf("h=%v, shift %v sd: average run length %.3f, Montgomery's %.3f", c.h, c.shift, got, c.arl)
		}
	}
}

// The chart as timeline uses it (K = 1, H = 8) on textbook cases.
func TestCUSUMCases(t *testing.T) {
	t.Parallel()
	const n, at = 2000, 1000
	noise := func(seed uint64) []float64 {
		r := rand.New(rand.NewPCG(seed, 2))
		x := make([]float64, n)
		for i := range x {
			x[i] = r.NormFloat64()
		}
		return x
	}
	step := func(size float64) func([]float64) {
		return func(x []float64) {
			for i := at; i < len(x); i++ {
				x[i] += size
			}
		}
	}
	for _, c := range []struct {
		name     string
		change   func([]float64)
		alarm    bool
		maxDelay int // observations after the change, the first changed one counting 1
		onset    int // the estimated change point's greatest distance from the true one
	}{
		{"stationary", func([]float64) {}, false, 0, 0},
		{"step down 3 sd", step(-3), false, 0, 0},
		{"step up 3 sd", step(3), true, 10, 3},
		{"step up 5 sd", step(5), true, 4, 1},
		{"step up 10 sd", step(10), true, 2, 1},
		// The chart dates a ramp late (Detect re-dates ramps: rampStart).
		{"ramp to 4 sd over 40", func(x []float64) {
			for i := at; i < len(x); i++ {
				x[i] += 4 * math.Min(1, float64(i-at+1)/40)
			}
		}, true, 30, 20},
	} {
		for seed := uint64(1); seed <= 20; seed++ {
			x := noise(seed)
			c.change(x)
			ch := CUSUM{K: 1, H: 8}
			alarmAt := -1
			for i, v := range x {
				if ch.Add(v) {
					alarmAt = i
					break
				}
			}
			switch {
			case !c.alarm && alarmAt >= 0:
				t.Errorf("%s, seed %d: alarm at %d", c.name, seed, alarmAt)
			case c.alarm && alarmAt < at:
				t.Errorf("%s, seed %d: alarm at %d, before the change at %d", c.name, seed, alarmAt, at)
			case c.alarm && alarmAt-at+1 > c.maxDelay:
				t.Errorf("%s, seed %d: alarm %d observations after the change, want at most %d", c.name, seed, alarmAt-at+1, c.maxDelay)
			case c.alarm && abs(ch.Onset()-at) > c.onset:
				t.Errorf("%s, seed %d: onset estimated at %d, change at %d", c.name, seed, ch.Onset(), at)
			}
		}
	}
}

func abs(i int) int {
	if i < 0 {
		return -i
	}
	return i
}

// Page's recursion and the onset, by hand: K = 1, H = 5 on 0, 2, 3, 0, 5
// gives sums 0, 1, 3, 2, 6; the alarm is at the fifth observation and the
// sum was last 0 at the first, so the change began at index 1.
func TestCUSUMByHand(t *testing.T) {
	t.Parallel()
	c := CUSUM{K: 1, H: 5}
	for i, x := range []float64{0, 2, 3, 0, 5} {
		alarm := c.Add(x)
		if want := []float64{0, 1, 3, 2, 6}[i]; c.Sum() != want || alarm != (i == 4) {
			t.Fatalf("after %d observations: sum %v alarm %v, want %v and %v", i+1, c.Sum(), alarm, want, i == 4)
		}
	}
	if c.Onset() != 1 {
		t.Fatalf("onset %d, want 1", c.Onset())
	}
	c.Reset()
	if c.Sum() != 0 || c.Onset() != 0 || c.Add(0) {
		t.Fatal("Reset did not start the chart again")
	}
}
