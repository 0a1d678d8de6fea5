package drift

// PerformanceConfig sets how far the primary metric may fall.
type PerformanceConfig struct {
	// Drop is the relative fall of the primary metric against the
	// reference that counts as degraded (default 0.1).
	Drop float64
}

// PerformanceReport compares model performance on current labels with the
// reference's.
type PerformanceReport struct {
	Task      string             `json:"task"` // "classification" or "regression"
	Primary   string             `json:"primary_metric"`
	Reference map[string]float64 `json:"reference"`
	Current   map[string]float64 `json:"current"`
	Drop      float64            `json:"drop"`
	Threshold float64            `json:"threshold"`
	Degraded  bool               `json:"degraded"`
	Rows      int64              `json:"rows"`
	Note      string             `json:"note,omitempty"`
}
