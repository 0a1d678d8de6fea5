package drift

import (
	"fmt"
	"math"

	"github.com/modelfn/modelfn/drift/stats"
)

// score is one method's outcome on one column.
type score struct {
	stat, p float64
	source  string
	bound   *float64
	note    string
	err     error
}

func exactOr(ok bool, other string) string {
	if ok {
		return SourceExact
	}
	return other
}

// numericScore computes method on a pair of numeric views.
func numericScore(method string, pr *pair) score {
	r, c := pr.rn, pr.cn
	exact := r.exact && c.exact
	if exact && pr.dist == nil {
		switch method {
		case MethodKS, MethodWasserstein, MethodEnergy:
			d, w1, w2 := stats.Distances(r.sorted, c.sorted)
			pr.dist = &[3]float64{d, w1, w2}
		}
	}
	switch method {
	case MethodKS:
		if exact {
			d, p := stats.KS2P(len(r.sorted), len(c.sorted), pr.dist[0])
			return score{stat: d, p: p, source: SourceExact}
		}
		d := stepSup(r, c)
		b := r.rankError() + c.rankError()
		return score{stat: d, p: stats.KS2Asymptotic(int(r.n), int(c.n), d), source: SourceSketch, bound: &b}
	case MethodWasserstein:
		norm := math.Max(r.stdev(), stats.NormFloor)
		if exact {
			return score{stat: pr.dist[1] / norm, p: math.NaN(), source: SourceExact}
		}
		b := (r.rankError() + c.rankError()) * (math.Max(r.max, c.max) - math.Min(r.min, c.min)) / norm
		return score{stat: stepIntegral(r, c, 1) / norm, p: math.NaN(), source: SourceSketch, bound: &b}
	case MethodEnergy:
		if exact {
			return score{stat: math.Sqrt2 * math.Sqrt(pr.dist[2]), p: math.NaN(), source: SourceExact}
		}
		return score{stat: math.Sqrt2 * math.Sqrt(stepIntegral(r, c, 2)), p: math.NaN(), source: SourceSketch}
	case MethodAnderson:
		a2, p, err := stats.AndersonKSamp(r.sorted, c.sorted)
		return score{stat: a2, p: p, source: exactOr(exact, SourceSample), err: err}
	case MethodCVM:
		t, p, err := stats.CramerVonMises2(r.sorted, c.sorted)
		return score{stat: t, p: p, source: exactOr(exact, SourceSample), err: err}
	case MethodHellinger:
		if exact {
			return score{stat: stats.HellingerNumeric(r.sorted, c.sorted, distinctSorted(r.sorted, c.sorted)), p: math.NaN(), source: SourceExact}
		}
		// Bins over the pooled range from the sketches, as many as
		// Sturges gives for the pooled count (distinct values of a column
		// this large are about as many as its values).
		edges := stats.SturgesEdges(math.Min(r.min, c.min), math.Max(r.max, c.max), int(r.n+c.n))
		rp, cp := stepHist(r, edges), stepHist(c, edges)
		return score{stat: stats.HellingerProportions(rp, cp), p: math.NaN(), source: SourceSketch}
	case MethodPSI, MethodKL, MethodJS:
		rp, cp, _, _, src := numericBinned(r, c)
		return proportionScore(method, rp, cp, src)
	case MethodChiSquare, MethodZ, MethodLInf, MethodTVD:
		rv, rc, rex := r.valueCounts()
		cv, cc, cex := c.valueCounts()
		_, ra, ca := alignValues(rv, rc, cv, cc)
		return countScore(method, ra, ca, exactOr(rex && cex, SourceSample))
	}
	return score{err: fmt.Errorf("unknown method %q", method)}
}

// categoricalScore computes method on two categorical views.
func categoricalScore(method string, r, c *catView) score {
	_, rc, cc := catCounts(r, c)
	src := SourceExact
	var note string
	if r.other > 0 || c.other > 0 {
		src = SourceSketch
		note = "categories past the cap are pooled in " + otherLabel
	}
	switch method {
	case MethodPSI, MethodKL, MethodJS:
		s := proportionScore(method, shares(rc, r.n), shares(cc, c.n), src)
		s.note = note
		return s
	case MethodHellinger:
		return score{stat: stats.HellingerProportions(shares(rc, r.n), shares(cc, c.n)), p: math.NaN(), source: src, note: note}
	}
	s := countScore(method, rc, cc, src)
	s.note = note
	return s
}

func shares(counts []float64, n int64) []float64 {
	out := make([]float64, len(counts))
	for i, v := range counts {
		out[i] = v / float64(n)
	}
	return out
}

func countScore(method string, rc, cc []float64, src string) score {
	switch method {
	case MethodChiSquare:
		st, p := stats.ChiSquareGOF(rc, cc)
		return score{stat: st, p: p, source: src}
	case MethodZ:
		z, p := stats.ZTest2Prop(rc, cc)
		return score{stat: z, p: p, source: src}
	case MethodLInf, MethodTVD:
		rp, cp := shares(rc, sum(rc)), shares(cc, sum(cc))
		if method == MethodLInf {
			return score{stat: stats.LInf(rp, cp), p: math.NaN(), source: src}
		}
		return score{stat: stats.TVD(rp, cp), p: math.NaN(), source: src}
	case MethodHellinger:
		return score{stat: stats.HellingerProportions(shares(rc, sum(rc)), shares(cc, sum(cc))), p: math.NaN(), source: src}
	case MethodPSI, MethodKL, MethodJS:
		return proportionScore(method, shares(rc, sum(rc)), shares(cc, sum(cc)), src)
	}
	return score{err: fmt.Errorf("method %q does not apply here", method)}
}

func sum(x []float64) int64 {
	s := 0.0
	for _, v := range x {
		s += v
	}
	return int64(s)
}

// proportionScore applies a histogram measure to aligned proportions,
// filling zero bins first for PSI and KL as Evidently does (not for JS).
func proportionScore(method string, rp, cp []float64, src string) score {
	switch method {
	case MethodPSI, MethodKL:
		rp, cp = append([]float64(nil), rp...), append([]float64(nil), cp...)
		stats.FillZeroes(rp)
		stats.FillZeroes(cp)
		if method == MethodPSI {
			return score{stat: stats.PSI(rp, cp), p: math.NaN(), source: src}
		}
		return score{stat: stats.KLDiv(rp, cp), p: math.NaN(), source: src}
	}
	return score{stat: stats.JSDistance(rp, cp), p: math.NaN(), source: src}
}

// numericBinned is Evidently's get_binned_data for a numeric column
// (without the zero filling): with more than 20 distinct reference values,
// Sturges bins over the pooled range; otherwise one bin per pooled value.
// Shares are of each side's own count.
func numericBinned(r, c *numView) (rp, cp, edges, vals []float64, src string) {
	if r.few != nil && len(r.few) <= 20 {
		rv, rc, rex := r.valueCounts()
		cv, cc, cex := c.valueCounts()
		var ra, ca []float64
		vals, ra, ca = alignValues(rv, rc, cv, cc)
		return shares(ra, r.n), shares(ca, c.n), nil, vals, exactOr(rex && cex, SourceSample)
	}
	edges = stats.SturgesEdges(math.Min(r.min, c.min), math.Max(r.max, c.max), int(r.n+c.n))
	if r.exact && c.exact {
		return shares(stats.HistCounts(r.sorted, edges), r.n), shares(stats.HistCounts(c.sorted, edges), c.n), edges, nil, SourceExact
	}
	return stepHist(r, edges), stepHist(c, edges), edges, nil, SourceSketch
}

// stepAt is the step CDF at x (share <= x), or just below x when strict.
func stepAt(vals, cdf []float64, x float64, strict bool) float64 {
	lo, hi := 0, len(vals)
	for lo < hi {
		m := (lo + hi) / 2
		if vals[m] < x || (!strict && vals[m] == x) {
			lo = m + 1
		} else {
			hi = m
		}
	}
	if lo == 0 {
		return 0
	}
	return cdf[lo-1]
}

// stepHist is the share of a view in each bin [e_i, e_{i+1}) (the last bin
// closed) from its step CDF.
func stepHist(v *numView, edges []float64) []float64 {
	vals, cdf := v.steps()
	out := make([]float64, len(edges)-1)
	prev := stepAt(vals, cdf, edges[0], true)
	for i := range out {
		cur := stepAt(vals, cdf, edges[i+1], i < len(out)-1)
		out[i] = cur - prev
		prev = cur
	}
	return out
}

// stepSup is the KS distance between two views' step CDFs.
func stepSup(r, c *numView) float64 {
	rv, rc := r.steps()
	cv, cc := c.steps()
	d := 0.0
	walkSteps(rv, rc, cv, cc, func(_, fr, fc, _ float64) {
		d = math.Max(d, math.Abs(fr-fc))
	})
	return d
}

// stepIntegral is ∫|F_r - F_c|^p dx between two views' step CDFs.
func stepIntegral(r, c *numView, p int) float64 {
	rv, rc := r.steps()
	cv, cc := c.steps()
	s := 0.0
	walkSteps(rv, rc, cv, cc, func(_, fr, fc, width float64) {
		d := math.Abs(fr - fc)
		if p == 2 {
			d *= d
		}
		s += d * width
	})
	return s
}

// walkSteps visits each pooled point x of two step functions with both
// CDFs at x and the distance to the next point.
func walkSteps(av, ac, bv, bc []float64, f func(x, fa, fb, width float64)) {
	i, j := 0, 0
	fa, fb := 0.0, 0.0
	for i < len(av) || j < len(bv) {
		var x float64
		switch {
		case i == len(av):
			x = bv[j]
		case j == len(bv):
			x = av[i]
		default:
			x = math.Min(av[i], bv[j])
		}
		if i < len(av) && av[i] == x {
			fa = ac[i]
			i++
		}
		if j < len(bv) && bv[j] == x {
			fb = bc[j]
			j++
		}
		next := math.Inf(1)
		if i < len(av) {
			next = av[i]
		}
		if j < len(bv) {
			next = math.Min(next, bv[j])
		}
		w := 0.0
		if !math.IsInf(next, 1) {
			w = next - x
		}
		f(x, fa, fb, w)
	}
}

func distinctSorted(a, b []float64) int {
	n := 0
	i, j := 0, 0
	for i < len(a) || j < len(b) {
		var v float64
		switch {
		case i == len(a):
			v = b[j]
		case j == len(b):
			v = a[i]
		default:
			v = math.Min(a[i], b[j])
		}
		for i < len(a) && a[i] <= v {
			i++
		}
		for j < len(b) && b[j] <= v {
			j++
		}
		n++
	}
	return n
}
