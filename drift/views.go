package drift

import (
	"math"
	"slices"
	"sort"

	"github.com/modelfn/modelfn/drift/sketch"
	"github.com/modelfn/modelfn/drift/stats"
)

// numView is what the comparison needs of one numeric column, from raw
// data or a profile: sorted values (all of them when exact, else the
// profile's uniform sample), the sketch when not exact, and moments.
type numView struct {
	n        int64
	sorted   []float64
	exact    bool
	sk       *sketch.KLL
	std      float64 // ddof=0; NaN until needed (see stdev)
	min, max float64
	few      []valCount // distinct values ascending with counts; nil when more than maxFew
	// data quality
	missing, nonFinite, typeErrors int64
	outOfRange                     int64 // -1: not counted at ingestion
}

// catView is one categorical column's counts.
type catView struct {
	n                           int64
	counts                      map[string]int64
	other                       int64 // values past the category cap
	missing, typeErrors, unseen int64
	unseenCounted               bool
}

// numViewFromSorted builds an exact view over finite sorted values.
func numViewFromSorted(sorted []float64) *numView {
	v := &numView{n: int64(len(sorted)), sorted: sorted, exact: true, outOfRange: -1, std: math.NaN()}
	if len(sorted) > 0 {
		v.min, v.max = sorted[0], sorted[len(sorted)-1]
	}
	v.few = fewFromSorted(sorted)
	return v
}

func fewFromSorted(s []float64) []valCount {
	var few []valCount
	for i := 0; i < len(s); {
		j := i + 1
		for j < len(s) && s[j] == s[i] {
			j++
		}
		if len(few) == maxFew {
			return nil
		}
		few = append(few, valCount{s[i], int64(j - i)})
		i = j
	}
	if few == nil {
		few = []valCount{}
	}
	return few
}

// numViewFromProfile builds a view of one profile column.
func numViewFromProfile(c *numCol, col Column) *numView {
	s := slices.Clone(c.values)
	stats.SortFloats(s)
	v := &numView{n: c.seen, sorted: s, exact: c.sk == nil, sk: c.sk, min: c.min, max: c.max,
		missing: c.missing, nonFinite: c.nonFinite, typeErrors: c.typeErrors, outOfRange: -1, std: math.NaN()}
	if col.Min != nil || col.Max != nil {
		v.outOfRange = c.outOfRange
	}
	if !v.exact && c.seen > 0 {
		v.std = math.Sqrt(c.m2 / float64(c.seen))
	}
	if !c.manyDistinct {
		v.few = slices.Clone(c.few)
		if v.few == nil {
			v.few = []valCount{}
		}
		slices.SortFunc(v.few, func(a, b valCount) int {
			switch {
			case a.V < b.V:
				return -1
			case a.V > b.V:
				return 1
			}
			return 0
		})
	}
	return v
}

// stdev is the standard deviation (ddof=0): numpy's two-pass value over
// exact values, Welford's over everything seen otherwise. Only the
// reference's is ever needed, so it is computed on demand.
func (v *numView) stdev() float64 {
	if math.IsNaN(v.std) && v.exact && len(v.sorted) > 0 {
		v.std = stats.Std(v.sorted)
	}
	return v.std
}

// rankError is the stated KLL rank error of the view (0 when exact).
func (v *numView) rankError() float64 {
	if v.exact {
		return 0
	}
	return sketch.RankError(v.sk.K())
}

// steps returns the view's CDF as a step function: distinct values
// ascending and the share <= each.
func (v *numView) steps() (vals, cdf []float64) {
	if !v.exact {
		return v.sk.Points()
	}
	n := float64(len(v.sorted))
	for i := 0; i < len(v.sorted); {
		j := i + 1
		for j < len(v.sorted) && v.sorted[j] == v.sorted[i] {
			j++
		}
		vals = append(vals, v.sorted[i])
		cdf = append(cdf, float64(j)/n)
		i = j
	}
	return vals, cdf
}

// valueCounts returns per-value counts: exact from the distinct counts or
// all values, else from the sample (approximate).
func (v *numView) valueCounts() (vals []float64, counts []float64, exact bool) {
	if v.few != nil {
		for _, vc := range v.few {
			vals = append(vals, vc.V)
			counts = append(counts, float64(vc.N))
		}
		return vals, counts, true
	}
	s := v.sorted
	for i := 0; i < len(s); {
		j := i + 1
		for j < len(s) && s[j] == s[i] {
			j++
		}
		vals = append(vals, s[i])
		counts = append(counts, float64(j-i))
		i = j
	}
	return vals, counts, v.exact
}

// pooledDistinct counts distinct values over both views, capped at maxFew.
func pooledDistinct(r, c *numView) int {
	if r.few == nil || c.few == nil {
		return maxFew
	}
	seen := map[float64]bool{}
	for _, vc := range r.few {
		seen[vc.V] = true
	}
	for _, vc := range c.few {
		seen[vc.V] = true
	}
	return len(seen)
}

func catPooledDistinct(r, c *catView) int {
	n := len(r.counts)
	for k := range c.counts {
		if _, ok := r.counts[k]; !ok {
			n++
		}
	}
	if r.other > 0 || c.other > 0 {
		n++
	}
	return n
}

// otherLabel names the bucket of categories past the category cap.
const otherLabel = "(other)"

// catCounts aligns two count maps on their union of categories, sorted.
func catCounts(r, c *catView) (labels []string, rc, cc []float64) {
	set := map[string]bool{}
	for k := range r.counts {
		set[k] = true
	}
	for k := range c.counts {
		set[k] = true
	}
	for k := range set {
		labels = append(labels, k)
	}
	sort.Strings(labels)
	for _, k := range labels {
		rc = append(rc, float64(r.counts[k]))
		cc = append(cc, float64(c.counts[k]))
	}
	if r.other > 0 || c.other > 0 {
		labels = append(labels, otherLabel)
		rc = append(rc, float64(r.other))
		cc = append(cc, float64(c.other))
	}
	return labels, rc, cc
}

// alignValues aligns two per-value count lists on their union, ascending.
func alignValues(rv, rc, cv, cc []float64) (vals, ra, ca []float64) {
	i, j := 0, 0
	for i < len(rv) || j < len(cv) {
		switch {
		case j == len(cv) || (i < len(rv) && rv[i] < cv[j]):
			vals, ra, ca = append(vals, rv[i]), append(ra, rc[i]), append(ca, 0)
			i++
		case i == len(rv) || cv[j] < rv[i]:
			vals, ra, ca = append(vals, cv[j]), append(ra, 0), append(ca, cc[j])
			j++
		default:
			vals, ra, ca = append(vals, rv[i]), append(ra, rc[i]), append(ca, cc[j])
			i++
			j++
		}
	}
	return vals, ra, ca
}
