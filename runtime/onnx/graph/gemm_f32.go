package graph

// gemmF32 computes c = alpha*op(a)*op(b) + beta*c in float32, c being m×n
// row-major. lda and ldb are the row lengths of a and b as stored. The
// common layout (neither transposed) updates four rows of c per pass over
// a row of b, so each b element loaded feeds four multiply-adds.
func gemmF32(m, n, k int, a []float32, lda int, ta bool, b []float32, ldb int, tb bool, c []float32, alpha, beta float32) {
	c = c[:m*n]
	switch beta {
	case 0:
		clear(c)
	case 1:
	default:
		for i := range c {
			c[i] *= beta
		}
	}
	if m == 0 || n == 0 || k == 0 {
		return
	}
	if !ta && !tb && alpha == 1 && haveFMA && n >= 8 {
		gemmRowsParallel(m, n, k, a, lda, b, ldb, c, nil, false)
		return
	}
	aAt := func(i, p int) float32 {
		if ta {
			return a[p*lda+i]
		}
		return a[i*lda+p]
	}
	if tb {
		// c[i,j] += alpha * dot(row i of op(a), row j of b).
		for i := 0; i < m; i++ {
			ci := c[i*n : (i+1)*n]
			for j := 0; j < n; j++ {
				bj := b[j*ldb : j*ldb+k]
				var s0, s1, s2, s3 float32
				p := 0
				if !ta {
					ai := a[i*lda : i*lda+k]
					for ; p+4 <= k; p += 4 {
						s0 += ai[p] * bj[p]
						s1 += ai[p+1] * bj[p+1]
						s2 += ai[p+2] * bj[p+2]
						s3 += ai[p+3] * bj[p+3]
					}
				}
				for ; p < k; p++ {
					s0 += aAt(i, p) * bj[p]
				}
				ci[j] += alpha * (s0 + s1 + s2 + s3)
			}
		}
		return
	}
	i := 0
	if !ta {
		for ; i+4 <= m; i += 4 {
			c0 := c[i*n : (i+1)*n]
			c1 := c[(i+1)*n : (i+2)*n]
			c2 := c[(i+2)*n : (i+3)*n]
			c3 := c[(i+3)*n : (i+4)*n]
			a0 := a[i*lda : i*lda+k]
			a1 := a[(i+1)*lda : (i+1)*lda+k]
			a2 := a[(i+2)*lda : (i+2)*lda+k]
			a3 := a[(i+3)*lda : (i+3)*lda+k]
			for p := 0; p < k; p++ {
				x0, x1, x2, x3 := alpha*a0[p], alpha*a1[p], alpha*a2[p], alpha*a3[p]
				bp := b[p*ldb : p*ldb+n]
				bp = bp[:len(c0)]
				for j, bv := range bp {
					c0[j] += x0 * bv
					c1[j] += x1 * bv
					c2[j] += x2 * bv
					c3[j] += x3 * bv
				}
			}
		}
	}
	for ; i < m; i++ {
		ci := c[i*n : (i+1)*n]
		for p := 0; p < k; p++ {
			x := alpha * aAt(i, p)
			if x == 0 {
				continue
			}
			bp := b[p*ldb : p*ldb+n]
			bp = bp[:len(ci)]
			for j, bv := range bp {
				ci[j] += x * bv
			}
		}
	}
}

// gemmSplitCost discounts a product's multiply-adds when deciding whether
// to split it over CPUs: the vector kernel keeps the FMA units busy, and
// where CPUs are hyperthreads of one core (as cloud vCPUs often are) two
// halves run no faster than the whole, so only large products split.
const gemmSplitCost = 16

// gemmRowsParallel is gemmRowsFast over blocks of rows, one per CPU when
// the product is large enough.
func gemmRowsParallel(m, n, k int, a []float32, lda int, b []float32, ldb int, c, bias []float32, relu bool) {
	if !worthSplitting(m, m*n*k/gemmSplitCost) {
		gemmRows(m, n, k, a, lda, b, ldb, c, bias, relu) // no closure: a small product allocates nothing
		return
	}
	parallelRows(m, m*n*k/gemmSplitCost, func(lo, hi int) {
		gemmRows(hi-lo, n, k, a[lo*lda:], lda, b, ldb, c[lo*n:hi*n], bias, relu)
	})
}

func gemmRows(m, n, k int, a []float32, lda int, b []float32, ldb int, c, bias []float32, relu bool) {
	if !gemmRowsFast(m, n, k, a, lda, b, ldb, c, bias, relu) {
		if bias != nil {
			for i := 0; i < m; i++ {
				copy(c[i*n:(i+1)*n], bias)
			}
		}
		gemmRowsGo(m, n, k, a, lda, b, ldb, c)
		if relu {
			reluF32(c)
		}
	}
}

func reluF32(c []float32) {
	for i, v := range c {
		c[i] = max(v, 0)
	}
}

// gemmRowsGo is the plain c += a*b over row-major matrices.
func gemmRowsGo(m, n, k int, a []float32, lda int, b []float32, ldb int, c []float32) {
	for i := 0; i < m; i++ {
		ci := c[i*n : (i+1)*n]
		for p := 0; p < k; p++ {
			x := a[i*lda+p]
			bp := b[p*ldb : p*ldb+n]
			for j, bv := range bp {
				ci[j] += x * bv
			}
		}
	}
}
