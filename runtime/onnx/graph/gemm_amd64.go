package graph

import "golang.org/x/sys/cpu"

// The float32 matrix product's inner kernel in AVX2 with FMA, where the
// CPU has them: one row of c, 32 or 8 columns at a time, accumulated in
// registers over the whole inner dimension.

//go:noescape
func sgemmRow32(c, a, b *float32, k, ldb int)

//go:noescape
func sgemmRow8(c, a, b *float32, k, ldb int)

var haveFMA = cpu.X86.HasAVX2 && cpu.X86.HasFMA

// gemmRowsFast computes c += a*b for row-major a (m×k, row length lda),
// b (k×n, row length ldb) and c (m×n), returning false when this CPU has
// no vector kernel.
func gemmRowsFast(m, n, k int, a []float32, lda int, b []float32, ldb int, c []float32) bool {
	if !haveFMA || k == 0 || n < 8 {
		return false
	}
	n8 := n &^ 7
	// Bounds: the kernels read a[i*lda : i*lda+k] and b[p*ldb+j : +32 or 8]
	// for p < k; check the furthest reach once.
	if len(a) < (m-1)*lda+k || len(b) < (k-1)*ldb+n8 || len(c) < m*n {
		return false
	}
	for i := 0; i < m; i++ {
		ci := c[i*n : i*n+n]
		ai := &a[i*lda]
		j := 0
		for ; j+32 <= n8; j += 32 {
			sgemmRow32(&ci[j], ai, &b[j], k, ldb)
		}
		for ; j < n8; j += 8 {
			sgemmRow8(&ci[j], ai, &b[j], k, ldb)
		}
		if j < n {
			// The last n%8 columns, p outer so b is read row by row.
			var acc [8]float32
			tail := acc[:n-j]
			ar := a[i*lda : i*lda+k]
			for p, x := range ar {
				br := b[p*ldb+j : p*ldb+n]
				for q := range tail {
					tail[q] += x * br[q]
				}
			}
			for q, v := range tail {
				ci[j+q] += v
			}
		}
	}
	return true
}
