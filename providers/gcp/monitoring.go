package gcp

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	monitoringapi "cloud.google.com/go/monitoring/apiv3/v2"
	"cloud.google.com/go/monitoring/apiv3/v2/monitoringpb"
	"google.golang.org/api/option"
	metricpb "google.golang.org/genproto/googleapis/api/metric"
	monitoredrespb "google.golang.org/genproto/googleapis/api/monitoredres"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/modelfn/modelfn/functions/monitoring"
	"github.com/modelfn/modelfn/functions/monitoring/driver"
)

// MetricScheme is the monitoring URL scheme this package registers:
//
//	gcpmonitoring://PROJECT                          Cloud Monitoring of PROJECT
//	gcpmonitoring://PROJECT?endpoint=HOST:PORT       another endpoint (TLS, default credentials)
//	gcpmonitoring://PROJECT?endpoint=HOST:PORT&insecure=true
//	                                                 plaintext and no credentials: a local endpoint in tests
const MetricScheme = "gcpmonitoring"

// MetricPrefix is put before a metric name to make its Cloud Monitoring
// type: custom.googleapis.com/modelfn/drift_share. The Terraform module
// creates a descriptor for each type and alert policies on them.
const MetricPrefix = "custom.googleapis.com/modelfn/"

// MetricType is the Cloud Monitoring metric type of a modelfn metric name.
func MetricType(name string) string { return MetricPrefix + name }

// maxSeriesPerRequest is CreateTimeSeries' limit on time series per call.
const maxSeriesPerRequest = 200

func init() {
	monitoring.Register(MetricScheme, openMetricSink)
}

// metricSink writes each metric as one point of a GAUGE DOUBLE time series
// on the "global" monitored resource of the project. Custom metrics cannot
// be written against a Cloud Run revision, and "global" lets the alert
// policies match every write of the monitor whichever instance ran it.
type metricSink struct {
	project string
	client  *monitoringapi.MetricClient
	log     *slog.Logger
}

func openMetricSink(ctx context.Context, u *url.URL) (driver.Sink, error) {
	project := u.Host
	if project == "" {
		return nil, fmt.Errorf("%s:// needs the project id as host, e.g. %s://my-project", MetricScheme, MetricScheme)
	}
	q := u.Query()
	for k := range q {
		if k != "endpoint" && k != "insecure" {
			return nil, fmt.Errorf("%s://%s: unknown parameter %q (known: endpoint, insecure)", MetricScheme, project, k)
		}
	}
	var opts []option.ClientOption
	if ep := q.Get("endpoint"); ep != "" {
		opts = append(opts, option.WithEndpoint(ep))
	}
	if s := q.Get("insecure"); s != "" {
		plain, err := strconv.ParseBool(s)
		if err != nil {
			return nil, fmt.Errorf("%s://%s: insecure=%q: %w", MetricScheme, project, s, err)
		}
		if plain {
			if q.Get("endpoint") == "" {
				return nil, fmt.Errorf("%s://%s: insecure=true needs endpoint=HOST:PORT (Cloud Monitoring itself is TLS only)", MetricScheme, project)
			}
			opts = append(opts, option.WithoutAuthentication(),
				option.WithGRPCDialOption(grpc.WithTransportCredentials(insecure.NewCredentials())))
		}
	}
	c, err := monitoringapi.NewMetricClient(ctx, opts...)
	if err != nil {
		return nil, fmt.Errorf("cloud monitoring client for project %q: %w", project, err)
	}
	return &metricSink{project: project, client: c, log: slog.Default()}, nil
}

// Publish writes the metrics in calls of at most 200 time series. A series
// (type and labels) appears once per call, as the API requires: a repeated
// one keeps its last value.
func (s *metricSink) Publish(ctx context.Context, ms []driver.Metric) error {
	series := s.timeSeries(ms)
	for start := 0; start < len(series); start += maxSeriesPerRequest {
		end := min(start+maxSeriesPerRequest, len(series))
		req := &monitoringpb.CreateTimeSeriesRequest{Name: "projects/" + s.project, TimeSeries: series[start:end]}
		if err := s.client.CreateTimeSeries(ctx, req); err != nil {
			return fmt.Errorf("cloud monitoring: CreateTimeSeries in project %q (series %d-%d of %d): %w", s.project, start+1, end, len(series), err)
		}
	}
	return nil
}

func (s *metricSink) timeSeries(ms []driver.Metric) []*monitoringpb.TimeSeries {
	resource := &monitoredrespb.MonitoredResource{Type: "global", Labels: map[string]string{"project_id": s.project}}
	index := map[string]int{}
	var out []*monitoringpb.TimeSeries
	now := time.Now()
	for _, m := range ms {
		if math.IsNaN(m.Value) || math.IsInf(m.Value, 0) {
			// Cloud Monitoring refuses non-finite doubles, and one bad
			// point would fail the whole call.
			s.log.Warn("cloud monitoring: non-finite value not written", "metric", m.Name, "labels", m.Labels, "value", m.Value)
			continue
		}
		t := m.Time
		if t.IsZero() {
			t = now
		}
		ts := &monitoringpb.TimeSeries{
			Metric:     &metricpb.Metric{Type: MetricType(m.Name), Labels: m.Labels},
			Resource:   resource,
			MetricKind: metricpb.MetricDescriptor_GAUGE,
			ValueType:  metricpb.MetricDescriptor_DOUBLE,
			Points: []*monitoringpb.Point{{
				Interval: &monitoringpb.TimeInterval{EndTime: timestamppb.New(t)},
				Value:    &monitoringpb.TypedValue{Value: &monitoringpb.TypedValue_DoubleValue{DoubleValue: m.Value}},
			}},
		}
		key := seriesKey(m)
		if i, dup := index[key]; dup {
			s.log.Warn("cloud monitoring: metric given twice in one run; the last value is written", "series", key)
			out[i] = ts
			continue
		}
		index[key] = len(out)
		out = append(out, ts)
	}
	return out
}

func seriesKey(m driver.Metric) string {
	ls := make([]string, 0, len(m.Labels))
	for k, v := range m.Labels {
		ls = append(ls, k+"="+strconv.Quote(v))
	}
	sort.Strings(ls)
	return m.Name + "{" + strings.Join(ls, ",") + "}"
}

// Alarm only logs: the alert policies the Terraform module creates on the
// same metrics and thresholds are what notify in Cloud Monitoring.
func (s *metricSink) Alarm(_ context.Context, as []driver.Alarm) error {
	for _, a := range as {
		s.log.Warn("ALARM "+a.Name, "metric", MetricType(a.Metric), "labels", a.Labels,
			"value", a.Value, "threshold", a.Threshold, "message", a.Message)
	}
	return nil
}

func (s *metricSink) Close() error { return s.client.Close() }
