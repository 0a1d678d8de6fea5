package aws

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"net/url"
	"sort"
	"strings"
	"time"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	gcaws "gocloud.dev/aws"

	"github.com/modelfn/modelfn/functions/monitoring"
	"github.com/modelfn/modelfn/functions/monitoring/driver"
)

// Scheme is the monitoring URL scheme of the CloudWatch driver:
//
//	cloudwatch://NAMESPACE?region=R[&endpoint=URL]
//
// NAMESPACE may contain slashes (cloudwatch://ModelFn/prod). Besides
// endpoint, the query takes gocloud.dev's AWS parameters (region, profile,
// anonymous, ...); without region the SDK's usual chain applies (AWS_REGION
// inside Lambda).
const Scheme = "cloudwatch"

// maxPerRequest is PutMetricData's limit of metrics per call.
const maxPerRequest = 1000

func init() {
	monitoring.Register(Scheme, func(ctx context.Context, u *url.URL) (driver.Sink, error) {
		return OpenCloudWatch(ctx, u)
	})
}

// CloudWatch publishes monitor metrics with PutMetricData: one namespace,
// the metric names of package monitoring, and the labels (model, version,
// and feature or metric where present) as dimensions, which is exactly the
// identity the Terraform alarms watch.
type CloudWatch struct {
	client    *cloudwatch.Client
	namespace string
	log       *slog.Logger
}

// OpenCloudWatch opens the sink a cloudwatch:// URL names.
func OpenCloudWatch(ctx context.Context, u *url.URL) (*CloudWatch, error) {
	ns := u.Host + strings.TrimSuffix(u.Path, "/")
	switch {
	case ns == "":
		return nil, fmt.Errorf("cloudwatch:// needs a namespace, e.g. cloudwatch://ModelFn?region=eu-west-1")
	case strings.HasPrefix(ns, "AWS/"):
		return nil, fmt.Errorf("cloudwatch namespace %q: the AWS/ prefix is reserved for AWS services", ns)
	case len(ns) > 255:
		return nil, fmt.Errorf("cloudwatch namespace %.40q…: longer than 255 characters", ns)
	}
	q := u.Query()
	endpoint := q.Get("endpoint")
	q.Del("endpoint")
	cfg, err := gcaws.V2ConfigFromURLParams(ctx, q)
	if err != nil {
		return nil, fmt.Errorf("cloudwatch %s: %w", ns, err)
	}
	client := cloudwatch.NewFromConfig(cfg, func(o *cloudwatch.Options) {
		if endpoint != "" {
			o.BaseEndpoint = awssdk.String(endpoint)
		}
	})
	return &CloudWatch{client: client, namespace: ns, log: slog.Default()}, nil
}

// Namespace is where the metrics go.
func (c *CloudWatch) Namespace() string { return c.namespace }

// Publish sends the metrics, at most 1000 per request. CloudWatch refuses
// NaN and infinities, so those are left out and logged.
func (c *CloudWatch) Publish(ctx context.Context, ms []driver.Metric) error {
	data := make([]types.MetricDatum, 0, len(ms))
	for _, m := range ms {
		if math.IsNaN(m.Value) || math.IsInf(m.Value, 0) {
			c.log.Warn("cloudwatch: metric left out: CloudWatch takes only finite values", "metric", m.Name, "labels", m.Labels, "value", fmt.Sprint(m.Value))
			continue
		}
		data = append(data, Datum(m))
	}
	for len(data) > 0 {
		n := min(len(data), maxPerRequest)
		_, err := c.client.PutMetricData(ctx, &cloudwatch.PutMetricDataInput{Namespace: &c.namespace, MetricData: data[:n]})
		if err != nil {
			return fmt.Errorf("cloudwatch %s: PutMetricData (%d metrics): %w", c.namespace, n, err)
		}
		data = data[n:]
	}
	return nil
}

// Datum is a metric as CloudWatch stores it: labels become dimensions
// (sorted by name, empty values left out since CloudWatch refuses them)
// and units outside CloudWatch's list (such as "Ratio") become None.
func Datum(m driver.Metric) types.MetricDatum {
	d := types.MetricDatum{MetricName: awssdk.String(m.Name), Value: awssdk.Float64(m.Value), Unit: Unit(m.Unit)}
	if !m.Time.IsZero() {
		d.Timestamp = awssdk.Time(m.Time.UTC().Truncate(time.Millisecond))
	}
	names := make([]string, 0, len(m.Labels))
	for k, v := range m.Labels {
		if v != "" {
			names = append(names, k)
		}
	}
	sort.Strings(names)
	for _, k := range names {
		d.Dimensions = append(d.Dimensions, types.Dimension{Name: awssdk.String(k), Value: awssdk.String(m.Labels[k])})
	}
	return d
}

// Unit maps a metric's unit onto CloudWatch's StandardUnit.
func Unit(u string) types.StandardUnit {
	for _, s := range types.StandardUnit("").Values() {
		if string(s) == u {
			return s
		}
	}
	return types.StandardUnitNone
}

// Alarm logs what the monitor saw crossed. In AWS the CloudWatch alarms
// that Terraform creates on the same metrics and thresholds are what fire
// (and notify the SNS topic); the log line is for the person reading the
// function's logs.
func (c *CloudWatch) Alarm(_ context.Context, as []driver.Alarm) error {
	for _, a := range as {
		c.log.Warn("ALARM "+a.Name, "metric", a.Metric, "labels", a.Labels, "value", a.Value, "threshold", a.Threshold, "message", a.Message)
	}
	return nil
}

// Close releases nothing: the client holds no open resources.
func (c *CloudWatch) Close() error { return nil }
