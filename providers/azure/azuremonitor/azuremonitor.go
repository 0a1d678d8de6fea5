// Package azuremonitor is the Azure Monitor monitoring driver: metrics
// become rows of a custom Log Analytics table, written through the Logs
// Ingestion API (azlogs) via a data collection endpoint (DCE) and rule
// (DCR). The alert rules Terraform creates are scheduled queries over that
// table.
//
//	azuremonitor://DCE_HOST?rule=DCR_IMMUTABLE_ID&stream=Custom-ModelFnMetrics_CL
//
// Why rows and not Azure Monitor custom metrics: the official Go SDK has a
// client for the Logs Ingestion API and none for the custom-metrics
// endpoint (a regional REST API, in preview for years, limited to 10
// dimensions per metric); rows keep every label (feature names included)
// and scheduled-query alerts can group by them.
//
// The table's columns are those of Row: TimeGenerated, Name, Value, Model,
// Version, Feature and Labels (dynamic: every label of the metric).
package azuremonitor

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/url"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"github.com/Azure/azure-sdk-for-go/sdk/monitor/ingestion/azlogs"

	"github.com/modelfn/modelfn/functions/monitoring"
	"github.com/modelfn/modelfn/functions/monitoring/driver"
)

// Scheme is the URL scheme the driver registers.
const Scheme = "azuremonitor"

// MaxRequestBytes bounds the uncompressed JSON of one upload: the Logs
// Ingestion API refuses calls over 1 MB.
const MaxRequestBytes = 1_000_000

func init() {
	monitoring.Register(Scheme, new(Opener).Open)
}

// Row is one metric as a row of the custom table.
type Row struct {
	TimeGenerated time.Time         `json:"TimeGenerated"`
	Name          string            `json:"Name"`
	Value         float64           `json:"Value"`
	Model         string            `json:"Model"`
	Version       string            `json:"Version"`
	Feature       string            `json:"Feature"`
	Labels        map[string]string `json:"Labels"` // every label, Model/Version/Feature included
}

// Opener opens azuremonitor:// URLs. The zero value authenticates with
// azidentity's DefaultAzureCredential (the function app's managed
// identity in Azure) over the SDK's default transport.
type Opener struct {
	Credential    azcore.TokenCredential
	ClientOptions azcore.ClientOptions
	Logger        *slog.Logger
}

// Open implements monitoring.Opener.
func (o *Opener) Open(_ context.Context, u *url.URL) (driver.Sink, error) {
	q := u.Query()
	rule, stream := q.Get("rule"), q.Get("stream")
	switch {
	case u.Host == "":
		return nil, errors.New("azuremonitor: the URL needs the data collection endpoint's host, e.g. azuremonitor://my-dce.westeurope-1.ingest.monitor.azure.com?rule=dcr-…&stream=Custom-ModelFnMetrics_CL")
	case rule == "":
		return nil, errors.New("azuremonitor: the URL needs rule=<the data collection rule's immutable id>")
	case stream == "":
		return nil, errors.New("azuremonitor: the URL needs stream=<the rule's stream, e.g. Custom-ModelFnMetrics_CL>")
	}
	for k := range q {
		if k != "rule" && k != "stream" {
			return nil, fmt.Errorf("azuremonitor: unknown URL parameter %q (known: rule, stream)", k)
		}
	}
	cred := o.Credential
	if cred == nil {
		c, err := azidentity.NewDefaultAzureCredential(nil)
		if err != nil {
			return nil, fmt.Errorf("azuremonitor: credential: %w", err)
		}
		cred = c
	}
	client, err := azlogs.NewClient("https://"+u.Host, cred, &azlogs.ClientOptions{ClientOptions: o.ClientOptions})
	if err != nil {
		return nil, fmt.Errorf("azuremonitor: %w", err)
	}
	log := o.Logger
	if log == nil {
		log = slog.Default()
	}
	return &Sink{client: client, endpoint: u.Host, rule: rule, stream: stream, log: log}, nil
}

// Sink writes metrics as rows through one data collection rule's stream.
type Sink struct {
	client                 *azlogs.Client
	endpoint, rule, stream string
	log                    *slog.Logger
}

// Rows turns metrics into table rows. Values JSON cannot carry (NaN,
// ±Inf) are left out and counted.
func Rows(ms []driver.Metric, now time.Time) (rows []Row, skipped int) {
	rows = make([]Row, 0, len(ms))
	for _, m := range ms {
		if math.IsNaN(m.Value) || math.IsInf(m.Value, 0) {
			skipped++
			continue
		}
		t := m.Time
		if t.IsZero() {
			t = now
		}
		labels := m.Labels
		if labels == nil {
			labels = map[string]string{}
		}
		rows = append(rows, Row{
			TimeGenerated: t.UTC(), Name: m.Name, Value: m.Value,
			Model: labels["model"], Version: labels["version"], Feature: labels["feature"], Labels: labels,
		})
	}
	return rows, skipped
}

// Publish uploads the metrics, split into calls under the API's size limit.
func (s *Sink) Publish(ctx context.Context, ms []driver.Metric) error {
	rows, skipped := Rows(ms, time.Now())
	if skipped > 0 {
		s.log.Warn("azuremonitor: metrics with non-finite values left out", "skipped", skipped)
	}
	bodies, err := chunks(rows, MaxRequestBytes)
	if err != nil {
		return err
	}
	gzipped := "gzip"
	for i, body := range bodies {
		z, err := compress(body)
		if err != nil {
			return err
		}
		if _, err := s.client.Upload(ctx, s.rule, s.stream, z, &azlogs.UploadOptions{ContentEncoding: &gzipped}); err != nil {
			return fmt.Errorf("azuremonitor: upload %d of %d to %s (rule %s, stream %s): %w", i+1, len(bodies), s.endpoint, s.rule, s.stream, err)
		}
	}
	return nil
}

// Alarm logs crossed thresholds: in Azure, the scheduled-query alert rules
// over the same rows are what fire and notify.
func (s *Sink) Alarm(_ context.Context, as []driver.Alarm) error {
	for _, a := range as {
		s.log.Warn("ALARM "+a.Name, "metric", a.Metric, "value", a.Value, "threshold", a.Threshold, "labels", a.Labels, "message", a.Message)
	}
	return nil
}

// Close implements driver.Sink.
func (s *Sink) Close() error { return nil }

// chunks encodes rows as JSON arrays of at most limit bytes each.
func chunks(rows []Row, limit int) ([][]byte, error) {
	var out [][]byte
	buf := []byte{'['}
	for _, r := range rows {
		b, err := json.Marshal(r)
		if err != nil {
			return nil, fmt.Errorf("azuremonitor: encode %s: %w", r.Name, err)
		}
		if len(b)+2 > limit {
			return nil, fmt.Errorf("azuremonitor: metric %s is %d bytes, over the %d-byte upload limit", r.Name, len(b), limit)
		}
		if len(buf) > 1 && len(buf)+1+len(b)+1 > limit {
			out = append(out, append(buf, ']'))
			buf = []byte{'['}
		}
		if len(buf) > 1 {
			buf = append(buf, ',')
		}
		buf = append(buf, b...)
	}
	if len(buf) > 1 {
		out = append(out, append(buf, ']'))
	}
	return out, nil
}

func compress(b []byte) ([]byte, error) {
	var z bytes.Buffer
	w := gzip.NewWriter(&z)
	if _, err := w.Write(b); err != nil {
		return nil, err
	}
	if err := w.Close(); err != nil {
		return nil, err
	}
	return z.Bytes(), nil
}
