package functions

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"

	"gocloud.dev/blob"

	"github.com/modelfn/modelfn/drift"
	"github.com/modelfn/modelfn/functions/batch"
	"github.com/modelfn/modelfn/functions/monitor"
	"github.com/modelfn/modelfn/functions/monitoring"
	"github.com/modelfn/modelfn/functions/predict"
	"github.com/modelfn/modelfn/functions/predlog"
	"github.com/modelfn/modelfn/runtime"
	"github.com/modelfn/modelfn/runtime/bundle"
	_ "github.com/modelfn/modelfn/runtime/formats" // every model format
)

// App is one model version's three functions, wired to storage and
// monitoring. Providers build one and adapt their cloud's events onto it.
type App struct {
	Bundle *bundle.Bundle
	Model  runtime.Model
	Logger *slog.Logger

	LogBucket   *blob.Bucket
	BatchBucket *blob.Bucket // nil when batch is not configured
	Sink        *monitoring.Sink

	PredLog *predlog.Logger // nil when the bundle turns the log off
	Predict *predict.Handler
	Batch   *batch.Scorer
	Monitor *monitor.Monitor
}

// New loads the bundle and opens the storage and monitoring the config
// names. The drivers for the URL schemes must be registered (imported) by
// the caller's provider.
func New(ctx context.Context, cfg Config, logger *slog.Logger) (_ *App, err error) {
	if logger == nil {
		logger = slog.Default()
	}
	b, err := bundle.Load(cfg.Bundle)
	if err != nil {
		return nil, err
	}
	m, err := b.Model()
	if err != nil {
		return nil, err
	}
	a := &App{Bundle: b, Model: m, Logger: logger}
	defer func() {
		if err != nil {
			a.Close(ctx)
		}
	}()
	c := &b.Config
	if a.LogBucket, err = blob.OpenBucket(ctx, cfg.LogURL); err != nil {
		return nil, fmt.Errorf("prediction-log bucket %q: %w", cfg.LogURL, err)
	}
	if cfg.BatchURL != "" {
		if a.BatchBucket, err = blob.OpenBucket(ctx, cfg.BatchURL); err != nil {
			return nil, fmt.Errorf("batch bucket %q: %w", cfg.BatchURL, err)
		}
	}
	if cfg.MetricsURL != "" {
		if a.Sink, err = monitoring.OpenSink(ctx, cfg.MetricsURL); err != nil {
			return nil, err
		}
	}

	enc := predlog.NewEncoder(c.Name, c.Version, b.Schema, m.Info())
	logPrefix := a.LogPrefix()
	if !c.Log.Disabled {
		a.PredLog = predlog.NewLogger(a.LogBucket, enc, predlog.Options{
			Prefix: logPrefix, FlushRecords: c.Log.FlushRecords, FlushInterval: c.Log.FlushInterval,
			MaxBuffered: c.Log.MaxBuffered, Sample: predlog.Sample(c.Log.Rate()), Log: logger,
		})
	}
	a.Predict = predict.New(m, b.Schema, predict.Options{
		Name: c.Name, Version: c.Version, MaxRows: c.Limits.MaxRows, MaxBodyBytes: c.Limits.MaxBodyBytes,
		Log: a.PredLog, Logger: logger,
	})
	if a.BatchBucket != nil {
		a.Batch = &batch.Scorer{
			Model: m, Schema: b.Schema, Bucket: a.BatchBucket,
			InputPrefix: c.Batch.InputPrefix, OutputPrefix: c.Batch.OutputPrefix, ErrorsPrefix: c.Batch.ErrorsPrefix,
			ChunkRows: c.Batch.ChunkRows, Logger: logger,
		}
		if !c.Log.Disabled {
			a.Batch.LogBucket, a.Batch.LogPrefix, a.Batch.Encoder = a.LogBucket, logPrefix, enc
			a.Batch.LogSample = predlog.Sample(c.Log.Rate())
		}
	}
	ref := drift.NewProfile(nil, drift.ProfileOptions{})
	data, err := b.ReadFile(c.Reference)
	if err != nil {
		return nil, err
	}
	if err := ref.UnmarshalJSON(data); err != nil {
		return nil, fmt.Errorf("bundle %q: %s: %w", c.Name, c.Reference.Path, err)
	}
	a.Monitor = &monitor.Monitor{
		Name: c.Name, Version: c.Version, Schema: b.Schema, Info: m.Info(),
		Bucket: a.LogBucket, LogPrefix: logPrefix,
		LabelsPrefix: c.Monitoring.Perf.LabelsPrefix + c.Name + "/",
		StatePrefix:  "monitor/" + c.Name + "/" + c.Version + "/",
		Reference:    ref, RefPerf: c.Monitoring.Perf.Reference, Config: c.Monitoring,
		Sink: a.Sink, Logger: logger,
	}
	return a, nil
}

// RunMonitor is the monitor function.
func (a *App) RunMonitor(ctx context.Context) error {
	_, err := a.Monitor.Run(ctx)
	return err
}

// LogPrefix is where this model version's prediction log lives.
func (a *App) LogPrefix() string {
	c := &a.Bundle.Config
	return predlog.Prefix(c.Log.Prefix, c.Name, c.Version)
}

// Handler is the predict function.
func (a *App) Handler() http.Handler { return a.Predict }

// ScoreObject is the batch function.
func (a *App) ScoreObject(ctx context.Context, obj Object) error {
	if a.Batch == nil {
		return fmt.Errorf("batch scoring is not configured (%s is empty)", EnvBatchURL)
	}
	_, err := a.Batch.Score(ctx, obj.Key)
	return err
}

// Close flushes the prediction log and releases storage. Call it on
// shutdown (providers do on SIGTERM).
func (a *App) Close(ctx context.Context) error {
	var errs []error
	if a.PredLog != nil {
		errs = append(errs, a.PredLog.Close(ctx))
	}
	for _, b := range []*blob.Bucket{a.LogBucket, a.BatchBucket} {
		if b != nil {
			errs = append(errs, b.Close())
		}
	}
	if a.Sink != nil {
		errs = append(errs, a.Sink.Close())
	}
	return errors.Join(errs...)
}
