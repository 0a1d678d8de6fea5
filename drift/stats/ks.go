package stats

import "math"

// ksMaxAutoN is scipy's MAX_AUTO_N: ks_2samp is exact up to this size.
const ksMaxAutoN = 10000

// KSStatistic is the two-sided two-sample Kolmogorov–Smirnov statistic:
// the largest absolute difference of the two empirical CDFs. x and y are
// sorted ascending and non-empty.
func KSStatistic(x, y []float64) float64 {
	n1, n2 := float64(len(x)), float64(len(y))
	i, j := 0, 0
	d := 0.0
	for i < len(x) && j < len(y) {
		v := x[i]
		if y[j] < v {
			v = y[j]
		}
		for i < len(x) && x[i] <= v {
			i++
		}
		for j < len(y) && y[j] <= v {
			j++
		}
		if diff := math.Abs(float64(i)/n1 - float64(j)/n2); diff > d {
			d = diff
		}
	}
	return d
}

// KS2 returns the two-sided two-sample Kolmogorov–Smirnov statistic and
// p-value as scipy.stats.ks_2samp(x, y, method="auto") 1.10 does, including
// its rounding of D to a multiple of 1/lcm(n1, n2) in the exact branch.
// x and y are sorted ascending and non-empty.
func KS2(x, y []float64) (d, p float64) {
	return KS2P(len(x), len(y), KSStatistic(x, y))
}

// KS2P is KS2 for a statistic d already computed from samples of n1 and n2
// values: it returns d (rounded as scipy rounds it in the exact branch)
// and the p-value.
func KS2P(n1, n2 int, d float64) (float64, float64) {
	if max(n1, n2) <= ksMaxAutoN {
		if dd, pp, ok := ksExact(n1, n2, d); ok {
			return dd, pp
		} else {
			d = dd
		}
	}
	return d, clip01(KS2Asymptotic(n1, n2, d))
}

// KS2Asymptotic is scipy's large-sample two-sided p-value for a two-sample
// statistic d: kstwo.sf(d, round(n1*n2/(n1+n2))).
func KS2Asymptotic(n1, n2 int, d float64) float64 {
	m, n := float64(max(n1, n2)), float64(min(n1, n2))
	en := m * n / (m + n)
	return clip01(KolmogorovSF(int(math.RoundToEven(en)), d))
}

// ksExact is scipy's _attempt_exact_2kssamp for the two-sided case.
func ksExact(n1, n2 int, d float64) (float64, float64, bool) {
	g := gcd(n1, n2)
	lcm := float64(n1/g) * float64(n2)
	h := int(math.RoundToEven(d * lcm))
	d = float64(h) / lcm
	if h == 0 {
		return d, 1, true
	}
	var p float64
	if n1 == n2 {
		p = probOutsideSquare(n1, h)
	} else {
		p = outerProbInside(n1, n2, g, h)
	}
	if math.IsNaN(p) || math.IsInf(p, 0) || p < 0 || p > 1 {
		return d, p, false
	}
	return d, p, true
}

// probOutsideSquare is Pr(D_{n,n} >= h/n), scipy's
// _compute_prob_outside_square (a Horner-like alternating sum).
func probOutsideSquare(n, h int) float64 {
	p := 0.0
	for k := n / h; k >= 0; k-- {
		p1 := 1.0
		for j := 0; j < h; j++ {
			p1 = float64(n-k*h-j) * p1 / float64(n+k*h+j+1)
		}
		p = p1 * (1 - p)
	}
	return 2 * p
}

// outerProbInside is scipy's _compute_outer_prob_inside_method: the share
// of lattice paths from (0,0) to (m,n) that leave the band
// |x/m - y/n| < h/lcm(m,n), by Viehmann's recursion for 1 - p.
func outerProbInside(m, n, g, h int) float64 {
	if m < n {
		m, n = n, m
	}
	mg, ng := m/g, n/g
	minj, maxj := 0, min(ceilDiv(h, mg), n+1)
	curlen := maxj - minj
	lenA := min(2*maxj+2, n+1)
	a := make([]float64, lenA)
	for i := range a {
		a[i] = 1
	}
	for i := minj; i < maxj; i++ {
		a[i] = 0
	}
	for i := 1; i <= m; i++ {
		lastminj, lastlen := minj, curlen
		minj = max(floorDiv(ng*i-h, mg)+1, 0)
		minj = min(minj, n)
		maxj = min(ceilDiv(ng*i+h, mg), n+1)
		if maxj <= minj {
			return 1
		}
		val := 1.0
		if minj == 0 {
			val = 0
		}
		for jj := 0; jj < maxj-minj; jj++ {
			j := jj + minj
			val = (a[jj+minj-lastminj]*float64(i) + val*float64(j)) / float64(i+j)
			a[jj] = val
		}
		curlen = maxj - minj
		if lastlen > curlen {
			for k := maxj - minj; k < maxj-minj+(lastlen-curlen) && k < len(a); k++ {
				a[k] = 1
			}
		}
	}
	return a[maxj-minj-1]
}

func gcd(a, b int) int {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}

func floorDiv(a, b int) int {
	q := a / b
	if (a%b != 0) && ((a < 0) != (b < 0)) {
		q--
	}
	return q
}

func ceilDiv(a, b int) int { return -floorDiv(-a, b) }

func clip01(p float64) float64 {
	if p < 0 {
		return 0
	}
	if p > 1 {
		return 1
	}
	return p
}
