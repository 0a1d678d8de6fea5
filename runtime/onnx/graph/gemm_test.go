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
	for _, sz := range [][3]int{{1, 1, 1}, {1, 8, 1}, {3, 10, 7}, {5, 32, 64}, {7, 40, 3}, {2, 64, 64}, {4, 33, 5}, {1000, 64, 64}, {1000, 10, 32}, {9, 17, 5}, {8, 47, 3}, {4, 16, 1}} {
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
		// The fused Relu: the same sums clamped at zero.
		clamped := make([]float32, m*n)
		gemmRowsParallel(m, n, k, a, k, b, n, clamped, nil, true)
		for i, v := range clamped {
			if w := max(fast[i], 0); v != w {
				t.Fatalf("%v: relu element %d: %v, want %v", sz, i, v, w)
			}
		}
		// The fused bias: c's starting values ignored, the bias's used.
		bias := make([]float32, n)
		for j := range bias {
			bias[j] = float32(j) - 3
		}
		biased := make([]float32, m*n)
		for i := range biased {
			biased[i] = 1e6 // overwritten, not added to
		}
		gemmRowsParallel(m, n, k, a, k, b, n, biased, bias, false)
		for i, v := range biased {
			w := want[i] + float64(bias[i%n])
			if d := math.Abs(float64(v) - w); d > 1e-4*math.Max(1, math.Abs(w)) {
				t.Fatalf("%v: biased element %d: %v, want %v", sz, i, v, w)
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

// TestExpF32: the vector exponential is within two float32 ulps of
// math.Exp down to -87 (and tiny, not wrong, below).
func TestExpF32(t *testing.T) {
	var xs []float32
	for x := 0.0; x > -87; x -= 0.00731 {
		xs = append(xs, float32(x))
	}
	got := append([]float32(nil), xs...)
	if !expF32s(got) {
		t.Skip("no vector exponential on this CPU")
	}
	for i, x := range xs {
		want := math.Exp(float64(x))
		if d := math.Abs(float64(got[i]) - want); d > 2.4e-7*want {
			t.Fatalf("exp(%v) = %v, want %v (relative error %.2g)", x, got[i], want, d/want)
		}
	}
	low := []float32{-88, -100, -1e30, float32(math.Inf(-1)), 0, 0, 0, 0, -90}
	expF32s(low)
	for i, v := range low[:4] {
		if v < 0 || v > 1.3e-38 {
			t.Fatalf("exp(%v) = %v, want at most 1.2e-38", []float32{-88, -100, -1e30, float32(math.Inf(-1))}[i], v)
		}
	}
}
