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
