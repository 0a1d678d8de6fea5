// Package gcp runs modelfn's three functions on Google Cloud Functions
// (2nd gen, on Cloud Run) through functions-framework-go:
//
//	Predict  HTTP function: the predict API, same paths, statuses and errors as locally
//	Batch    CloudEvent function: google.cloud.storage.object.v1.finalized from Eventarc
//	Monitor  HTTP function: Cloud Scheduler's call (OIDC) or a Pub/Sub CloudEvent
//
// Cloud Functions builds Go from source: the archive `modelfn build --cloud
// gcp` writes (package gcpbuild) holds a small generated package that embeds
// the bundle and calls Register from its init. Storage is Cloud Storage
// through gocloud.dev's gcsblob (gs:// URLs; STORAGE_EMULATOR_HOST points it
// at an emulator), and this package registers the gcpmonitoring:// metrics
// driver for Cloud Monitoring.
package gcp

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/GoogleCloudPlatform/functions-framework-go/functions"
	_ "gocloud.dev/blob/gcsblob" // gs:// buckets

	core "github.com/modelfn/modelfn/functions"
)

// Entry points: the names the generated package registers and the
// Terraform module deploys (google_cloudfunctions2_function
// build_config.entry_point).
const (
	EntryPredict = "Predict"
	EntryBatch   = "Batch"
	EntryMonitor = "Monitor"
)

// shutdownGrace is how long the prediction log may take to flush after
// SIGTERM: Cloud Run kills the instance 10 seconds after sending it.
const shutdownGrace = 8 * time.Second

// Options configure Functions.
type Options struct {
	// Bundle is the bundle (modelfn.yaml at its root) embedded in the
	// function's source; it is used when MODELFN_BUNDLE is unset.
	Bundle fs.FS
	// Config, if set, replaces the environment's wiring (tests).
	Config *core.Config
	// Logger defaults to JSON lines on stdout in Cloud Logging's shape.
	Logger *slog.Logger
}

// Functions is one model version's three entry points. The App behind
// them is built on the first invocation, so a cold start that cannot reach
// its buckets is reported to the caller and retried by the next one.
type Functions struct {
	opt Options
	log *slog.Logger

	mu       sync.Mutex
	app      *core.App
	closed   bool
	tempDir  string // the extracted bundle, removed on Close
	batchURL string

	monitorMu sync.Mutex // one monitor run at a time per instance
}

// New returns the entry points; nothing is opened until the first call.
func New(o Options) *Functions {
	if o.Logger == nil {
		o.Logger = NewLogger(os.Stdout, os.Getenv(core.EnvLogLevel))
	}
	return &Functions{opt: o, log: o.Logger}
}

var (
	registerOnce sync.Once
	registered   *Functions
)

// Register registers Predict, Batch and Monitor with functions-framework
// (FUNCTION_TARGET picks the one an instance serves), makes the Cloud
// Logging JSON logger the default, and flushes the prediction log when
// Cloud Run sends SIGTERM. The generated package calls it from init; a
// second call returns the first one's functions.
func Register(bundle fs.FS) *Functions {
	registerOnce.Do(func() {
		f := New(Options{Bundle: bundle})
		slog.SetDefault(f.log)
		functions.HTTP(EntryPredict, f.Predict)
		functions.CloudEvent(EntryBatch, f.Batch)
		functions.HTTP(EntryMonitor, f.Monitor)
		f.CloseOnSignal(syscall.SIGTERM)
		registered = f
	})
	return registered
}

// App returns the model version's functions, building them on first use.
func (f *Functions) App(ctx context.Context) (*core.App, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.app != nil {
		return f.app, nil
	}
	if f.closed {
		return nil, errors.New("the function is shutting down")
	}
	cfg, err := f.config()
	if err != nil {
		return nil, err
	}
	start := time.Now()
	app, err := core.New(ctx, cfg, f.log)
	if err != nil {
		return nil, fmt.Errorf("starting the function (bundle %s, log bucket %s): %w", cfg.Bundle, cfg.LogURL, err)
	}
	c := &app.Bundle.Config
	f.log.Info("modelfn function ready", "model", c.Name, "version", c.Version,
		"target", os.Getenv("FUNCTION_TARGET"), "startup_ms", time.Since(start).Milliseconds())
	if c.Limits.MaxBodyBytes > MaxRequestBytes {
		f.log.Warn("limits.max_body_bytes is above the Cloud Functions request limit; larger requests are refused before they reach the function",
			"max_body_bytes", c.Limits.MaxBodyBytes, "cloud_limit", MaxRequestBytes)
	}
	f.app, f.batchURL = app, cfg.BatchURL
	return app, nil
}

// config is the wiring from Options or the environment, with the embedded
// bundle written out when MODELFN_BUNDLE does not name one.
func (f *Functions) config() (core.Config, error) {
	if f.opt.Config != nil {
		return *f.opt.Config, nil
	}
	cfg, err := core.ConfigFromEnv()
	if err != nil {
		return cfg, err
	}
	if os.Getenv(core.EnvBundle) == "" && f.opt.Bundle != nil {
		if f.tempDir == "" {
			dir, err := extract(f.opt.Bundle)
			if err != nil {
				return cfg, fmt.Errorf("writing out the embedded bundle: %w", err)
			}
			f.tempDir = dir
		}
		cfg.Bundle = f.tempDir
	}
	return cfg, nil
}

// extract copies an embedded bundle to a new folder (on Cloud Run, /tmp is
// memory), since bundles are loaded from a folder.
func extract(bundle fs.FS) (string, error) {
	dir, err := os.MkdirTemp("", "modelfn-bundle-")
	if err != nil {
		return "", err
	}
	err = fs.WalkDir(bundle, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		dst := filepath.Join(dir, filepath.FromSlash(p))
		if d.IsDir() {
			return os.MkdirAll(dst, 0o755)
		}
		data, err := fs.ReadFile(bundle, p)
		if err != nil {
			return err
		}
		return os.WriteFile(dst, data, 0o644)
	})
	if err != nil {
		os.RemoveAll(dir)
		return "", err
	}
	return dir, nil
}

// Close flushes the buffered prediction log and releases storage. Later
// invocations are refused.
func (f *Functions) Close(ctx context.Context) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.closed = true
	var err error
	if f.app != nil {
		start := time.Now()
		err = f.app.Close(ctx)
		if err != nil {
			f.log.Error("shutdown: flushing the prediction log failed", "err", err)
		} else {
			f.log.Info("shutdown: prediction log flushed", "ms", time.Since(start).Milliseconds())
		}
		f.app = nil
	}
	if f.tempDir != "" {
		os.RemoveAll(f.tempDir)
		f.tempDir = ""
	}
	return err
}

// CloseOnSignal flushes on the first of sigs (Cloud Run sends SIGTERM
// before it stops an instance, and kills it 10 seconds later), then lets
// the signal end the process as it would have.
func (f *Functions) CloseOnSignal(sigs ...os.Signal) {
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, sigs...)
	go func() {
		s := <-ch
		f.log.Info("shutdown: signal received, flushing the prediction log", "signal", s.String())
		ctx, cancel := context.WithTimeout(context.Background(), shutdownGrace)
		f.Close(ctx)
		cancel()
		signal.Stop(ch)
		if p, err := os.FindProcess(os.Getpid()); err == nil {
			p.Signal(s) // the default action now: the process ends
		}
	}()
}

// NewLogger writes JSON lines that Cloud Logging reads as structured
// entries: "severity" and "message" instead of slog's "level" and "msg".
func NewLogger(w io.Writer, level string) *slog.Logger {
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(strings.ToUpper(level))); err != nil || level == "" {
		lv = slog.LevelInfo
	}
	return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{
		Level: lv,
		ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
			if len(groups) > 0 {
				return a
			}
			switch a.Key {
			case slog.LevelKey:
				return slog.String("severity", severity(a.Value.Any().(slog.Level)))
			case slog.MessageKey:
				a.Key = "message"
			}
			return a
		},
	}))
}

func severity(l slog.Level) string {
	switch {
	case l >= slog.LevelError:
		return "ERROR"
	case l >= slog.LevelWarn:
		return "WARNING"
	case l >= slog.LevelInfo:
		return "INFO"
	}
	return "DEBUG"
}
