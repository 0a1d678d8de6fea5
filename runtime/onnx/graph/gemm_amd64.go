package graph

import "golang.org/x/sys/cpu"

// The float32 matrix product's inner kernel in AVX2 with FMA, where the
// CPU has them: four rows by 16 columns (masked for the last columns),
// accumulated in registers over the whole inner dimension; and the same
// in AVX-512, 32 columns wide, where the CPU has that (twice the work an
// instruction, which onnxruntime's own kernels use).

//go:noescape
func sgemm4x16(c *float32, ldc int, a *float32, lda int, b *float32, ldb int, k int, mask *int32, bias *float32, relu bool)

//go:noescape
func sgemm4x32(c *float32, ldc int, a *float32, lda int, b *float32, ldb int, k int, mask uint32, bias *float32, relu bool)

//go:noescape
func expF32(x *float32, n int)

var (
	haveFMA    = cpu.X86.HasAVX2 && cpu.X86.HasFMA
	haveAVX512 = haveFMA && cpu.X86.HasAVX512F // x/sys/cpu also checks that the OS saves the registers
)

// expF32s sets x[i] = e^x[i] for x[i] <= 0, within about one float32
// ulp, eight at a time where the CPU can, returning false where it cannot.
func expF32s(x []float32) bool {
	if !haveFMA {
		return false
	}
	n8 := len(x) &^ 7
	if n8 > 0 {
		expF32(&x[0], n8)
	}
	if n8 < len(x) {
		// The last few through the same kernel, so every value is the same
		// wherever it falls (a row scores the same alone and in a batch).
		var tail [8]float32
		copy(tail[:], x[n8:])
		expF32(&tail[0], 8)
		copy(x[n8:], tail[:])
	}
	return true
}

// tailMasks[r] selects the first r of 16 columns for sgemm4x16.
var tailMasks = func() (m [16][16]int32) {
	for r := range m {
		for j := 0; j < r; j++ {
			m[r][j] = -1
		}
	}
	return m
}()

// gemmRowsFast computes c += a*b for row-major a (m×k, row length lda),
// b (k×n, row length ldb) and c (m×n), or c = bias + a*b when bias (n
// values) is given, then clamps c at zero if relu, returning false when
// this CPU has no vector kernel.
func gemmRowsFast(m, n, k int, a []float32, lda int, b []float32, ldb int, c, bias []float32, relu bool) bool {
	if !haveFMA || k == 0 || n < 8 {
		return false
	}
	// Bounds: the kernels read a[i*lda : i*lda+k] and b[p*ldb : p*ldb+n]
	// for p < k; check the furthest reach once.
	if len(a) < (m-1)*lda+k || len(b) < (k-1)*ldb+n || len(c) < m*n || (bias != nil && len(bias) < n) {
		return false
	}
	biasAt := func(j int) *float32 {
		if bias == nil {
			return nil
		}
		return &bias[j]
	}
	tile := func(c []float32, ldc int, a *float32, lda int) {
		if haveAVX512 {
			for j := 0; j < n; j += 32 {
				mask := uint32(uint64(1)<<min(32, n-j) - 1) // the columns left, at most 32
				sgemm4x32(&c[j], ldc, a, lda, &b[j], ldb, k, mask, biasAt(j), relu)
			}
			return
		}
		j := 0
		for ; j+16 <= n; j += 16 {
			sgemm4x16(&c[j], ldc, a, lda, &b[j], ldb, k, nil, biasAt(j), relu)
		}
		if j < n {
			sgemm4x16(&c[j], ldc, a, lda, &b[j], ldb, k, &tailMasks[n-j][0], biasAt(j), relu)
		}
	}
	i := 0
	for ; i+4 <= m; i += 4 {
		tile(c[i*n:], n, &a[i*lda], lda)
	}
	// A row left over runs as four copies of itself (row lengths 0): the
	// same arithmetic in the same order, so a row scores the same alone as
	// in a batch.
	for ; i < m; i++ {
		tile(c[i*n:], 0, &a[i*lda], 0)
	}
	return true
}
