package drift

import (
	"fmt"
	"math"
	"slices"
	"sort"

	"github.com/modelfn/modelfn/drift/sketch"
)

// ColumnKind says how a column's values are compared.
type ColumnKind int

const (
	Numeric ColumnKind = iota
	Categorical
)

func (k ColumnKind) String() string {
	if k == Categorical {
		return "categorical"
	}
	return "numeric"
}

// Role says where a column's drift is reported: features count towards
// dataset drift, the model's prediction and the target are listed apart.
type Role int

const (
	Feature Role = iota
	Prediction
	Target
)

func (r Role) String() string {
	switch r {
	case Prediction:
		return "prediction"
	case Target:
		return "target"
	}
	return "feature"
}

// Column describes one column of a profile. Min, Max and Categories are the
// reference's allowed range and categories; values outside them are counted
// as out-of-range or unseen (data quality). Nil/empty means unchecked.
type Column struct {
	Name       string
	Kind       ColumnKind
	Role       Role
	Min, Max   *float64
	Categories []string
}

// ProfileOptions bound what a profile keeps.
type ProfileOptions struct {
	// SampleCap is how many values per numeric column are kept exactly;
	// beyond it the column keeps a uniform sample of this size and a KLL
	// sketch. Default 10,000 (where scipy's ks_2samp stops being exact).
	SampleCap int
	// SketchK is the KLL accuracy parameter (default 1,000: rank error
	// 0.28%, about 3,000 values kept per column).
	SketchK int
	// MaxCategories caps the distinct categories counted per column; the
	// rest go to an "other" bucket. Default 1,000.
	MaxCategories int
}

const (
	DefaultSampleCap     = 10000
	DefaultMaxCategories = 1000
	DefaultSketchK       = 1000
	// maxFew is how many distinct numeric values are counted exactly:
	// Evidently bins by value up to 20 distinct reference values.
	maxFew = 21
)

func (o ProfileOptions) withDefaults() ProfileOptions {
	if o.SampleCap <= 0 {
		o.SampleCap = DefaultSampleCap
	}
	if o.SketchK <= 0 {
		o.SketchK = DefaultSketchK
	}
	if o.MaxCategories <= 0 {
		o.MaxCategories = DefaultMaxCategories
	}
	return o
}

// Profile is a mergeable summary of a table: per numeric column the exact
// values up to a cap (then a uniform sample and a KLL sketch), moments,
// extremes and counts of up to 21 distinct values; per categorical column
// the category counts; and per column the data-quality counts (missing,
// non-finite, type errors, out of range, unseen categories). Profiles of
// windows are merged into longer windows and compared with Compare.
// A Profile is not safe for concurrent use.
type Profile struct {
	cols []Column
	opt  ProfileOptions
	rows int64
	num  []*numCol // nil at categorical positions
	cat  []*catCol // nil at numeric positions
}

type valCount struct {
	V float64
	N int64
}

type numCol struct {
	seen, missing, nonFinite, typeErrors, outOfRange int64
	mean, m2                                         float64 // Welford, over finite values
	min, max                                         float64
	values                                           []float64 // exact while sk == nil, else a uniform sample
	sk                                               *sketch.KLL
	few                                              []valCount // distinct values and counts; nil when manyDistinct
	manyDistinct                                     bool
	rng                                              uint64
}

type catCol struct {
	seen, missing, typeErrors, unseen, other int64
	counts                                   map[string]int64
	allowed                                  map[string]bool
}

// NewProfile returns an empty profile of the given columns.
func NewProfile(cols []Column, opt ProfileOptions) *Profile {
	p := &Profile{cols: slices.Clone(cols), opt: opt.withDefaults()}
	p.num = make([]*numCol, len(cols))
	p.cat = make([]*catCol, len(cols))
	for i, c := range p.cols {
		if c.Kind == Categorical {
			p.cat[i] = newCatCol(c)
		} else {
			p.num[i] = &numCol{min: math.Inf(1), max: math.Inf(-1), rng: 0x2545F4914F6CDD1D + uint64(i)}
		}
	}
	return p
}

func newCatCol(c Column) *catCol {
	cc := &catCol{counts: map[string]int64{}}
	if len(c.Categories) > 0 {
		cc.allowed = make(map[string]bool, len(c.Categories))
		for _, s := range c.Categories {
			cc.allowed[s] = true
		}
	}
	return cc
}

// Columns returns the profile's columns.
func (p *Profile) Columns() []Column { return slices.Clone(p.cols) }

// Options returns the options in force (defaults filled in).
func (p *Profile) Options() ProfileOptions { return p.opt }

// Rows is how many rows were added (or merged in).
func (p *Profile) Rows() int { return int(p.rows) }

// Add adds one row in column order: nums[i] for a numeric column i (NaN is
// missing), strs[i] for a categorical one ("" is missing). The slice a kind
// does not use may be nil. Steady-state adds do not allocate.
func (p *Profile) Add(nums []float64, strs []string) { p.AddRow(nums, strs, nil) }

// AddRow is Add where the cells at positions typeErrors arrived with the
// wrong type: they are counted as type errors and their values ignored.
func (p *Profile) AddRow(nums []float64, strs []string, typeErrors []int) {
	p.rows++
	for i := range p.cols {
		if slices.Contains(typeErrors, i) {
			if p.num[i] != nil {
				p.num[i].typeErrors++
			} else {
				p.cat[i].typeErrors++
			}
			continue
		}
		if nc := p.num[i]; nc != nil {
			v := math.NaN()
			if i < len(nums) {
				v = nums[i]
			}
			nc.add(v, &p.cols[i], p.opt)
		} else {
			s := ""
			if i < len(strs) {
				s = strs[i]
			}
			p.cat[i].add(s, p.opt)
		}
	}
}

func (c *numCol) next() uint64 {
	c.rng ^= c.rng << 13
	c.rng ^= c.rng >> 7
	c.rng ^= c.rng << 17
	return c.rng
}

func (c *numCol) add(v float64, col *Column, opt ProfileOptions) {
	switch {
	case math.IsNaN(v):
		c.missing++
		return
	case math.IsInf(v, 0):
		c.nonFinite++
		return
	}
	c.seen++
	d := v - c.mean
	c.mean += d / float64(c.seen)
	c.m2 += d * (v - c.mean)
	if v < c.min {
		c.min = v
	}
	if v > c.max {
		c.max = v
	}
	if (col.Min != nil && v < *col.Min) || (col.Max != nil && v > *col.Max) {
		c.outOfRange++
	}
	if !c.manyDistinct {
		c.addFew(v, 1)
	}
	if c.sk == nil {
		if len(c.values) < opt.SampleCap {
			c.values = append(c.values, v)
			return
		}
		c.sk = sketch.NewKLL(opt.SketchK)
		for _, x := range c.values {
			c.sk.Add(x)
		}
	}
	c.sk.Add(v)
	if j := c.next() % uint64(c.seen); j < uint64(len(c.values)) {
		c.values[j] = v
	}
}

func (c *numCol) addFew(v float64, n int64) {
	for i := range c.few {
		if c.few[i].V == v {
			c.few[i].N += n
			return
		}
	}
	if len(c.few) == maxFew {
		c.few, c.manyDistinct = nil, true
		return
	}
	c.few = append(c.few, valCount{v, n})
}

func (c *catCol) add(s string, opt ProfileOptions) {
	if s == "" {
		c.missing++
		return
	}
	c.seen++
	if c.allowed != nil && !c.allowed[s] {
		c.unseen++
	}
	if n, ok := c.counts[s]; ok {
		c.counts[s] = n + 1
		return
	}
	if len(c.counts) >= opt.MaxCategories {
		c.other++
		return
	}
	c.counts[s] = 1
}

// Merge folds other into p. Both must have the same columns (names, kinds
// and order), sketch size and category cap; p's sample cap applies to the
// result.
func (p *Profile) Merge(other *Profile) error {
	if len(p.cols) != len(other.cols) {
		return fmt.Errorf("drift: merge profile of %d columns into one of %d", len(other.cols), len(p.cols))
	}
	for i := range p.cols {
		if p.cols[i].Name != other.cols[i].Name || p.cols[i].Kind != other.cols[i].Kind {
			return fmt.Errorf("drift: merge profile: column %d is %q (%s) here and %q (%s) there",
				i, p.cols[i].Name, p.cols[i].Kind, other.cols[i].Name, other.cols[i].Kind)
		}
	}
	// Sample caps may differ (the monitor keeps small hourly samples and
	// merges them into a window with a larger cap): the receiver's cap
	// rules. Sketches and category caps must match to merge.
	if p.opt.SketchK != other.opt.SketchK || p.opt.MaxCategories != other.opt.MaxCategories {
		return fmt.Errorf("drift: merge profile: options differ (%+v vs %+v)", p.opt, other.opt)
	}
	for i := range p.cols {
		if p.num[i] != nil {
			if err := p.num[i].merge(other.num[i], p.opt); err != nil {
				return fmt.Errorf("drift: merge column %q: %w", p.cols[i].Name, err)
			}
		} else {
			p.cat[i].merge(other.cat[i], p.opt)
		}
	}
	p.rows += other.rows
	return nil
}

func (c *numCol) merge(o *numCol, opt ProfileOptions) error {
	if o.seen > 0 {
		n := float64(c.seen + o.seen)
		d := o.mean - c.mean
		c.m2 += o.m2 + d*d*float64(c.seen)*float64(o.seen)/n
		c.mean += d * float64(o.seen) / n
		c.min = math.Min(c.min, o.min)
		c.max = math.Max(c.max, o.max)
	}
	c.missing += o.missing
	c.nonFinite += o.nonFinite
	c.typeErrors += o.typeErrors
	c.outOfRange += o.outOfRange
	if o.manyDistinct {
		c.few, c.manyDistinct = nil, true
	} else if !c.manyDistinct {
		for _, vc := range o.few {
			c.addFew(vc.V, vc.N)
			if c.manyDistinct {
				break
			}
		}
	}
	total := c.seen + o.seen
	if c.sk == nil && o.sk == nil && total <= int64(opt.SampleCap) {
		c.values = append(c.values, o.values...)
		c.seen = total
		return nil
	}
	if c.sk == nil {
		c.sk = sketch.NewKLL(opt.SketchK)
		for _, x := range c.values {
			c.sk.Add(x)
		}
	}
	osk := o.sk
	if osk == nil {
		osk = sketch.NewKLL(opt.SketchK)
		for _, x := range o.values {
			osk.Add(x)
		}
	}
	if err := c.sk.Merge(osk); err != nil {
		return err
	}
	c.values = c.mergeSample(o, opt.SampleCap)
	c.seen = total
	return nil
}

// mergeSample draws a uniform sample of up to cap values from the union of
// two uniform samples, taking from each in proportion to the rows it
// stands for. When one side's sample is small for its rows (profiles with
// a smaller cap merged in), the merged sample shrinks so that it stays
// uniform.
func (c *numCol) mergeSample(o *numCol, cap int) []float64 {
	total := c.seen + o.seen
	k := float64(min(int64(cap), total))
	if c.seen > 0 {
		k = math.Min(k, float64(len(c.values))*float64(total)/float64(c.seen))
	}
	if o.seen > 0 {
		k = math.Min(k, float64(len(o.values))*float64(total)/float64(o.seen))
	}
	ka := min(int(math.Round(k*float64(c.seen)/float64(total))), len(c.values))
	kb := min(int(math.Round(k*float64(o.seen)/float64(total))), len(o.values))
	out := make([]float64, 0, ka+kb)
	out = append(out, c.pick(c.values, ka)...)
	return append(out, c.pick(o.values, kb)...)
}

// pick returns k values of s chosen uniformly without replacement.
func (c *numCol) pick(s []float64, k int) []float64 {
	s = slices.Clone(s)
	for i := 0; i < k; i++ {
		j := i + int(c.next()%uint64(len(s)-i))
		s[i], s[j] = s[j], s[i]
	}
	return s[:k]
}

func (c *catCol) merge(o *catCol, opt ProfileOptions) {
	c.seen += o.seen
	c.missing += o.missing
	c.typeErrors += o.typeErrors
	c.unseen += o.unseen
	c.other += o.other
	keys := make([]string, 0, len(o.counts))
	for k := range o.counts {
		keys = append(keys, k)
	}
	sort.Strings(keys) // which categories fit under the cap must not depend on map order
	for _, k := range keys {
		n := o.counts[k]
		if _, ok := c.counts[k]; ok || len(c.counts) < opt.MaxCategories {
			c.counts[k] += n
		} else {
			c.other += n
		}
	}
}

// Schema returns the profile's columns with the allowed range and
// categories taken from what the profile saw: the reference profile's
// schema is what current profiles are built with, so that their
// out-of-range and unseen-category counts mean something.
func (p *Profile) Schema() []Column {
	out := p.Columns()
	for i := range out {
		if nc := p.num[i]; nc != nil {
			if nc.seen > 0 {
				lo, hi := nc.min, nc.max
				out[i].Min, out[i].Max = &lo, &hi
			}
			continue
		}
		cats := make([]string, 0, len(p.cat[i].counts))
		for k := range p.cat[i].counts {
			cats = append(cats, k)
		}
		sort.Strings(cats)
		out[i].Categories = cats
	}
	return out
}
