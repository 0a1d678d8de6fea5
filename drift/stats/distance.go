package stats

import (
	"math"
	"slices"
)

// Sorted returns the finite values of x sorted ascending (a new slice),
// and how many values were dropped as NaN or ±Inf.
func Sorted(x []float64) (sorted []float64, dropped int) {
	sorted = make([]float64, 0, len(x))
	for _, v := range x {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			dropped++
			continue
		}
		sorted = append(sorted, v)
	}
	SortFloats(sorted)
	return sorted, dropped
}

// cdfDistance is scipy's _cdf_distance for sorted samples: the integral of
// |F_x - F_y|^p over the pooled support, without the final root.
func cdfDistance(x, y []float64, p int) float64 {
	if len(x) == 0 || len(y) == 0 {
		return math.NaN()
	}
	n1, n2 := float64(len(x)), float64(len(y))
	i, j := 0, 0
	prev := math.Min(x[0], y[0])
	for i < len(x) && x[i] <= prev {
		i++
	}
	for j < len(y) && y[j] <= prev {
		j++
	}
	sum := 0.0
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
		diff := math.Abs(float64(i)/n1 - float64(j)/n2)
		if p == 2 {
			diff *= diff
		}
		sum += diff * (v - prev)
		prev = v
		for i < len(x) && x[i] <= v {
			i++
		}
		for j < len(y) && y[j] <= v {
			j++
		}
	}
	return sum
}

// Distances walks two sorted samples once and returns the two-sample KS
// statistic (as KSStatistic), ∫|F_x - F_y| (the Wasserstein distance) and
// ∫(F_x - F_y)² (energy distance is sqrt(2) times its root), each equal to
// what the separate functions give.
func Distances(x, y []float64) (d, w1, w2 float64) {
	if len(x) == 0 || len(y) == 0 {
		return math.NaN(), math.NaN(), math.NaN()
	}
	n1, n2 := float64(len(x)), float64(len(y))
	i, j := 0, 0
	prev := math.Min(x[0], y[0])
	for i < len(x) && x[i] <= prev {
		i++
	}
	for j < len(y) && y[j] <= prev {
		j++
	}
	d = math.Abs(float64(i)/n1 - float64(j)/n2)
	for i < len(x) || j < len(y) {
		var v float64
		switch {
		case i == len(x):
			v = y[j]
		case j == len(y):
			v = x[i]
		case x[i] < y[j]:
			v = x[i]
		default:
			v = y[j]
		}
		diff := math.Abs(float64(i)/n1 - float64(j)/n2)
		w1 += diff * (v - prev)
		w2 += diff * diff * (v - prev)
		prev = v
		for i < len(x) && x[i] <= v {
			i++
		}
		for j < len(y) && y[j] <= v {
			j++
		}
		if a := math.Abs(float64(i)/n1 - float64(j)/n2); a > d {
			d = a
		}
	}
	return d, w1, w2
}

// Wasserstein is scipy.stats.wasserstein_distance of two sorted samples.
func Wasserstein(x, y []float64) float64 { return cdfDistance(x, y, 1) }

// Energy is scipy.stats.energy_distance of two sorted samples.
func Energy(x, y []float64) float64 { return math.Sqrt2 * math.Sqrt(cdfDistance(x, y, 2)) }

// NormFloor is the smallest reference standard deviation WassersteinNorm
// divides by (Evidently's 0.001).
const NormFloor = 0.001

// WassersteinNorm is Evidently's normalised Wasserstein distance: the
// distance divided by max(std(ref, ddof=0), 0.001). ref and cur are sorted.
func WassersteinNorm(ref, cur []float64) float64 {
	return Wasserstein(ref, cur) / math.Max(Std(ref), NormFloor)
}

// Mean is the arithmetic mean (pairwise summation keeps it close to numpy's).
func Mean(x []float64) float64 {
	if len(x) == 0 {
		return math.NaN()
	}
	return pairwiseSum(x) / float64(len(x))
}

// Std is numpy.std(x) (ddof=0), computed in two passes as numpy does.
func Std(x []float64) float64 {
	if len(x) == 0 {
		return math.NaN()
	}
	m := Mean(x)
	var s float64
	const block = 128
	for lo := 0; lo < len(x); lo += block {
		var b float64
		for _, v := range x[lo:min(lo+block, len(x))] {
			d := v - m
			b += d * d
		}
		s += b
	}
	return math.Sqrt(s / float64(len(x)))
}

func pairwiseSum(x []float64) float64 {
	if len(x) <= 128 {
		s := 0.0
		for _, v := range x {
			s += v
		}
		return s
	}
	h := len(x) / 2
	return pairwiseSum(x[:h]) + pairwiseSum(x[h:])
}

// SturgesEdges are numpy.histogram_bin_edges(a, bins="sturges") for a sample
// of n values spanning [lo, hi]: ceil(ptp / (ptp / (log2 n + 1))) equal bins
// (one bin of width 1 around a constant), edges by numpy.linspace.
func SturgesEdges(lo, hi float64, n int) []float64 {
	first, last := lo, hi
	width := (hi - lo) / (math.Log2(float64(n)) + 1)
	nbins := 1
	if width != 0 {
		nbins = int(math.Ceil((hi - lo) / width))
	}
	if first == last {
		first, last = first-0.5, last+0.5
	}
	return linspace(first, last, nbins+1)
}

// linspace is numpy.linspace(start, stop, num) with endpoint=True.
func linspace(start, stop float64, num int) []float64 {
	out := make([]float64, num)
	div := float64(num - 1)
	delta := stop - start
	step := delta / div
	for i := range out {
		if step == 0 {
			out[i] = float64(i)/div*delta + start
		} else {
			out[i] = float64(i)*step + start
		}
	}
	if num > 1 {
		out[num-1] = stop
	}
	return out
}

// HistCounts counts a sorted sample into bins with the given edges as
// numpy.histogram does when given edges: [e_i, e_{i+1}) except the last
// bin, which includes its right edge. Values outside are not counted.
func HistCounts(sorted, edges []float64) []float64 {
	counts := make([]float64, len(edges)-1)
	if len(counts) == 0 {
		return counts
	}
	lo, _ := slices.BinarySearch(sorted, edges[0]) // first index >= e0
	for i := range counts {
		var hi int
		if i == len(counts)-1 {
			hi = upperBound(sorted, edges[i+1])
		} else {
			hi, _ = slices.BinarySearch(sorted, edges[i+1])
		}
		counts[i] = float64(hi - lo)
		lo = hi
	}
	return counts
}

// upperBound is the number of elements <= v in a sorted slice.
func upperBound(sorted []float64, v float64) int {
	lo, hi := 0, len(sorted)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if sorted[m] <= v {
			lo = m + 1
		} else {
			hi = m
		}
	}
	return lo
}

// FillZeroes is Evidently's "feel_zeroes" step in get_binned_data: zero
// proportions become min(nonzero)/1e6 when that minimum is <= 1e-4, else
// 1e-4. It changes p in place; an all-zero p is left as it is.
func FillZeroes(p []float64) {
	mn := math.Inf(1)
	for _, v := range p {
		if v != 0 && v < mn {
			mn = v
		}
	}
	if math.IsInf(mn, 1) {
		return
	}
	fill := 0.0001
	if mn <= 0.0001 {
		fill = mn / 1e6
	}
	for i, v := range p {
		if v == 0 {
			p[i] = fill
		}
	}
}

// PSI is the population stability index Σ (r-c)·ln(r/c) of two proportion
// vectors, after FillZeroes (Evidently's psi).
func PSI(ref, cur []float64) float64 {
	s := 0.0
	for i := range ref {
		s += (ref[i] - cur[i]) * math.Log(ref[i]/cur[i])
	}
	return s
}

func relEntr(x, y float64) float64 {
	switch {
	case x > 0 && y > 0:
		return x * math.Log(x/y)
	case x == 0 && y >= 0:
		return 0
	default:
		return math.Inf(1)
	}
}

func normalized(p []float64) []float64 {
	s := pairwiseSum(p)
	out := make([]float64, len(p))
	for i, v := range p {
		out[i] = v / s
	}
	return out
}

// KLDiv is scipy.stats.entropy(ref, cur): the Kullback-Leibler divergence of
// the normalised vectors, natural log (Evidently's kl_div, after FillZeroes).
func KLDiv(ref, cur []float64) float64 {
	p, q := normalized(ref), normalized(cur)
	s := 0.0
	for i := range p {
		s += relEntr(p[i], q[i])
	}
	return s
}

// JSDistance is scipy.spatial.distance.jensenshannon(ref, cur) with the
// natural log: the square root of the Jensen-Shannon divergence of the
// normalised vectors (no zero filling).
func JSDistance(ref, cur []float64) float64 {
	p, q := normalized(ref), normalized(cur)
	var l, r float64
	for i := range p {
		m := (p[i] + q[i]) / 2
		l += relEntr(p[i], m)
		r += relEntr(q[i], m)
	}
	return math.Sqrt(math.Max(0, (l+r)/2))
}

// HellingerProportions is Evidently's categorical Hellinger distance:
// sqrt(1 - clip(Σ sqrt(p·q), 0, 1)) over category proportions.
func HellingerProportions(ref, cur []float64) float64 {
	s := 0.0
	for i := range ref {
		s += math.Sqrt(ref[i] * cur[i])
	}
	return math.Sqrt(1 - math.Min(math.Max(s, 0), 1))
}

// HellingerNumeric is Evidently's numeric Hellinger distance for sorted
// samples: density histograms on Sturges edges computed over the pooled
// *distinct* values, weighted by (max-min)/bins. Where Evidently would
// return 1 for two identical constant columns (a zero bin width), this
// returns 0.
func HellingerNumeric(ref, cur []float64, distinctPooled int) float64 {
	lo, hi := math.Min(ref[0], cur[0]), math.Max(ref[len(ref)-1], cur[len(cur)-1])
	if lo == hi {
		return 0
	}
	edges := SturgesEdges(lo, hi, distinctPooled)
	h1, h2 := HistCounts(ref, edges), HistCounts(cur, edges)
	n1, n2 := pairwiseSum(h1), pairwiseSum(h2)
	bw := (hi - lo) / float64(len(h1))
	s := 0.0
	for i := range h1 {
		db := edges[i+1] - edges[i]
		p1 := h1[i] / db / n1
		p2 := h2[i] / db / n2
		s += math.Sqrt(p1*p2) * bw
	}
	return math.Sqrt(1 - math.Min(math.Max(s, 0), 1))
}

// LInf is the L-infinity (Chebyshev) distance of two proportion vectors.
func LInf(ref, cur []float64) float64 {
	d := 0.0
	for i := range ref {
		d = math.Max(d, math.Abs(ref[i]-cur[i]))
	}
	return d
}

// TVD is the total variation distance, half the L1 distance of two
// proportion vectors.
func TVD(ref, cur []float64) float64 {
	s := 0.0
	for i := range ref {
		s += math.Abs(ref[i] - cur[i])
	}
	return s / 2
}

// ChiSquareGOF is Evidently's chi-squared test: scipy.stats.chisquare of the
// current counts against the reference counts scaled to the current total.
// A category never seen in the reference gives an infinite statistic and
// p-value 0, as scipy does. One category alone gives statistic 0, p 1
// (scipy would answer NaN).
func ChiSquareGOF(refCounts, curCounts []float64) (stat, p float64) {
	nr, nc := pairwiseSum(refCounts), pairwiseSum(curCounts)
	if len(refCounts) < 2 {
		return 0, 1
	}
	k := nc / nr
	for i := range refCounts {
		exp := refCounts[i] * k
		d := curCounts[i] - exp
		stat += d * d / exp
	}
	if math.IsInf(stat, 1) {
		return stat, 0
	}
	return stat, ChiSquareSF(stat, float64(len(refCounts)-1))
}

// ZTest2Prop is Evidently's two-proportion z-test on the share of one
// category (index 0) in reference and current counts; it returns z and the
// two-sided p-value 2·(1-Φ(|z|)). Two identical constant columns give z 0,
// p 1 as Evidently special-cases them.
func ZTest2Prop(refCounts, curCounts []float64) (z, p float64) {
	nr, nc := pairwiseSum(refCounts), pairwiseSum(curCounts)
	p1 := (nr - refCounts[0]) / nr // Evidently maps the target category to 0, others to 1
	p2 := (nc - curCounts[0]) / nc
	P := (p1*nr + p2*nc) / (nr + nc)
	den := math.Sqrt(P * (1 - P) * (1/nr + 1/nc))
	if den == 0 {
		return 0, 1
	}
	z = (p1 - p2) / den
	return z, math.Erfc(math.Abs(z) / math.Sqrt2)
}
