package stats

import (
	"errors"
	"math"
)

// ErrTooFew is returned by tests that need more observations (or more
// distinct values) than they were given.
var ErrTooFew = errors.New("not enough observations")

// pooledRuns walks two sorted samples and calls f once per distinct pooled
// value with how many x and y values equal it and how many pooled values
// lie below it.
func pooledRuns(x, y []float64, f func(v float64, cx, cy, below int)) {
	i, j := 0, 0
	for i < len(x) || j < len(y) {
		var v float64
		switch {
		case i == len(x):
			v = y[j]
		case j == len(y):
			v = x[i]
		default:
			v = math.Min(x[i], y[j])
		}
		i0, j0 := i, j
		for i < len(x) && x[i] <= v {
			i++
		}
		for j < len(y) && y[j] <= v {
			j++
		}
		f(v, i-i0, j-j0, i0+j0)
	}
}

// AndersonKSamp is scipy.stats.anderson_ksamp([x, y], midrank=True) for two
// sorted samples: the standardized statistic and the significance level
// interpolated from Scholz and Stephens' table, capped to [0.001, 0.25] as
// scipy caps it. It needs at least 4 observations in all and two distinct
// values.
func AndersonKSamp(x, y []float64) (a2, sig float64, err error) {
	n1, n2 := len(x), len(y)
	N := n1 + n2
	if n1 == 0 || n2 == 0 || N < 4 {
		return math.NaN(), math.NaN(), ErrTooFew
	}
	Nf := float64(N)
	distinct := 0
	var s1, s2 float64
	// Per distinct value: lj = run length, Bj = below + lj/2,
	// Mij = (count <= v in sample i) - fij/2.
	var le1, le2 int // running counts <= v
	pooledRuns(x, y, func(v float64, cx, cy, below int) {
		distinct++
		lj := float64(cx + cy)
		bj := float64(below) + lj/2
		le1 += cx
		le2 += cy
		den := bj*(Nf-bj) - Nf*lj/4
		m1 := float64(le1) - float64(cx)/2
		m2 := float64(le2) - float64(cy)/2
		d1 := Nf*m1 - bj*float64(n1)
		d2 := Nf*m2 - bj*float64(n2)
		s1 += lj / Nf * d1 * d1 / den
		s2 += lj / Nf * d2 * d2 / den
	})
	if distinct < 2 {
		return math.NaN(), math.NaN(), ErrTooFew
	}
	a2kn := (s1/float64(n1) + s2/float64(n2)) * (Nf - 1) / Nf
	const k = 2.0
	H := 1/float64(n1) + 1/float64(n2)
	// hs_cs[i] = Σ_{j=N-1-i}^{N-1} 1/j for i = 0..N-3; h = Σ_{j=1}^{N-1} 1/j.
	var cum, g float64
	for i := 0; i <= N-3; i++ {
		cum += 1 / float64(N-1-i)
		g += cum / float64(2+i)
	}
	h := cum + 1
	a := (4*g-6)*(k-1) + (10-6*g)*H
	b := (2*g-4)*k*k + 8*h*k + (2*g-14*h-4)*H - 8*h + 4*g - 6
	c := (6*h+2*g-2)*k*k + (4*h-4*g+6)*k + (2*h-6)*H + 4*h
	d := (2*h+6)*k*k - 4*h*k
	sigmasq := (a*Nf*Nf*Nf + b*Nf*Nf + c*Nf + d) / ((Nf - 1) * (Nf - 2) * (Nf - 3))
	const m = k - 1
	a2 = (a2kn - m) / math.Sqrt(sigmasq)
	b0 := []float64{0.675, 1.281, 1.645, 1.96, 2.326, 2.573, 3.085}
	b1 := []float64{-0.245, 0.25, 0.678, 1.149, 1.822, 2.364, 3.615}
	b2 := []float64{-0.105, -0.305, -0.362, -0.391, -0.396, -0.345, -0.154}
	sigs := []float64{0.25, 0.1, 0.05, 0.025, 0.01, 0.005, 0.001}
	crit := make([]float64, 7)
	logSig := make([]float64, 7)
	for i := range crit {
		crit[i] = b0[i] + b1[i]/math.Sqrt(m) + b2[i]/m
		logSig[i] = math.Log(sigs[i])
	}
	switch {
	case a2 < crit[0]:
		return a2, 0.25, nil
	case a2 > crit[6]:
		return a2, 0.001, nil
	}
	return a2, math.Exp(polyval(polyfit2(crit, logSig), a2)), nil
}

// polyfit2 is numpy.polyfit(x, y, 2): least squares by Householder QR on
// the column-scaled Vandermonde matrix. Coefficients highest degree first.
func polyfit2(x, y []float64) []float64 {
	n := len(x)
	const p = 3
	A := make([][p]float64, n)
	for i, v := range x {
		A[i] = [p]float64{v * v, v, 1}
	}
	var scale [p]float64
	for j := 0; j < p; j++ {
		s := 0.0
		for i := range A {
			s += A[i][j] * A[i][j]
		}
		scale[j] = math.Sqrt(s)
		for i := range A {
			A[i][j] /= scale[j]
		}
	}
	b := append([]float64(nil), y...)
	for j := 0; j < p; j++ {
		norm := 0.0
		for i := j; i < n; i++ {
			norm += A[i][j] * A[i][j]
		}
		norm = math.Sqrt(norm)
		if A[j][j] > 0 {
			norm = -norm
		}
		v := make([]float64, n)
		v[j] = A[j][j] - norm
		for i := j + 1; i < n; i++ {
			v[i] = A[i][j]
		}
		vv := 0.0
		for i := j; i < n; i++ {
			vv += v[i] * v[i]
		}
		if vv == 0 {
			continue
		}
		for c := j; c < p; c++ {
			dot := 0.0
			for i := j; i < n; i++ {
				dot += v[i] * A[i][c]
			}
			f := 2 * dot / vv
			for i := j; i < n; i++ {
				A[i][c] -= f * v[i]
			}
		}
		dot := 0.0
		for i := j; i < n; i++ {
			dot += v[i] * b[i]
		}
		f := 2 * dot / vv
		for i := j; i < n; i++ {
			b[i] -= f * v[i]
		}
	}
	coef := make([]float64, p)
	for j := p - 1; j >= 0; j-- {
		s := b[j]
		for c := j + 1; c < p; c++ {
			s -= A[j][c] * coef[c]
		}
		coef[j] = s / A[j][j]
	}
	for j := range coef {
		coef[j] /= scale[j]
	}
	return coef
}

// CramerVonMises2 is scipy.stats.cramervonmises_2samp(x, y, method="auto")
// for two sorted samples of at least two values each: the statistic T (with
// midranks for ties) and its p-value, exact when max(n1, n2) <= 20 and from
// the limiting distribution otherwise.
func CramerVonMises2(x, y []float64) (t, p float64, err error) {
	nx, ny := len(x), len(y)
	if nx <= 1 || ny <= 1 {
		return math.NaN(), math.NaN(), ErrTooFew
	}
	var u1, u2 float64
	ix, iy := 0, 0
	pooledRuns(x, y, func(v float64, cx, cy, below int) {
		mr := float64(below) + float64(cx+cy+1)/2
		for q := 0; q < cx; q++ {
			ix++
			d := mr - float64(ix)
			u1 += d * d
		}
		for q := 0; q < cy; q++ {
			iy++
			d := mr - float64(iy)
			u2 += d * d
		}
	})
	u := float64(nx)*u1 + float64(ny)*u2
	k, N := float64(nx)*float64(ny), float64(nx+ny)
	t = u/(k*N) - (4*k-1)/(6*N)
	if max(nx, ny) <= 20 {
		return t, cvmExactP(u, nx, ny), nil
	}
	et := (1 + 1/N) / 6
	vt := (N + 1) * (4*k*N - 3*(float64(nx*nx)+float64(ny*ny)) - 2*k)
	vt = vt / (45 * N * N * 4 * k)
	tn := 1.0/6 + (t-et)/math.Sqrt(45*vt)
	if tn < 0.003 {
		return t, 1, nil
	}
	return t, math.Max(0, 1-cvmCDFInf(tn)), nil
}

// cvmCDFInf is scipy's _cdf_cvm_inf: the limiting CDF of the Cramér-von
// Mises statistic (Csörgő and Faraway 1996, eq. 1.2), summed until a term
// falls below 1e-7 as scipy does.
func cvmCDFInf(x float64) float64 {
	tot := 0.0
	for k := 0; ; k++ {
		kf := float64(k)
		lg1, _ := math.Lgamma(kf + 0.5)
		lg2, _ := math.Lgamma(kf + 1)
		u := math.Exp(lg1-lg2) / (math.Pow(math.Pi, 1.5) * math.Sqrt(x))
		y := 4*kf + 1
		q := y * y / (16 * x)
		z := u * math.Sqrt(y) * math.Exp(-q) * besselK(0.25, q)
		tot += z
		if math.Abs(z) < 1e-7 {
			return tot
		}
	}
}

// cvmExactP is scipy's _pval_cvm_2samp_exact: the share of rank
// arrangements whose U is at least the observed one, by the frequency
// tables of Xiao et al.'s Algorithm 1.
func cvmExactP(s float64, m, n int) float64 {
	l := m / gcd(m, n) * n
	a, b := l/m, l/n
	mn := m * n
	num := float64(l*l*(m+n)) * (6*s - float64(mn*(4*mn-1)))
	zeta := pyFloorDiv(num, float64(6*mn*mn))
	gs := make([]map[int64]float64, m+1)
	gs[0] = map[int64]float64{0: 1}
	for v := 1; v <= m; v++ {
		gs[v] = map[int64]float64{}
	}
	for u := 0; u <= n; u++ {
		next := make([]map[int64]float64, m+1)
		tmp := map[int64]float64{}
		for v, g := range gs {
			merged := make(map[int64]float64, len(tmp)+len(g))
			shift := int64((a*v - b*u) * (a*v - b*u))
			for val, f := range tmp {
				merged[val] += f
			}
			for val, f := range g {
				merged[val] += f
			}
			tmp = make(map[int64]float64, len(merged))
			for val, f := range merged {
				tmp[val+shift] = f
			}
			next[v] = tmp
		}
		gs = next
	}
	total := 0.0
	for val, f := range gs[m] {
		if float64(val) >= zeta {
			total += f
		}
	}
	return total / binom(m+n, m)
}

// pyFloorDiv is Python's float floor division a // b.
func pyFloorDiv(a, b float64) float64 {
	mod := math.Mod(a, b)
	div := (a - mod) / b
	if mod != 0 && (b < 0) != (mod < 0) {
		div--
	}
	fd := math.Floor(div)
	if div-fd > 0.5 {
		fd++
	}
	return fd
}

func binom(n, k int) float64 {
	r := 1.0
	for i := 1; i <= k; i++ {
		r = r * float64(n-k+i) / float64(i)
	}
	return math.Round(r)
}
