//go:build !amd64

package graph

const haveFMA = false

// gemmRowsFast has no vector kernel on this architecture.
func gemmRowsFast(m, n, k int, a []float32, lda int, b []float32, ldb int, c, bias []float32, relu bool) bool {
	return false
}

// expF32s has no vector kernel on this architecture.
func expF32s(x []float32) bool { return false }
