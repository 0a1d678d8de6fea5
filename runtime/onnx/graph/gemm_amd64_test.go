package graph

import (
	"math"
	"math/rand"
	"testing"
)

// TestGemmAVX512SameBits: the AVX-512 kernel gives the AVX2 kernel's
// bits, bias and Relu included, so a model scores the same on either CPU.
func TestGemmAVX512SameBits(t *testing.T) {
	if !haveAVX512 {
		t.Skip("no AVX-512 on this CPU")
	}
	rng := rand.New(rand.NewSource(2))
	for _, sz := range [][3]int{{1, 8, 1}, {3, 10, 7}, {5, 32, 64}, {7, 40, 3}, {4, 33, 5}, {6, 64, 64}, {9, 17, 5}, {8, 47, 3}, {5, 100, 9}} {
		m, n, k := sz[0], sz[1], sz[2]
		a, b, bias := make([]float32, m*k), make([]float32, k*n), make([]float32, n)
		for i := range a {
			a[i] = float32(rng.NormFloat64())
		}
		for i := range b {
			b[i] = float32(rng.NormFloat64())
		}
		for i := range bias {
			bias[i] = float32(rng.NormFloat64())
		}
		for _, withBias := range []bool{false, true} {
			for _, relu := range []bool{false, true} {
				var bs []float32
				if withBias {
					bs = bias
				}
				run := func(avx512 bool) []float32 {
					defer func(was bool) { haveAVX512 = was }(haveAVX512)
					haveAVX512 = avx512
					c := make([]float32, m*n)
					for i := range c {
						c[i] = float32(i%3) - 1 // added to unless there is a bias
					}
					if !gemmRowsFast(m, n, k, a, k, b, n, c, bs, relu) {
						t.Fatalf("%v: no vector kernel", sz)
					}
					return c
				}
				wide, narrow := run(true), run(false)
				for i := range wide {
					if math.Float32bits(wide[i]) != math.Float32bits(narrow[i]) {
						t.Fatalf("%v bias=%v relu=%v: element %d: AVX-512 %v, AVX2 %v", sz, withBias, relu, i, wide[i], narrow[i])
					}
				}
			}
		}
	}
}
