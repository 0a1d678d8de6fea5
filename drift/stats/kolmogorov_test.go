package stats

import (
	"encoding/json"
	"math"
	"os"
	"testing"
)

// TestKolmogorovSFMatchesScipy checks kstwo.sf on the grid that
// drift/testdata/gen_fixtures.py evaluates in scipy: every branch of
// scipy's kolmogn (Ruben-Gambino, Durbin, Pomeranz, Pelz-Good, smirnov).
func TestKolmogorovSFMatchesScipy(t *testing.T) {
	t.Parallel()
	b, err := os.ReadFile("../testdata/scipy_cases.json")
	if err != nil {
		t.Fatal(err)
	}
	var f struct {
		KSTwoSF [][3]float64 `json:"kstwo_sf"`
	}
	if err := json.Unmarshal(b, &f); err != nil {
		t.Fatal(err)
	}
	if len(f.KSTwoSF) < 100 {
		t.Fatalf("only %d grid points", len(f.KSTwoSF))
	}
	for _, c := range f.KSTwoSF {
		n, x, want := int(c[0]), c[1], c[2]
		if got := KolmogorovSF(n, x); math.Abs(got-want) > 1e-6 {
			t.Errorf("kstwo.sf(%v, %d) = %.17g, scipy %.17g", x, n, got, want)
		}
	}
}

func TestSortFloats(t *testing.T) {
	t.Parallel()
	x := make([]float64, 5000)
	for i := range x {
		x[i] = math.Sin(float64(i)*12.9898) * 43758.5453
	}
	x[7], x[8] = 0, math.Copysign(0, -1)
	SortFloats(x)
	for i := 1; i < len(x); i++ {
		if x[i] < x[i-1] {
			t.Fatalf("not sorted at %d: %v > %v", i, x[i-1], x[i])
		}
	}
}

// The peak-first smirnov sum equals the full Birnbaum-Tingey sum (both
// carry log-gamma rounding of a few 1e-9 relative at n = 500,000).
func TestSmirnovPeakSum(t *testing.T) {
	t.Parallel()
	for _, n := range []int{1013, 5000, 100001, 500000} {
		for _, e := range []float64{0.001, 0.0025, 0.005, 0.01, 0.02, 0.05, 0.2} {
			fast, full := smirnov(n, e), smirnovFull(n, e)
			if math.Abs(fast-full) > 1e-8*full {
				t.Errorf("smirnov(%d, %v) = %.17g, full sum %.17g", n, e, fast, full)
			}
		}
	}
}

// Distances gives what the separate functions give, exactly.
func TestDistancesMatchesSeparate(t *testing.T) {
	t.Parallel()
	for _, c := range [][2][]float64{
		{{1, 2, 2, 3, 7}, {2, 2, 4}},
		{{0.5}, {0.5}},
		{{-3, -1, 0, 0, 0, 2}, {-2, 0, 5, 5}},
	} {
		d, w1, w2 := Distances(c[0], c[1])
		if d != KSStatistic(c[0], c[1]) || w1 != Wasserstein(c[0], c[1]) || math.Sqrt2*math.Sqrt(w2) != Energy(c[0], c[1]) {
			t.Errorf("%v: Distances %v %v %v", c, d, w1, w2)
		}
	}
	x := make([]float64, 10000)
	for i := range x {
		x[i] = math.Floor(math.Sin(float64(i)*7.1) * 300)
	}
	y := append([]float64(nil), x[:6000]...)
	SortFloats(x)
	SortFloats(y)
	d, w1, _ := Distances(x, y)
	if d != KSStatistic(x, y) || w1 != Wasserstein(x, y) {
		t.Error("Distances differs on tied samples")
	}
}
