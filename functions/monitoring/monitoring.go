// Package monitoring is the portable type the monitor function publishes
// through, after gocloud.dev's pattern: a concrete *Sink over a small
// driver.Sink, chosen by URL scheme. Drivers register a scheme from their
// package's init (providers/local registers local:// and mem://;
// providers/aws cloudwatch://, providers/gcp gcpmonitoring://,
// providers/azure azuremonitor://).
package monitoring

import (
	"context"
	"fmt"
	"net/url"
	"sort"
	"sync"

	"github.com/modelfn/modelfn/functions/monitoring/driver"
)

type (
	Metric = driver.Metric
	Alarm  = driver.Alarm
)

// Metric names: the contract between the monitor, the drivers and the
// alarms the Terraform modules create. Labels "model" and "version" are on
// every metric, "feature" on the per-feature ones, "metric" on performance
// and performance_drop.
const (
	MetricDriftShare          = "drift_share"            // share of features drifted
	MetricDatasetDrift        = "dataset_drift"          // 1 when drift_share ≥ its threshold
	MetricFeatureDriftScore   = "feature_drift_score"    // the column's statistic (feature)
	MetricFeatureDrifted      = "feature_drifted"        // 1 when the column drifted (feature)
	MetricPredictionDrift     = "prediction_drift_score" // the model output's statistic
	MetricPredictionDrifted   = "prediction_drifted"     // 1 when the output drifted
	MetricMissingShare        = "missing_share"          // (feature)
	MetricOutOfRangeShare     = "out_of_range_share"     // (feature)
	MetricUnseenCategoryShare = "unseen_category_share"  // (feature)
	MetricDataQualityIssues   = "data_quality_issues"    // violations found this run
	MetricPerformance         = "performance"            // (metric: accuracy, f1, roc_auc, log_loss, mae, rmse, r2, ...)
	MetricPerformanceDrop     = "performance_drop"       // relative drop of the primary metric vs reference (metric: its name)
	MetricWindowRows          = "window_rows"            // records in the current window
	MetricObjectsRead         = "monitor_objects_read"
	MetricRecordsRead         = "monitor_records_read"
	MetricCorruptObjects      = "monitor_corrupt_objects"
	MetricLabelsJoined        = "monitor_labels_joined"
	MetricRunSeconds          = "monitor_run_seconds"
)

// Sink is the portable monitoring backend.
type Sink struct {
	d driver.Sink
}

// NewSink wraps a driver.
func NewSink(d driver.Sink) *Sink { return &Sink{d: d} }

// Publish sends metrics.
func (s *Sink) Publish(ctx context.Context, ms []Metric) error {
	if len(ms) == 0 {
		return nil
	}
	if err := s.d.Publish(ctx, ms); err != nil {
		return fmt.Errorf("monitoring: publish %d metrics: %w", len(ms), err)
	}
	return nil
}

// Alarm reports crossed thresholds.
func (s *Sink) Alarm(ctx context.Context, as []Alarm) error {
	if len(as) == 0 {
		return nil
	}
	if err := s.d.Alarm(ctx, as); err != nil {
		return fmt.Errorf("monitoring: raise %d alarms: %w", len(as), err)
	}
	return nil
}

// Close releases the driver.
func (s *Sink) Close() error { return s.d.Close() }

// Opener opens a sink from its URL.
type Opener func(ctx context.Context, u *url.URL) (driver.Sink, error)

var (
	mu      sync.RWMutex
	openers = map[string]Opener{}
)

// Register makes a URL scheme available to OpenSink.
func Register(scheme string, o Opener) {
	mu.Lock()
	defer mu.Unlock()
	if _, dup := openers[scheme]; dup {
		panic("monitoring: scheme registered twice: " + scheme)
	}
	openers[scheme] = o
}

// OpenSink opens the sink a URL names, e.g. "local:///var/modelfn" or
// "cloudwatch://ModelFn?region=eu-west-1".
func OpenSink(ctx context.Context, rawURL string) (*Sink, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, fmt.Errorf("monitoring: %q: %w", rawURL, err)
	}
	mu.RLock()
	o, ok := openers[u.Scheme]
	known := make([]string, 0, len(openers))
	for s := range openers {
		known = append(known, s)
	}
	mu.RUnlock()
	if !ok {
		sort.Strings(known)
		return nil, fmt.Errorf("monitoring: %q: no driver for scheme %q (registered: %v; import the provider that has it)", rawURL, u.Scheme, known)
	}
	d, err := o(ctx, u)
	if err != nil {
		return nil, fmt.Errorf("monitoring: open %q: %w", rawURL, err)
	}
	return NewSink(d), nil
}
