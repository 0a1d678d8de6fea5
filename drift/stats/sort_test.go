package stats

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// SortFloats agrees with slices.Sort on shapes that stress the buckets:
// spread, concentrated, constant, few values, both signs, tiny and huge.
func TestSortFloatsShapes(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(5, 6))
	gens := map[string]func() float64{
		"normal":    rng.NormFloat64,
		"uniform12": func() float64 { return 1 + rng.Float64() },
		"constant":  func() float64 { return 3.25 },
		"few":       func() float64 { return float64(rng.IntN(7)) - 3 },
		"wide":      func() float64 { return math.Ldexp(rng.NormFloat64(), rng.IntN(600)-300) },
		"zeros":     func() float64 { return []float64{0, math.Copysign(0, -1), 1e-300, -1e-300}[rng.IntN(4)] },
		"exp":       func() float64 { return rng.ExpFloat64() * 1e6 },
	}
	for name, g := range gens {
		for _, n := range []int{100, 5000, 70000, 1_000_000} {
			x := make([]float64, n)
			for i := range x {
				x[i] = g()
			}
			want := slices.Clone(x)
			slices.Sort(want)
			SortFloats(x)
			for i := range x {
				if x[i] != want[i] || math.Signbit(x[i]) != math.Signbit(want[i]) && x[i] != 0 {
					t.Fatalf("%s n=%d: index %d is %v, want %v", name, n, i, x[i], want[i])
				}
			}
		}
	}
}
