package gcp_test

import (
	"context"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/modelfn/modelfn/functions/monitoring"
)

// TestMetricSink publishes through the real Cloud Monitoring client to a
// loopback MetricService that checks each call as the API does.
func TestMetricSink(t *testing.T) {
	ms := startMetricServer(t)
	ctx := context.Background()
	sink, err := monitoring.OpenSink(ctx, ms.URL())
	if err != nil {
		t.Fatal(err)
	}
	defer sink.Close()

	at := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	base := map[string]string{"model": "breast-cancer", "version": "1"}
	with := func(k, v string) map[string]string {
		l := map[string]string{k: v}
		for a, b := range base {
			l[a] = b
		}
		return l
	}
	var metrics []monitoring.Metric
	for i := range 430 { // three calls: 200, 200, 30
		metrics = append(metrics, monitoring.Metric{Name: monitoring.MetricFeatureDriftScore, Value: float64(i) / 10, Unit: "None", Labels: with("feature", fmt.Sprintf("f%03d", i)), Time: at})
	}
	metrics = append(metrics,
		monitoring.Metric{Name: monitoring.MetricDriftShare, Value: 0.25, Unit: "Ratio", Labels: base, Time: at},
		monitoring.Metric{Name: monitoring.MetricPerformance, Value: 0.97, Labels: with("metric", "roc_auc"), Time: at},
		monitoring.Metric{Name: monitoring.MetricPerformance, Value: math.NaN(), Labels: with("metric", "log_loss"), Time: at}, // refused by the API: not sent
		monitoring.Metric{Name: monitoring.MetricDriftShare, Value: 0.5, Unit: "Ratio", Labels: base, Time: at},                // same series again: the last value wins
	)
	if err := sink.Publish(ctx, metrics); err != nil {
		t.Fatal(err)
	}
	if ms.calls != 3 {
		t.Errorf("%d CreateTimeSeries calls for 432 series, want 3 (200 per call)", ms.calls)
	}
	got := map[string]monitoring.Metric{}
	for _, m := range ms.Metrics() {
		got[m.Name+" "+m.Labels["feature"]+m.Labels["metric"]] = m
	}
	if len(got) != 432 {
		t.Errorf("%d series written, want 432", len(got))
	}
	if m := got["drift_share "]; m.Value != 0.5 || !m.Time.Equal(at) || len(m.Labels) != 2 {
		t.Errorf("drift_share = %+v, want 0.5 at %v with labels model and version", m, at)
	}
	if m := got["feature_drift_score f123"]; m.Value != 12.3 || m.Labels["model"] != "breast-cancer" || m.Labels["version"] != "1" {
		t.Errorf("feature_drift_score{f123} = %+v", m)
	}
	if m, ok := got["performance roc_auc"]; !ok || m.Value != 0.97 {
		t.Errorf("performance{roc_auc} = %+v", m)
	}
	if _, ok := got["performance log_loss"]; ok {
		t.Error("a NaN was written")
	}

	ms.mu.Lock()
	ms.fail = status.Error(codes.PermissionDenied, "monitoring.timeSeries.create denied")
	ms.mu.Unlock()
	err = sink.Publish(ctx, metrics[:1])
	if err == nil || status.Code(err) != codes.PermissionDenied || !strings.Contains(err.Error(), "CreateTimeSeries") || !strings.Contains(err.Error(), project) {
		t.Errorf("denied write: %v; want the API's code, the call and the project", err)
	}

	if err := sink.Alarm(ctx, []monitoring.Alarm{{Name: "dataset_drift", Metric: monitoring.MetricDriftShare, Labels: base, Value: 0.6, Threshold: 0.5}}); err != nil {
		t.Errorf("alarm: %v", err)
	}
}

func TestMetricSinkURL(t *testing.T) {
	ctx := context.Background()
	for _, bad := range []string{
		"gcpmonitoring://",
		"gcpmonitoring://p?region=x",
		"gcpmonitoring://p?insecure=true",
		"gcpmonitoring://p?endpoint=127.0.0.1:1&insecure=maybe",
	} {
		if s, err := monitoring.OpenSink(ctx, bad); err == nil {
			s.Close()
			t.Errorf("%s opened", bad)
		} else if !strings.Contains(err.Error(), "gcpmonitoring") {
			t.Errorf("%s: %v does not say which URL", bad, err)
		}
	}
}
