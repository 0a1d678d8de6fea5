// Package aws runs modelfn's three functions on AWS Lambda: one bootstrap
// binary (provided.al2023) whose role comes from MODELFN_FUNCTION.
//
//   - predict answers API Gateway HTTP API (payload 2.0) and Function URL
//     events with the core predict handler: the same paths, statuses and
//     error bodies as locally;
//   - batch scores the objects that S3 notifications announce, delivered
//     directly or through SQS (with partial batch failures);
//   - monitor runs on EventBridge Scheduler or scheduled-rule events and
//     publishes to CloudWatch (cloudwatch://NAMESPACE, PutMetricData).
//
// Storage is S3 through gocloud.dev's s3blob (s3://bucket?region=…, and
// endpoint=…&use_path_style=true for S3-compatible servers in tests).
// Importing the package registers s3://, cloudwatch:// and the "aws" build.
package aws

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/events"
	_ "gocloud.dev/blob/s3blob" // s3:// buckets

	"github.com/modelfn/modelfn/functions"
)

// Handler adapts Lambda events onto one App's functions.
type Handler struct {
	app         *functions.App
	log         *slog.Logger
	batchBucket string // the batch bucket's name; events from others are refused

	// The prediction log is flushed at the end of an invocation once its
	// oldest record is flushAge old: Lambda freezes the process between
	// invocations, so the logger's own timer cannot be relied on.
	flushAge time.Duration
	mu       sync.Mutex
	pending  time.Time // start of the first invocation whose records wait in the buffer
	now      func() time.Time
}

// NewHandler adapts app. batchURL is the batch bucket's URL (to refuse
// events from another bucket); "" skips that check.
func NewHandler(app *functions.App, batchURL string, log *slog.Logger) *Handler {
	if log == nil {
		log = slog.Default()
	}
	h := &Handler{app: app, log: log, flushAge: app.Bundle.Config.Log.FlushInterval, now: time.Now}
	if u, err := url.Parse(batchURL); err == nil && u.Scheme == "s3" {
		h.batchBucket = u.Host
	}
	return h
}

// Predict answers one HTTP request. After answering, it writes the
// prediction log synchronously when the buffer's oldest record is older
// than the bundle's log.flush_interval or a full chunk is waiting, so
// records reach S3 within about one flush interval of traffic rather
// than whenever the environment is next thawed.
func (h *Handler) Predict(ctx context.Context, e events.APIGatewayV2HTTPRequest) (HTTPResponse, error) {
	start := h.now()
	resp, err := serveHTTP(ctx, h.app.Handler(), &e)
	h.flushIfDue(ctx, start)
	return resp, err
}

func (h *Handler) flushIfDue(ctx context.Context, start time.Time) {
	pl := h.app.PredLog
	if pl == nil {
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	buffered := pl.Stats().Buffered
	if buffered == 0 {
		h.pending = time.Time{}
		return
	}
	if h.pending.IsZero() {
		h.pending = start
	}
	full := buffered >= int64(h.app.Bundle.Config.Log.FlushRecords)
	if !full && h.now().Sub(h.pending) < h.flushAge {
		return
	}
	// The answer waits for this write; Lambda would freeze a background one.
	if err := pl.Flush(ctx); err != nil {
		h.log.Warn("prediction log flush failed; records stay buffered and are retried", "err", err)
		return
	}
	h.pending = time.Time{}
}

// MonitorSummary is what the monitor invocation returns (visible in
// `aws lambda invoke` and in the scheduler's logs).
type MonitorSummary struct {
	WindowStart   time.Time `json:"window_start"`
	WindowRows    int       `json:"window_rows"`
	NotEnoughData bool      `json:"not_enough_data"`
	ObjectsRead   int       `json:"objects_read"`
	Records       int       `json:"records"`
	Corrupt       int       `json:"corrupt_objects"`
	Metrics       int       `json:"metrics"`
	Alarms        []string  `json:"alarms"`
	Seconds       float64   `json:"seconds"`
}

// Monitor runs one monitor pass. Any event starts it: EventBridge
// Scheduler sends the target's configured input, a scheduled rule its
// "Scheduled Event" document, `aws lambda invoke` whatever it is given. A failed pass is returned as the
// invocation's error, so the scheduler's retry policy and the function's
// on-failure destination see it.
func (h *Handler) Monitor(ctx context.Context, raw json.RawMessage) (*MonitorSummary, error) {
	// Any payload starts a pass; the fields of a scheduled event (which
	// modelfn's scheduler input imitates) only narrate.
	var trigger struct {
		Source string `json:"source"`
		Time   string `json:"time"`
	}
	_ = json.Unmarshal(raw, &trigger)
	h.log.Info("monitor: started", "trigger", cmp.Or(trigger.Source, "invoke"), "scheduled_time", trigger.Time)
	res, err := h.app.Monitor.Run(ctx)
	if err != nil {
		return nil, fmt.Errorf("monitor %s/%s: %w", h.app.Bundle.Config.Name, h.app.Bundle.Config.Version, err)
	}
	s := &MonitorSummary{
		WindowStart: res.WindowStart, WindowRows: res.WindowRows, NotEnoughData: res.NotEnoughData,
		ObjectsRead: res.Health.ObjectsRead, Records: res.Health.Records, Corrupt: res.Health.CorruptObjects,
		Metrics: len(res.Metrics), Alarms: []string{}, Seconds: res.Duration.Seconds(),
	}
	for _, a := range res.Alarms {
		s.Alarms = append(s.Alarms, a.Name)
	}
	h.log.Info("monitor: done", "window_rows", s.WindowRows, "objects_read", s.ObjectsRead, "metrics", s.Metrics, "alarms", len(s.Alarms), "seconds", s.Seconds)
	return s, nil
}

// For returns the Lambda handler of a role (predict, batch or monitor).
func (h *Handler) For(role string) (any, error) {
	switch role {
	case functions.RolePredict:
		return h.Predict, nil
	case functions.RoleBatch:
		if h.app.Batch == nil {
			return nil, fmt.Errorf("the batch function needs %s (the batch bucket)", functions.EnvBatchURL)
		}
		return h.Batch, nil
	case functions.RoleMonitor:
		return h.Monitor, nil
	}
	return nil, fmt.Errorf("%s=%q: want predict, batch or monitor", functions.EnvFunction, role)
}

// Shutdown writes the buffered prediction log and releases storage; the
// bootstrap calls it when Lambda sends SIGTERM (about 500 ms before it
// kills the environment).
func (h *Handler) Shutdown(ctx context.Context) error {
	st := h.app.PredLog
	err := h.app.Close(ctx)
	if st != nil {
		s := st.Stats()
		h.log.Info("shutdown: prediction log flushed", "written", s.Written, "still_buffered", s.Buffered, "dropped", s.Dropped, "err", err)
	}
	return err
}

// FromEnv builds the handler a deployed function serves, from the
// environment Terraform sets (MODELFN_FUNCTION, MODELFN_BUNDLE,
// MODELFN_LOG_URL, MODELFN_BATCH_URL, MODELFN_METRICS_URL).
func FromEnv(ctx context.Context, log *slog.Logger) (*Handler, any, error) {
	role, err := functions.Role()
	if err != nil {
		return nil, nil, err
	}
	cfg, err := functions.ConfigFromEnv()
	if err != nil {
		return nil, nil, err
	}
	if role != functions.RoleBatch {
		cfg.BatchURL = "" // only batch reads the batch bucket (and has the permissions to)
	}
	app, err := functions.New(ctx, cfg, log)
	if err != nil {
		return nil, nil, fmt.Errorf("%s function: %w", role, err)
	}
	h := NewHandler(app, cfg.BatchURL, log)
	fn, err := h.For(role)
	if err != nil {
		app.Close(ctx)
		return nil, nil, err
	}
	c := &app.Bundle.Config
	log.Info("function ready", "role", role, "model", c.Name, "version", c.Version)
	return h, fn, nil
}

// NewLogger is the functions' logger: JSON lines on w, which Lambda sends
// to CloudWatch Logs, at MODELFN_LOG_LEVEL (default info).
func NewLogger(w io.Writer) *slog.Logger {
	var level slog.Level
	if err := level.UnmarshalText([]byte(strings.TrimSpace(os.Getenv(functions.EnvLogLevel)))); err != nil {
		level = slog.LevelInfo
	}
	return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: level}))
}
