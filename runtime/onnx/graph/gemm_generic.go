//go:build !amd64

package graph

const haveFMA = false

// gemmRowsFast has no vector kernel on this architecture.
func gemmRowsFast(m, n, k int, a []float32, lda int, b []float32, ldb int, c []float32) bool {
	return false
}
