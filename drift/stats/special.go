package stats

import "math"

// ChiSquareSF is the chi-squared survival function with df degrees of
// freedom (scipy.stats.chi2.sf), the regularised upper incomplete gamma
// function Q(df/2, x/2).
func ChiSquareSF(x, df float64) float64 {
	if x <= 0 {
		return 1
	}
	return GammaQ(df/2, x/2)
}

// GammaQ is the regularised upper incomplete gamma function Q(a, x), by
// its series below a+1 and Lentz's continued fraction above.
func GammaQ(a, x float64) float64 {
	switch {
	case x <= 0:
		return 1
	case math.IsInf(x, 1):
		return 0
	case x < a+1:
		return 1 - gammaPSeries(a, x)
	default:
		return gammaQFraction(a, x)
	}
}

func logPrefactor(a, x float64) float64 {
	lg, _ := math.Lgamma(a)
	return a*math.Log(x) - x - lg
}

func gammaPSeries(a, x float64) float64 {
	ap, sum, del := a, 1/a, 1/a
	for i := 0; i < 10000; i++ {
		ap++
		del *= x / ap
		sum += del
		if math.Abs(del) < math.Abs(sum)*1e-17 {
			break
		}
	}
	return sum * math.Exp(logPrefactor(a, x))
}

func gammaQFraction(a, x float64) float64 {
	const tiny = 1e-300
	b := x + 1 - a
	c := 1 / tiny
	d := 1 / b
	h := d
	for i := 1; i < 10000; i++ {
		an := -float64(i) * (float64(i) - a)
		b += 2
		d = an*d + b
		if math.Abs(d) < tiny {
			d = tiny
		}
		c = b + an/c
		if math.Abs(c) < tiny {
			c = tiny
		}
		d = 1 / d
		del := d * c
		h *= del
		if math.Abs(del-1) < 1e-17 {
			break
		}
	}
	return math.Exp(logPrefactor(a, x)) * h
}

// besselK is the modified Bessel function of the second kind K_nu(x) for
// x > 0, from K_nu(x) = ∫_0^∞ exp(-x cosh t) cosh(nu t) dt by the
// trapezoid rule, which converges geometrically for this integrand.
func besselK(nu, x float64) float64 {
	if x <= 0 {
		return math.Inf(1)
	}
	const h = 0.02
	sum := 0.5 * math.Exp(-x)
	for t := h; ; t += h {
		e := x * math.Cosh(t)
		if e > 745+nu*t {
			break
		}
		sum += math.Exp(-e) * math.Cosh(nu*t)
	}
	return sum * h
}
