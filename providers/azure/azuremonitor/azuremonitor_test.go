package azuremonitor_test

import (
	"context"
	"fmt"
	"math"
	"net/url"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"

	"github.com/modelfn/modelfn/functions/monitoring"
	"github.com/modelfn/modelfn/providers/azure/azuremonitor"
	"github.com/modelfn/modelfn/providers/azure/azuretest"
)

const (
	rule   = "dcr-00112233445566778899aabbccddeeff"
	stream = "Custom-ModelFnMetrics_CL"
	token  = "test-token"
)

// open opens the driver the way OpenSink would, but with a fixed-token
// credential and a transport that trusts the local endpoint's certificate.
func open(t *testing.T, in *azuretest.Ingestion) *monitoring.Sink {
	t.Helper()
	in.Authorize = func(tok string) bool { return tok == token }
	u, err := url.Parse(in.URL())
	if err != nil {
		t.Fatal(err)
	}
	o := &azuremonitor.Opener{
		Credential: azuretest.Credential{Token: token},
		ClientOptions: azcore.ClientOptions{
			Transport: in.Server.Client(),
			Retry:     policy.RetryOptions{RetryDelay: 5 * time.Millisecond, MaxRetryDelay: 20 * time.Millisecond},
		},
	}
	d, err := o.Open(context.Background(), u)
	if err != nil {
		t.Fatal(err)
	}
	s := monitoring.NewSink(d)
	t.Cleanup(func() { s.Close() })
	return s
}

func TestPublishWritesRowsOnTheWire(t *testing.T) {
	t.Parallel()
	in := azuretest.NewIngestion(t, rule, stream)
	s := open(t, in)
	at := time.Date(2026, 11, 25, 10, 0, 0, 123456789, time.FixedZone("CET", 3600))
	ms := []monitoring.Metric{
		{Name: monitoring.MetricDriftShare, Value: 0.25, Unit: "Ratio", Labels: map[string]string{"model": "m", "version": "1"}, Time: at},
		{Name: monitoring.MetricFeatureDriftScore, Value: 1e-300, Labels: map[string]string{"model": "m", "version": "1", "feature": "mean radius"}, Time: at},
		{Name: monitoring.MetricPerformance, Value: 0.93, Labels: map[string]string{"model": "m", "version": "1", "metric": "f1"}, Time: at},
		{Name: monitoring.MetricPerformance, Value: math.NaN(), Labels: map[string]string{"model": "m", "version": "1", "metric": "roc_auc"}, Time: at},
	}
	if err := s.Publish(context.Background(), ms); err != nil {
		t.Fatal(err)
	}
	want := []azuremonitor.Row{
		{TimeGenerated: at.UTC(), Name: "drift_share", Value: 0.25, Model: "m", Version: "1", Labels: map[string]string{"model": "m", "version": "1"}},
		{TimeGenerated: at.UTC(), Name: "feature_drift_score", Value: 1e-300, Model: "m", Version: "1", Feature: "mean radius", Labels: map[string]string{"model": "m", "version": "1", "feature": "mean radius"}},
		{TimeGenerated: at.UTC(), Name: "performance", Value: 0.93, Model: "m", Version: "1", Labels: map[string]string{"model": "m", "version": "1", "metric": "f1"}},
	}
	if got := in.Rows(); !reflect.DeepEqual(got, want) {
		t.Errorf("rows on the wire:\n%+v\nwant (the NaN left out)\n%+v", got, want)
	}
	if p := in.Problems(); len(p) > 0 {
		t.Errorf("refused: %v", p)
	}
	if in.Uploads() != 1 {
		t.Errorf("%d uploads, want 1", in.Uploads())
	}
}

func TestPublishSplitsUnderTheSizeLimit(t *testing.T) {
	t.Parallel()
	in := azuretest.NewIngestion(t, rule, stream)
	s := open(t, in)
	var ms []monitoring.Metric
	for i := range 1200 {
		ms = append(ms, monitoring.Metric{Name: monitoring.MetricMissingShare, Value: float64(i),
			Labels: map[string]string{"model": "m", "version": "1", "feature": fmt.Sprintf("feature %04d %s", i, strings.Repeat("x", 900))}})
	}
	if err := s.Publish(context.Background(), ms); err != nil {
		t.Fatal(err)
	}
	rows := in.Rows()
	if len(rows) != len(ms) {
		t.Fatalf("%d rows arrived, want %d (refused: %v)", len(rows), len(ms), in.Problems())
	}
	for i, r := range rows {
		if r.Value != float64(i) || r.Feature != ms[i].Labels["feature"] {
			t.Fatalf("row %d = %+v, out of order or altered", i, r)
		}
	}
	if in.Uploads() < 2 {
		t.Errorf("%d uploads: ~1.2 MB of rows must be split under the 1 MB limit", in.Uploads())
	}
}

func TestPublishRetriesTransientFailures(t *testing.T) {
	t.Parallel()
	in := azuretest.NewIngestion(t, rule, stream)
	s := open(t, in)
	in.FailNext(2)
	m := monitoring.Metric{Name: monitoring.MetricWindowRows, Value: 3, Labels: map[string]string{"model": "m", "version": "1"}}
	if err := s.Publish(context.Background(), []monitoring.Metric{m}); err != nil {
		t.Fatalf("two 503s then success: %v", err)
	}
	if len(in.Rows()) != 1 {
		t.Errorf("%d rows, want 1", len(in.Rows()))
	}
}

func TestPublishErrorNamesTheRuleAndTheService(t *testing.T) {
	t.Parallel()
	in := azuretest.NewIngestion(t, rule, stream)
	s := open(t, in)
	in.Authorize = func(string) bool { return false }
	err := s.Publish(context.Background(), []monitoring.Metric{{Name: "x", Value: 1}})
	if err == nil {
		t.Fatal("an unauthorized upload succeeded")
	}
	for _, want := range []string{rule, stream, "401", "bearer token"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
}

func TestOpenSinkURLs(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, err := monitoring.OpenSink(ctx, "azuremonitor://my-dce.westeurope-1.ingest.monitor.azure.com?rule="+rule+"&stream="+stream)
	if err != nil {
		t.Fatalf("a well-formed URL: %v", err)
	}
	s.Close()
	for raw, want := range map[string]string{
		"azuremonitor://?rule=r&stream=s":      "endpoint's host",
		"azuremonitor://h?stream=s":            "rule=",
		"azuremonitor://h?rule=r":              "stream=",
		"azuremonitor://h?rule=r&stream=s&x=1": `unknown URL parameter "x"`,
	} {
		_, err := monitoring.OpenSink(ctx, raw)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: err %v, want one mentioning %q", raw, err, want)
		}
	}
}

func TestAlarmOnlyLogs(t *testing.T) {
	t.Parallel()
	in := azuretest.NewIngestion(t, rule, stream)
	s := open(t, in)
	if err := s.Alarm(context.Background(), []monitoring.Alarm{{Name: "dataset_drift", Value: 0.6, Threshold: 0.5}}); err != nil {
		t.Fatal(err)
	}
	if in.Uploads() != 0 {
		t.Error("an alarm was uploaded: the scheduled-query rules raise alerts in Azure")
	}
}
