package drift

import (
	"encoding/json"
	"math"
	"time"
)

// ReportVersion is the version of the report's JSON schema. Fields are only
// ever added within a version.
const ReportVersion = 1

// Report is the one result of a comparison. Its JSON form (schema_version
// 1) is stable:
//
//	schema_version, reference_rows, current_rows
//	columns[]            feature drift, one entry per compared feature
//	prediction_drift[]   the model's output column(s), same shape
//	target_drift[]       the target column, same shape
//	dataset              {columns, drifted_columns, share, threshold, drifted, status}
//	data_quality         {missing_columns, extra_columns, columns[], violations[]}
//	performance          present when labels were compared (see PerformanceReport)
//	episodes[]           drift episodes over time, filled by drift/timeline
//
// A ColumnResult holds name, type, role, status ("ok", "not_enough_data"
// or "error"), method, statistic, p_value (null when the method has none),
// threshold, drifted, source ("exact", "sketch" or "sample") and, when
// useful, error_bound, extra scores and the binned distributions plotted in
// the HTML page. Sizes are bounded by the number of columns and bins, never by
// rows.
type Report struct {
	SchemaVersion   int                `json:"schema_version"`
	ReferenceRows   int64              `json:"reference_rows"`
	CurrentRows     int64              `json:"current_rows"`
	Columns         []ColumnResult     `json:"columns"`
	PredictionDrift []ColumnResult     `json:"prediction_drift,omitempty"`
	TargetDrift     []ColumnResult     `json:"target_drift,omitempty"`
	Dataset         DatasetResult      `json:"dataset"`
	Quality         Quality            `json:"data_quality"`
	Performance     *PerformanceReport `json:"performance,omitempty"`
	Episodes        []Episode          `json:"episodes"`
}

// Status values of a column or dataset verdict.
const (
	StatusOK            = "ok"
	StatusNotEnoughData = "not_enough_data"
	StatusError         = "error" // a configuration the column cannot be judged under (an unknown method)
)

// Sources of a statistic.
const (
	SourceExact  = "exact"  // from every value
	SourceSketch = "sketch" // from KLL sketches (see ErrorBound)
	SourceSample = "sample" // from the profiles' uniform samples
)

// ColumnResult is one column's drift verdict.
type ColumnResult struct {
	Name   string `json:"name"`
	Type   string `json:"type"` // "numeric" or "categorical"
	Role   string `json:"role"` // "feature", "prediction" or "target"
	Status string `json:"status"`
	Reason string `json:"reason,omitempty"`
	Method string `json:"method"`
	// Statistic is the method's statistic (a distance, or the test
	// statistic of a test); PValue is NaN (null) for distances.
	Statistic Num     `json:"statistic"`
	PValue    Num     `json:"p_value"`
	Threshold float64 `json:"threshold"`
	// Drifted is p_value < threshold for tests, statistic >= threshold for
	// distances (Evidently's rule); false when Status is not "ok".
	Drifted bool   `json:"drifted"`
	Source  string `json:"source,omitempty"`
	// ErrorBound bounds |statistic - exact statistic| when Source is
	// "sketch" and the method has a stated bound.
	ErrorBound    *float64      `json:"error_bound,omitempty"`
	Note          string        `json:"note,omitempty"`
	ReferenceRows int64         `json:"reference_values"`
	CurrentRows   int64         `json:"current_values"`
	Extra         []Score       `json:"extra,omitempty"`
	Distribution  *Distribution `json:"distribution,omitempty"`
}

// Score is one more method's result for a column (Config.Also).
type Score struct {
	Method    string `json:"method"`
	Statistic Num    `json:"statistic"`
	PValue    Num    `json:"p_value"`
	Source    string `json:"source,omitempty"`
}

// Distribution is a column's reference and current distribution as shares
// per bin (numeric: Edges has one more entry than the shares) or per
// category (Labels).
type Distribution struct {
	Edges     []float64 `json:"edges,omitempty"`
	Labels    []string  `json:"labels,omitempty"`
	Reference []float64 `json:"reference"`
	Current   []float64 `json:"current"`
}

// DatasetResult is the dataset-level verdict: the share of drifted
// features against a threshold (drifted when share >= threshold).
type DatasetResult struct {
	Columns        int     `json:"columns"`
	DriftedColumns int     `json:"drifted_columns"`
	Share          float64 `json:"share"`
	Threshold      float64 `json:"threshold"`
	Drifted        bool    `json:"drifted"`
	Status         string  `json:"status"`
}

// Episode is one drift episode found over a sequence of windows; the
// drift/timeline package produces them. Type is "sudden", "gradual",
// "periodic" or "temporary".
type Episode struct {
	Type     string    `json:"type"`
	Start    time.Time `json:"start"`
	End      time.Time `json:"end"`
	Features []string  `json:"features"`
	Score    float64   `json:"score"`
}

// Num is a float64 whose JSON form is null when it is NaN or infinite (a
// missing p-value, an infinite chi-squared statistic).
type Num float64

// MarshalJSON writes null for non-finite values.
func (n Num) MarshalJSON() ([]byte, error) {
	f := float64(n)
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return []byte("null"), nil
	}
	return json.Marshal(f)
}

// UnmarshalJSON reads null as NaN.
func (n *Num) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		*n = Num(math.NaN())
		return nil
	}
	var f float64
	if err := json.Unmarshal(b, &f); err != nil {
		return err
	}
	*n = Num(f)
	return nil
}

// All returns features, predictions and target results in one slice.
func (r *Report) All() []ColumnResult {
	out := make([]ColumnResult, 0, len(r.Columns)+len(r.PredictionDrift)+len(r.TargetDrift))
	out = append(out, r.Columns...)
	out = append(out, r.PredictionDrift...)
	return append(out, r.TargetDrift...)
}
