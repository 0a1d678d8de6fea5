package graph

import (
	"math"
	"math/rand"
	"testing"
)

// TestGemmKernels: the vector kernel (where the CPU has one) equals the
// plain loops on shapes around its 8- and 32-column tiles.
func TestGemmKernels(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	for _, sz := range [][3]int{{1, 1, 1}, {1, 8, 1}, {3, 10, 7}, {5, 32, 64}, {7, 40, 3}, {2, 64, 64}, {4, 33, 5}, {1000, 64, 64}} {
		m, n, k := sz[0], sz[1], sz[2]
		a := make([]float32, m*k)
		b := make([]float32, k*n)
		for i := range a {
			a[i] = float32(rng.NormFloat64())
		}
		for i := range b {
			b[i] = float32(rng.NormFloat64())
		}
		fast := make([]float32, m*n)
		gemmF32(m, n, k, a, k, false, b, n, false, fast, 1, 0)
		want := make([]float64, m*n)
		for i := 0; i < m; i++ {
			for j := 0; j < n; j++ {
				for p := 0; p < k; p++ {
					want[i*n+j] += float64(a[i*k+p]) * float64(b[p*n+j])
				}
			}
		}
		for i := range want {
			if d := math.Abs(float64(fast[i]) - want[i]); d > 1e-4*math.Max(1, math.Abs(want[i])) {
				t.Fatalf("%v: element %d: %v, want %v", sz, i, fast[i], want[i])
			}
		}
	}
}

// TestExpNonPositive: the softmax exponential is within 1e-9 of math.Exp.
func TestExpNonPositive(t *testing.T) {
	for x := 0.0; x > -750; x -= 0.0137 {
		got, want := expNonPositive(x), math.Exp(x)
		if math.Abs(got-want) > 1e-9*want+1e-300 {
			t.Fatalf("exp(%v) = %v, want %v", x, got, want)
		}
	}
}
