package aws_test

import (
	"context"
	"fmt"
	"math"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/modelfn/modelfn/functions/monitoring"
	awsprovider "github.com/modelfn/modelfn/providers/aws"
)

func openSink(t *testing.T, rawURL string) *monitoring.Sink {
	t.Helper()
	s, err := monitoring.OpenSink(context.Background(), rawURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// The real SDK's PutMetricData requests, decoded from the wire: one
// namespace, labels as dimensions, units CloudWatch knows, at most 1000
// metrics a request, and nothing CloudWatch would refuse.
func TestPutMetricDataOnTheWire(t *testing.T) {
	t.Setenv("AWS_ACCESS_KEY_ID", accessKey)
	t.Setenv("AWS_SECRET_ACCESS_KEY", secretKey)
	cw := newCloudWatchWire(t)
	sink := openSink(t, cw.url("ModelFn/prod"))
	at := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	base := map[string]string{"model": "churn", "version": "3"}
	var ms []monitoring.Metric
	for i := 0; i < 2400; i++ {
		ms = append(ms, monitoring.Metric{Name: monitoring.MetricFeatureDriftScore, Value: float64(i) / 7, Unit: "None", Time: at,
			Labels: map[string]string{"model": "churn", "version": "3", "feature": fmt.Sprintf("f%04d", i)}})
	}
	ms = append(ms,
		monitoring.Metric{Name: monitoring.MetricDriftShare, Value: 0.25, Unit: "Ratio", Labels: base, Time: at},
		monitoring.Metric{Name: monitoring.MetricRunSeconds, Value: 1.5, Unit: "Seconds", Labels: base, Time: at},
		monitoring.Metric{Name: monitoring.MetricPerformance, Value: math.NaN(), Unit: "None", Labels: map[string]string{"model": "churn", "version": "3", "metric": "roc_auc"}, Time: at},
		monitoring.Metric{Name: monitoring.MetricRecordsRead, Value: math.Inf(1), Unit: "Count", Labels: base, Time: at},
		monitoring.Metric{Name: monitoring.MetricObjectsRead, Value: 12, Unit: "Count", Labels: map[string]string{"model": "churn", "version": "3", "feature": ""}, Time: at},
	)
	if err := sink.Publish(context.Background(), ms); err != nil {
		t.Fatal(err)
	}
	reqs := cw.snapshot()
	var sizes []int
	for _, r := range reqs {
		sizes = append(sizes, len(r.MetricData))
		if r.Namespace != "ModelFn/prod" {
			t.Errorf("namespace %q", r.Namespace)
		}
	}
	if fmt.Sprint(sizes) != "[1000 1000 403]" {
		t.Errorf("requests of %v metrics, want [1000 1000 403] (NaN and Inf left out)", sizes)
	}
	got, err := cw.Metrics(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string]monitoring.Metric{}
	for _, m := range got {
		byName[m.Name+"/"+m.Labels["feature"]] = m
		if !m.Time.Equal(at) {
			t.Errorf("%s: time %v, want %v", m.Name, m.Time, at)
		}
	}
	want := []struct {
		key, unit string
		value     float64
		labels    string
	}{
		{monitoring.MetricFeatureDriftScore + "/f0007", "None", 1, "feature=f0007 model=churn version=3"},
		{monitoring.MetricDriftShare + "/", "None", 0.25, "model=churn version=3"}, // Ratio is not a CloudWatch unit
		{monitoring.MetricRunSeconds + "/", "Seconds", 1.5, "model=churn version=3"},
		{monitoring.MetricObjectsRead + "/", "Count", 12, "model=churn version=3"}, // empty dimension values are refused by CloudWatch
	}
	for _, w := range want {
		m, ok := byName[w.key]
		if !ok {
			t.Errorf("%s missing", w.key)
			continue
		}
		if m.Unit != w.unit || m.Value != w.value || labels(m.Labels) != w.labels {
			t.Errorf("%s: %v %s %s, want %v %s %s", w.key, m.Value, m.Unit, labels(m.Labels), w.value, w.unit, w.labels)
		}
	}
	if _, ok := byName[monitoring.MetricPerformance+"/"]; ok {
		t.Error("a NaN was sent")
	}
}

func labels(l map[string]string) string {
	var out []string
	for _, k := range []string{"feature", "metric", "model", "version"} {
		if v, ok := l[k]; ok {
			out = append(out, k+"="+v)
		}
	}
	return strings.Join(out, " ")
}

func TestCloudWatchErrorsSayWhereAndWhat(t *testing.T) {
	t.Setenv("AWS_ACCESS_KEY_ID", accessKey)
	t.Setenv("AWS_SECRET_ACCESS_KEY", secretKey)
	cw := newCloudWatchWire(t)
	cw.failNext = 1
	sink := openSink(t, cw.url("ModelFn"))
	err := sink.Publish(context.Background(), []monitoring.Metric{{Name: monitoring.MetricDriftShare, Value: 0.5, Labels: map[string]string{"model": "m", "version": "1"}}})
	if err == nil || !strings.Contains(err.Error(), "cloudwatch ModelFn: PutMetricData") || !strings.Contains(err.Error(), "InvalidParameterValue") {
		t.Errorf("err = %v: want the namespace, the call and CloudWatch's own error", err)
	}

	for _, tc := range []struct{ url, want string }{
		{"cloudwatch://?region=eu-west-1", "needs a namespace"},
		{"cloudwatch://AWS/Lambda?region=eu-west-1", "reserved"},
		{"cloudwatch://ModelFn?region=eu-west-1&colour=blue", "colour"},
	} {
		if _, err := monitoring.OpenSink(context.Background(), tc.url); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err = %v, want %q", tc.url, err, tc.want)
		}
	}
	u, _ := url.Parse("cloudwatch://ModelFn/staging/eu?region=eu-west-1")
	cwSink, err := awsprovider.OpenCloudWatch(context.Background(), u)
	if err != nil || cwSink.Namespace() != "ModelFn/staging/eu" {
		t.Errorf("namespace %q, %v", cwSink.Namespace(), err)
	}
}
