// Package driver is the small interface a monitoring backend implements
// (CloudWatch, Cloud Monitoring, Azure Monitor, the local alarm log). Users
// hold the portable *monitoring.Sink; drivers only publish.
package driver

import (
	"context"
	"time"
)

// Metric is one measurement from a monitor run.
type Metric struct {
	Name   string            // one of the monitoring.Metric* names
	Value  float64           //
	Unit   string            // "None", "Count", "Seconds", "Ratio"
	Labels map[string]string // always model and version; feature for per-feature metrics
	Time   time.Time
}

// Alarm is a threshold the monitor saw crossed. Cloud drivers usually only
// log it: the cloud's own alarms (created by Terraform on the same metrics
// and thresholds) are what fires there. The local driver raises it.
type Alarm struct {
	Name      string            // stable, e.g. "feature_drift:mean radius"
	Metric    string            //
	Labels    map[string]string //
	Value     float64           //
	Threshold float64           //
	Message   string            // for a person
	Time      time.Time
}

// Sink receives a monitor run's metrics and alarms.
type Sink interface {
	Publish(ctx context.Context, metrics []Metric) error
	Alarm(ctx context.Context, alarms []Alarm) error
	Close() error
}
