package drift

import (
	"fmt"
	"math"
	"slices"
	"sort"
)

// QualityConfig holds the data-quality thresholds; zero fields take the
// defaults.
type QualityConfig struct {
	// MissingShare is how far a column's missing share (missing plus
	// non-finite values) may rise above the reference's (default 0.05).
	MissingShare float64
	// TypeErrorShare, OutOfRangeShare and UnseenCategoryShare are the
	// shares of a column's values above which those checks fail (default
	// 0.01 each).
	TypeErrorShare      float64
	OutOfRangeShare     float64
	UnseenCategoryShare float64
}

func (q QualityConfig) withDefaults() QualityConfig {
	if q.MissingShare <= 0 {
		q.MissingShare = 0.05
	}
	if q.TypeErrorShare <= 0 {
		q.TypeErrorShare = 0.01
	}
	if q.OutOfRangeShare <= 0 {
		q.OutOfRangeShare = 0.01
	}
	if q.UnseenCategoryShare <= 0 {
		q.UnseenCategoryShare = 0.01
	}
	return q
}

// Quality is the data-quality part of a report, in SageMaker Model
// Monitor's vocabulary.
type Quality struct {
	MissingColumns []string        `json:"missing_columns"`
	ExtraColumns   []string        `json:"extra_columns"`
	Columns        []ColumnQuality `json:"columns"`
	Violations     []Violation     `json:"violations"`
}

// ColumnQuality counts one column's problems in the current data, with
// the reference's shares beside them. Shares are of the column's rows.
type ColumnQuality struct {
	Name                  string   `json:"name"`
	Type                  string   `json:"type"`
	Rows                  int64    `json:"rows"`
	Missing               int64    `json:"missing"`
	NonFinite             int64    `json:"non_finite"`
	MissingShare          float64  `json:"missing_share"`
	ReferenceMissingShare float64  `json:"reference_missing_share"`
	Completeness          float64  `json:"completeness"`
	ReferenceCompleteness float64  `json:"reference_completeness"`
	TypeErrors            int64    `json:"type_errors"`
	TypeErrorShare        float64  `json:"type_error_share"`
	OutOfRange            int64    `json:"out_of_range"`
	OutOfRangeShare       float64  `json:"out_of_range_share"`
	OutOfRangeEstimated   bool     `json:"out_of_range_estimated,omitempty"`
	UnseenCategories      int64    `json:"unseen_categories"`
	UnseenCategoryShare   float64  `json:"unseen_category_share"`
	UnseenExamples        []string `json:"unseen_examples,omitempty"`
}

// Violation is one failed check, named as SageMaker names its
// constraint_check_type (out_of_range_check is ours).
type Violation struct {
	Feature     string `json:"feature_name"`
	Check       string `json:"constraint_check_type"`
	Description string `json:"description"`
}

// Check names.
const (
	CheckMissingColumn = "missing_column_check"
	CheckExtraColumn   = "extra_column_check"
	CheckCompleteness  = "completeness_check"
	CheckDataType      = "data_type_check"
	CheckOutOfRange    = "out_of_range_check"
	CheckCategorical   = "categorical_values_check"
	maxUnseenExamples  = 5
)

func share(a, n int64) float64 {
	if n == 0 {
		return 0
	}
	return float64(a) / float64(n)
}

func columnQuality(p *pair) ColumnQuality {
	q := ColumnQuality{Name: p.col.Name, Type: p.col.Kind.String()}
	var refRows, refBad int64
	if p.rn != nil {
		r, c := p.rn, p.cn
		q.Rows = c.n + c.missing + c.nonFinite + c.typeErrors
		q.Missing, q.NonFinite, q.TypeErrors = c.missing, c.nonFinite, c.typeErrors
		refRows = r.n + r.missing + r.nonFinite + r.typeErrors
		refBad = r.missing + r.nonFinite
		switch {
		case c.outOfRange >= 0:
			q.OutOfRange = c.outOfRange
		case r.n > 0 && c.n > 0:
			q.OutOfRange, q.OutOfRangeEstimated = outside(c, r.min, r.max)
		}
	} else {
		r, c := p.rc, p.cc
		q.Rows = c.n + c.missing + c.typeErrors
		q.Missing, q.TypeErrors = c.missing, c.typeErrors
		refRows = r.n + r.missing + r.typeErrors
		refBad = r.missing
		if c.unseenCounted {
			q.UnseenCategories = c.unseen
		}
		var unseen []string
		for k, n := range c.counts {
			if _, ok := r.counts[k]; !ok {
				unseen = append(unseen, k)
				if !c.unseenCounted {
					q.UnseenCategories += n
				}
			}
		}
		sort.Strings(unseen)
		if len(unseen) > maxUnseenExamples {
			unseen = unseen[:maxUnseenExamples]
		}
		q.UnseenExamples = unseen
	}
	q.MissingShare = share(q.Missing+q.NonFinite, q.Rows)
	q.ReferenceMissingShare = share(refBad, refRows)
	q.Completeness = 1 - q.MissingShare
	q.ReferenceCompleteness = 1 - q.ReferenceMissingShare
	if q.Rows == 0 {
		q.Completeness = 0
	}
	if refRows == 0 {
		q.ReferenceCompleteness = 0
	}
	q.TypeErrorShare = share(q.TypeErrors, q.Rows)
	q.OutOfRangeShare = share(q.OutOfRange, q.Rows)
	q.UnseenCategoryShare = share(q.UnseenCategories, q.Rows)
	return q
}

// outside counts (or, from a sketch, estimates) the values outside [lo, hi].
func outside(v *numView, lo, hi float64) (int64, bool) {
	if v.exact {
		below, _ := slices.BinarySearch(v.sorted, lo) // values < lo
		atMost := sort.SearchFloat64s(v.sorted, math.Nextafter(hi, math.Inf(1)))
		return int64(below + len(v.sorted) - atMost), false
	}
	vals, cdf := v.steps()
	below := stepAt(vals, cdf, lo, true)
	above := 1 - stepAt(vals, cdf, hi, false)
	return int64(math.Round((below + above) * float64(v.n))), true
}

func (q *Quality) judge(cfg QualityConfig) {
	cfg = cfg.withDefaults()
	for _, n := range q.MissingColumns {
		q.Violations = append(q.Violations, Violation{n, CheckMissingColumn, "column is in the reference but not in the current data"})
	}
	for _, n := range q.ExtraColumns {
		q.Violations = append(q.Violations, Violation{n, CheckExtraColumn, "column is in the current data but not in the reference"})
	}
	for _, c := range q.Columns {
		if c.Rows == 0 {
			continue
		}
		if c.MissingShare-c.ReferenceMissingShare > cfg.MissingShare {
			q.Violations = append(q.Violations, Violation{c.Name, CheckCompleteness,
				fmt.Sprintf("completeness %.4f against %.4f in the reference (allowed drop %.4f)", c.Completeness, c.ReferenceCompleteness, cfg.MissingShare)})
		}
		if c.TypeErrorShare > cfg.TypeErrorShare {
			q.Violations = append(q.Violations, Violation{c.Name, CheckDataType,
				fmt.Sprintf("%d values (%.4f) of the wrong type, above %.4f", c.TypeErrors, c.TypeErrorShare, cfg.TypeErrorShare)})
		}
		if c.OutOfRangeShare > cfg.OutOfRangeShare {
			q.Violations = append(q.Violations, Violation{c.Name, CheckOutOfRange,
				fmt.Sprintf("%d values (%.4f) outside the reference range, above %.4f", c.OutOfRange, c.OutOfRangeShare, cfg.OutOfRangeShare)})
		}
		if c.UnseenCategoryShare > cfg.UnseenCategoryShare {
			q.Violations = append(q.Violations, Violation{c.Name, CheckCategorical,
				fmt.Sprintf("%d values (%.4f) in categories the reference never had, above %.4f", c.UnseenCategories, c.UnseenCategoryShare, cfg.UnseenCategoryShare)})
		}
	}
}
