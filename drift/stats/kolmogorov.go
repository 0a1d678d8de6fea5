package stats

import "math"

// This file ports scipy.stats._ksstats.kolmogn (scipy 1.10) for the
// survival function of the two-sided one-sample statistic D_n, which is
// what scipy's kstwo.sf evaluates: Simard & L'Ecuyer's choice between the
// Ruben-Gambino closed forms, Durbin's matrix (Marsaglia-Tsang-Wang),
// Pomeranz's recursion, the Pelz-Good expansion and 2·smirnov(n, x).

var (
	ep128 = math.Ldexp(1, 128)
	em128 = math.Ldexp(1, -128)
)

const minLog = -708

// KolmogorovSF is Pr(D_n > x) for the two-sided one-sample
// Kolmogorov-Smirnov statistic with n observations (scipy's kstwo.sf).
func KolmogorovSF(n int, x float64) float64 {
	if n <= 0 || math.IsNaN(x) {
		return math.NaN()
	}
	if x >= 1 {
		return 0
	}
	if x <= 0 {
		return 1
	}
	nf := float64(n)
	t := nf * x
	if t <= 1 {
		if t <= 0.5 {
			return 1
		}
		var prob float64
		if n <= 140 {
			prob = 1
			for i := 1; i <= n; i++ {
				prob *= float64(i) * (1 / nf) * (2*t - 1)
			}
		} else {
			prob = math.Exp(logNFactorialDivNPowN(nf) + nf*math.Log(2*t-1))
		}
		return clip01(1 - prob)
	}
	if t >= nf-1 {
		return clip01(2 * math.Pow(1-x, nf))
	}
	if x >= 0.5 {
		return clip01(2 * smirnov(n, x))
	}
	nxsq := t * x
	if n <= 140 {
		if nxsq <= 0.754693 {
			return clip01(1 - kolmogDurbin(n, x))
		}
		if nxsq <= 4 {
			return clip01(1 - kolmogPomeranz(n, x))
		}
		return clip01(2 * smirnov(n, x))
	}
	if nxsq >= 370 {
		return 0
	}
	if nxsq >= 2.2 {
		return clip01(2 * smirnov(n, x))
	}
	var cdf float64
	if n <= 100000 && nf*math.Pow(x, 1.5) <= 1.4 {
		cdf = kolmogDurbin(n, x)
	} else {
		cdf = kolmogPelzGood(n, x)
	}
	return clip01(1 - cdf)
}

var stirlingCoeffs = []float64{-2.955065359477124183e-2, 6.4102564102564102564e-3,
	-1.9175269175269175269e-3, 8.4175084175084175084e-4,
	-5.952380952380952381e-4, 7.9365079365079365079e-4,
	-2.7777777777777777778e-3, 8.3333333333333333333e-2}

// logNFactorialDivNPowN is log(n!/n^n) by Stirling's series.
func logNFactorialDivNPowN(n float64) float64 {
	rn := 1 / n
	return math.Log(n)/2 - n + math.Log(2*math.Pi)/2 + rn*polyval(stirlingCoeffs, rn/n)
}

// polyval evaluates a polynomial with coefficients highest degree first,
// as numpy.polyval does.
func polyval(c []float64, x float64) float64 {
	y := 0.0
	for _, ci := range c {
		y = y*x + ci
	}
	return y
}

// smirnov is cephes' smirnov(n, e) = Pr(D+_n > e), the Birnbaum-Tingey sum.
// For large n the sum runs in logs and stops once its terms have become
// negligible (they fall monotonically past their peak).
func smirnov(n int, e float64) float64 {
	if !(n > 0 && e >= 0 && e <= 1) {
		return math.NaN()
	}
	if e == 0 {
		return 1
	}
	nf := float64(n)
	nn := int(math.Floor(nf * (1 - e)))
	p := 0.0
	if n < 1013 {
		c := 1.0
		for v := 0; v <= nn; v++ {
			evn := e + float64(v)/nf
			p += c * math.Pow(evn, float64(v-1)) * math.Pow(1-evn, float64(n-v))
			c *= float64(n-v) / float64(v+1)
		}
		return p * e
	}
	// In logs: the terms rise to one peak (often late, near v = n(1-e))
	// and fall. Find the peak by ternary search, then sum outwards until
	// the terms are 40 e-folds below it (what is left cannot move p by a
	// relative 1e-12). smirnovFull is the plain sum, kept for the tests.
	lg := func(x float64) float64 { l, _ := math.Lgamma(x); return l }
	lgn1 := lg(nf + 1)
	term := func(v int) float64 {
		evn := e + float64(v)/nf
		omevn := 1 - evn
		if !(math.Abs(omevn) > 0) {
			return math.Inf(-1)
		}
		return lgn1 - lg(float64(v+1)) - lg(float64(n-v+1)) + float64(v-1)*math.Log(evn) + float64(n-v)*math.Log(omevn)
	}
	lo, hi := 0, nn
	for hi-lo > 2 {
		m1, m2 := lo+(hi-lo)/3, hi-(hi-lo)/3
		if term(m1) < term(m2) {
			lo = m1 + 1
		} else {
			hi = m2
		}
	}
	top, peak := lo, term(lo)
	for v := lo + 1; v <= hi; v++ {
		if t := term(v); t > peak {
			top, peak = v, t
		}
	}
	add := func(t float64) {
		if t > -709.78 {
			p += math.Exp(t)
		}
	}
	// Walk from the peak with the log-gamma part updated by recurrence
	// (log C(n,v+1) - log C(n,v) = log((n-v)/(v+1))): three logs a term
	// instead of three log-gammas.
	rest := func(v int) float64 {
		evn := e + float64(v)/nf
		return float64(v-1)*math.Log(evn) + float64(n-v)*math.Log(1-evn)
	}
	g0 := lgn1 - lg(float64(top+1)) - lg(float64(n-top+1))
	g := g0
	for v := top; v <= nn; v++ {
		if v > top {
			g += math.Log(float64(n-v+1) / float64(v))
		}
		if !(math.Abs(1-(e+float64(v)/nf)) > 0) {
			break
		}
		t := g + rest(v)
		add(t)
		if t < peak-40 {
			break
		}
	}
	g = g0
	for v := top - 1; v >= 0; v-- {
		g -= math.Log(float64(n-v) / float64(v+1))
		t := g + rest(v)
		add(t)
		if t < peak-40 {
			break
		}
	}
	return p * e
}

// smirnovFull is cephes' smirnov summed over every term, the reference the
// faster peak-first sum in smirnov is tested against.
func smirnovFull(n int, e float64) float64 {
	nf := float64(n)
	nn := int(math.Floor(nf * (1 - e)))
	lg := func(x float64) float64 { l, _ := math.Lgamma(x); return l }
	lgn1 := lg(nf + 1)
	p := 0.0
	for v := 0; v <= nn; v++ {
		evn := e + float64(v)/nf
		omevn := 1 - evn
		if math.Abs(omevn) > 0 {
			t := lgn1 - lg(float64(v+1)) - lg(float64(n-v+1)) + float64(v-1)*math.Log(evn) + float64(n-v)*math.Log(omevn)
			if t > -709.78 {
				p += math.Exp(t)
			}
		}
	}
	return p * e
}

// kolmogDurbin is Pr(D_n <= d) by Durbin's matrix method as Marsaglia,
// Tsang and Wang compute it (scipy's _kolmogn_DMTW).
func kolmogDurbin(n int, d float64) float64 {
	if d >= 1 {
		return 1
	}
	nd := float64(n) * d
	if nd <= 0.5 {
		return 0
	}
	k := int(math.Ceil(nd))
	h := float64(k) - nd
	m := 2*k - 1
	H := newMat(m)
	v := make([]float64, m)
	w := make([]float64, m)
	fac := 1.0
	for j := 1; j <= m; j++ {
		v[j-1] = 1 - math.Pow(h, float64(j))
		w[j-1] = fac
		fac /= float64(j)
		v[j-1] *= fac
	}
	tt := math.Pow(math.Max(2*h-1, 0), float64(m)) - 2*math.Pow(h, float64(m))
	v[m-1] = (1 + tt) * fac
	for i := 1; i < m; i++ {
		for r := i - 1; r < m; r++ {
			H.set(r, i, w[r-(i-1)])
		}
	}
	for r := 0; r < m; r++ {
		H.set(r, 0, v[r])
	}
	for c := 0; c < m; c++ {
		H.set(m-1, c, v[m-1-c])
	}
	pw := identity(m)
	expnt, hexpnt := 0, 0
	for nn := n; nn > 0; nn /= 2 {
		if nn%2 == 1 {
			pw = pw.mul(H)
			expnt += hexpnt
		}
		H = H.mul(H)
		hexpnt *= 2
		if math.Abs(H.at(k-1, k-1)) > ep128 {
			H.scale(em128)
			hexpnt += 128
		}
	}
	p := pw.at(k-1, k-1)
	for i := 1; i <= n; i++ {
		p = float64(i) * p / float64(n)
		if math.Abs(p) < em128 {
			p *= ep128
			expnt -= 128
		}
	}
	if expnt != 0 {
		p = math.Ldexp(p, expnt)
	}
	return clip01(p)
}

type mat struct {
	n int
	a []float64
}

func newMat(n int) mat                { return mat{n, make([]float64, n*n)} }
func (m mat) at(i, j int) float64     { return m.a[i*m.n+j] }
func (m mat) set(i, j int, v float64) { m.a[i*m.n+j] = v }
func (m mat) scale(s float64) {
	for i := range m.a {
		m.a[i] *= s
	}
}
func identity(n int) mat {
	m := newMat(n)
	for i := 0; i < n; i++ {
		m.set(i, i, 1)
	}
	return m
}
func (m mat) mul(o mat) mat {
	r := newMat(m.n)
	for i := 0; i < m.n; i++ {
		for k := 0; k < m.n; k++ {
			a := m.a[i*m.n+k]
			if a == 0 {
				continue
			}
			row := o.a[k*m.n : (k+1)*m.n]
			out := r.a[i*m.n : (i+1)*m.n]
			for j, b := range row {
				out[j] += a * b
			}
		}
	}
	return r
}

func pomeranzJ1J2(i, n, ll, ceilf, roundf int) (int, int) {
	var j1, j2 int
	if i == 0 {
		j1, j2 = -ll-ceilf-1, ll+ceilf-1
	} else {
		ip1div2, ip1mod2 := (i+1)/2, (i+1)%2
		if ip1mod2 == 0 {
			if ip1div2 == n+1 {
				j1, j2 = n-ll-ceilf-1, n+ll+ceilf-1
			} else {
				j1, j2 = ip1div2-1-ll-roundf-1, ip1div2+ll-1+ceilf-1
			}
		} else {
			j1, j2 = ip1div2-1-ll-1, ip1div2+ll+roundf-1
		}
	}
	return max(j1+2, 0), min(j2, n)
}

// kolmogPomeranz is Pr(D_n <= x) by Pomeranz's recursion (scipy's
// _kolmogn_Pomeranz).
func kolmogPomeranz(n int, x float64) float64 {
	nf := float64(n)
	t := nf * x
	ll := int(math.Floor(t))
	f := t - float64(ll)
	g := math.Min(f, 1-f)
	ceilf, roundf := 0, 0
	if f > 0 {
		ceilf = 1
	}
	if f > 0.5 {
		roundf = 1
	}
	npwrs := 2 * (ll + 1)
	gp := make([]float64, npwrs)
	tgp := make([]float64, npwrs)
	omp := make([]float64, npwrs)
	gp[0], tgp[0], omp[0] = 1, 1, 1
	gn, tgn, omn := g/nf, 2*g/nf, (1-2*g)/nf
	for m := 1; m < npwrs; m++ {
		gp[m] = gp[m-1] * gn / float64(m)
		tgp[m] = tgp[m-1] * tgn / float64(m)
		omp[m] = omp[m-1] * omn / float64(m)
	}
	V0 := make([]float64, npwrs)
	V1 := make([]float64, npwrs)
	V1[0] = 1
	V0s, V1s := 0, 0
	expnt := 0
	j1, j2 := pomeranzJ1J2(0, n, ll, ceilf, roundf)
	conv := make([]float64, 0, 2*npwrs)
	for i := 1; i < 2*n+2; i++ {
		k1 := j1
		V0, V1 = V1, V0
		V0s, V1s = V1s, V0s
		for q := range V1 {
			V1[q] = 0
		}
		j1, j2 = pomeranzJ1J2(i, n, ll, ceilf, roundf)
		var pwrs []float64
		switch {
		case i == 1 || i == 2*n+1:
			pwrs = gp
		case i%2 == 1:
			pwrs = tgp
		default:
			pwrs = omp
		}
		ln2 := j2 - k1 + 1
		if ln2 > 0 {
			a := pySlice(V0, k1-V0s, k1-V0s+ln2)
			b := pySlice(pwrs, 0, ln2)
			conv = convolve(conv[:0], a, b)
			convStart := j1 - k1
			convLen := j2 - j1 + 1
			src := pySlice(conv, convStart, convStart+convLen)
			copy(V1[:min(convLen, len(V1))], src)
			mx := math.Inf(-1)
			for _, q := range V1 {
				mx = math.Max(mx, q)
			}
			if 0 < mx && mx < em128 {
				for q := range V1 {
					V1[q] *= ep128
				}
				expnt -= 128
			}
			V1s = V0s + j1 - k1
		}
	}
	ans := V1[n-V1s]
	for m := 1; m <= n; m++ {
		if math.Abs(ans) > ep128 {
			ans *= em128
			expnt += 128
		}
		ans *= float64(m)
	}
	if expnt != 0 {
		ans = math.Ldexp(ans, expnt)
	}
	return clip01(ans)
}

// pySlice is s[lo:hi] with Python's rules for out-of-range bounds.
func pySlice(s []float64, lo, hi int) []float64 {
	n := len(s)
	norm := func(i int) int {
		if i < 0 {
			i += n
			if i < 0 {
				i = 0
			}
		}
		if i > n {
			i = n
		}
		return i
	}
	lo, hi = norm(lo), norm(hi)
	if hi < lo {
		return nil
	}
	return s[lo:hi]
}

// convolve is numpy.convolve(a, b, mode="full").
func convolve(dst, a, b []float64) []float64 {
	if len(a) == 0 || len(b) == 0 {
		return dst[:0]
	}
	n := len(a) + len(b) - 1
	dst = append(dst[:0], make([]float64, n)...)
	for i, x := range a {
		for j, y := range b {
			dst[i+j] += x * y
		}
	}
	return dst
}

// kolmogPelzGood is the Pelz-Good approximation to Pr(D_n <= x) (scipy's
// _kolmogn_PelzGood), unclipped as scipy leaves it.
func kolmogPelzGood(n int, x float64) float64 {
	if x <= 0 {
		return 0
	}
	if x >= 1 {
		return 1
	}
	const pi2, pi4, pi6 = math.Pi * math.Pi, math.Pi * math.Pi * math.Pi * math.Pi, math.Pi * math.Pi * math.Pi * math.Pi * math.Pi * math.Pi
	sqrt2pi := math.Sqrt(2 * math.Pi)
	z := math.Sqrt(float64(n)) * x
	z2, z3, z4, z6 := z*z, z*z*z, z*z*z*z, math.Pow(z, 6)
	qlog := -pi2 / 8 / z2
	if qlog < minLog {
		return 0
	}
	q := math.Exp(qlog)
	k1a := -z2
	k1b := pi2 / 4
	k2a := 6*z6 + 2*z4
	k2b := (2*z4 - 5*z2) * pi2 / 4
	k2c := pi4 * (1 - 2*z2) / 16
	k3d := pi6 * (5 - 30*z2) / 64
	k3c := pi4 * (-60*z2 + 212*z4) / 16
	k3b := pi2 * (135*z4 - 96*z6) / 4
	k3a := -30*z6 - 90*math.Pow(z, 8)
	var K [4]float64
	maxk := int(math.Ceil(16 * z / math.Pi))
	for k := maxk; k > 0; k-- {
		m := float64(2*k - 1)
		m2, m4, m6 := m*m, m*m*m*m, math.Pow(m, 6)
		qp := math.Pow(q, float64(8*k))
		c := [4]float64{1, k1a + k1b*m2, k2a + k2b*m2 + k2c*m4, k3a + k3b*m2 + k3c*m4 + k3d*m6}
		for i := range K {
			K[i] = K[i]*qp + c[i]
		}
	}
	den := [4]float64{z, 6 * z4, 72 * math.Pow(z, 7), 6480 * math.Pow(z, 10)}
	for i := range K {
		K[i] = K[i] * q * sqrt2pi / den[i]
	}
	q = math.Exp(-pi2 / 2 / z2)
	sqrt3z := math.Sqrt(3) * z
	var k2extra, k3extra float64
	for k := maxk; k > 0; k-- {
		kf := float64(k)
		qk := math.Pow(q, kf*kf)
		k2extra += kf * kf * qk
		kspi := math.Pi * kf
		k3extra += (sqrt3z + kspi) * (sqrt3z - kspi) * kf * kf * qk
	}
	K[2] += k2extra * pi2 * sqrt2pi / (-36 * z3)
	K[3] += k3extra * pi2 * sqrt2pi / (216 * z6)
	sum := 0.0
	for i := range K {
		sum += K[i] / math.Pow(float64(n), float64(i)/2)
	}
	return sum
}
