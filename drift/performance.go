package drift

import (
	"fmt"
	"math"

	"github.com/modelfn/modelfn/drift/perf"
)

// PerformanceConfig sets how far the primary metric may fall.
type PerformanceConfig struct {
	// Drop is the relative fall of the primary metric against the
	// reference that counts as degraded (default 0.1).
	Drop float64
}

// DefaultPerformanceDrop is the relative drop of the primary metric that
// counts as degraded when none is configured.
const DefaultPerformanceDrop = 0.1

// PerformanceReport compares model performance on current labels with the
// reference's. Drop is (reference - current) / |reference| of the primary
// metric (roc_auc for scored binary classification, else accuracy; r2 for
// regression), degraded when above Threshold.
type PerformanceReport struct {
	Task      string             `json:"task"` // "classification" or "regression"
	Primary   string             `json:"primary_metric"`
	Reference map[string]float64 `json:"reference"`
	Current   map[string]float64 `json:"current"`
	Drop      Num                `json:"drop"`
	Threshold float64            `json:"threshold"`
	Degraded  bool               `json:"degraded"`
	Rows      int64              `json:"rows"`
	Status    string             `json:"status"`
	Note      string             `json:"note,omitempty"`
}

// ComparePerformance judges the current accumulator against reference
// metrics (measured on the reference data, or stored in the bundle).
func ComparePerformance(ref perf.Metrics, cur perf.Accumulator, cfg PerformanceConfig) *PerformanceReport {
	if cfg.Drop <= 0 {
		cfg.Drop = DefaultPerformanceDrop
	}
	r := &PerformanceReport{Task: cur.Task(), Primary: cur.Primary(), Reference: ref, Current: cur.Metrics(),
		Threshold: cfg.Drop, Rows: cur.Rows(), Drop: Num(math.NaN()), Status: StatusNotEnoughData}
	if r.Reference == nil {
		r.Reference = map[string]float64{}
	}
	rv, okR := ref[r.Primary]
	cv, okC := r.Current[r.Primary]
	switch {
	case !okC:
		r.Note = fmt.Sprintf("no %s on the current labels (%d rows)", r.Primary, r.Rows)
	case !okR:
		r.Note = fmt.Sprintf("the reference has no %s", r.Primary)
	case rv == 0:
		r.Note = fmt.Sprintf("reference %s is 0: a relative drop is undefined", r.Primary)
	default:
		r.Status = StatusOK
		r.Drop = Num((rv - cv) / math.Abs(rv))
		r.Degraded = float64(r.Drop) > cfg.Drop
	}
	return r
}
