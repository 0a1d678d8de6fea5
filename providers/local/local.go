// Package local runs modelfn's three functions on one machine with no
// cloud: the filesystem as object store (gocloud.dev's fileblob), an HTTP
// server for predict, a watcher on the batch input prefix, a scheduler for
// the monitor, and alarms written to a local alarm log and printed.
//
// The data folder holds what the clouds' buckets would:
//
//	DATA/predictions/…   the prediction log
//	DATA/labels/…        ground truth, {"id","label"} JSON lines
//	DATA/monitor/…       the monitor's checkpoint
//	DATA/input/…         drop CSV/JSONL files here to batch-score them
//	DATA/output/…        scored files appear here; failed rows in DATA/errors/…
//	DATA/monitoring/     metrics.jsonl and alarms.jsonl
package local

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"gocloud.dev/blob"
	_ "gocloud.dev/blob/fileblob" // file:// buckets
	_ "gocloud.dev/blob/memblob"  // mem:// buckets, for tests

	"github.com/modelfn/modelfn/functions"
	"github.com/modelfn/modelfn/functions/batch"
)

// Config wires the functions to a local data folder.
func Config(bundleDir, dataDir string) (functions.Config, error) {
	abs, err := filepath.Abs(dataDir)
	if err != nil {
		return functions.Config{}, err
	}
	if err := os.MkdirAll(abs, 0o755); err != nil {
		return functions.Config{}, fmt.Errorf("data folder: %w", err)
	}
	// Temporary files next to their final name, so a write is a rename
	// within one filesystem and an object appears whole or not at all.
	store := (&url.URL{Scheme: "file", Path: filepath.ToSlash(abs), RawQuery: "no_tmp_dir=1&metadata=skip"}).String()
	return functions.Config{
		Bundle:     bundleDir,
		LogURL:     store,
		BatchURL:   store,
		MetricsURL: (&url.URL{Scheme: "local", Path: filepath.ToSlash(filepath.Join(abs, "monitoring"))}).String(),
	}, nil
}

// Options for Serve.
type Options struct {
	Addr string
	// WatchInterval is how often the input prefix is listed (default 1s);
	// MonitorInterval overrides the bundle's monitoring interval (0: keep).
	WatchInterval   time.Duration
	MonitorInterval time.Duration
	// DataDir, if set, is the data folder Config was given: its batch input
	// folder is made at start, so that a first file can be dropped in.
	DataDir string
	// Listener, if set, is served instead of listening on Addr.
	Listener net.Listener
	// Ready, if set, receives the address once the server listens.
	Ready func(addr string)
}

// Serve runs predict, the batch watcher and the monitor schedule until ctx
// ends, then shuts down gracefully: in-flight requests finish and the
// prediction log is flushed.
func Serve(ctx context.Context, app *functions.App, o Options) error {
	log := app.Logger
	input := app.Bundle.Config.Batch.InputPrefix
	if app.Batch != nil && o.DataDir != "" {
		input = filepath.Join(o.DataDir, filepath.FromSlash(input))
		if err := os.MkdirAll(input, 0o755); err != nil {
			return fmt.Errorf("batch input folder: %w", err)
		}
	}
	srv := newFastServer(withStats(app), app.Bundle.Config.Limits.MaxBodyBytes, log)
	ln := o.Listener
	if ln == nil {
		var err error
		if ln, err = net.Listen("tcp", o.Addr); err != nil {
			return err
		}
	}
	c := &app.Bundle.Config
	log.Info("serving", "model", c.Name, "version", c.Version, "addr", "http://"+ln.Addr().String(),
		"predict", "POST /predict  or  POST /v2/models/"+c.Name+"/infer")
	if beyondLoopback(ln.Addr()) {
		// The local server has no authentication of its own (the clouds'
		// deployments do): say so when other machines can reach it.
		log.Warn("listening beyond this machine: anyone who can reach this address can call predict and read /modelfn/stats, with no authentication; listen on 127.0.0.1 or put an authenticating proxy in front",
			"addr", ln.Addr().String())
	}
	if o.Ready != nil {
		o.Ready(ln.Addr().String())
	}

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	errc := make(chan error, 3)
	go func() { errc <- srv.Serve(ln) }()
	if app.Batch != nil {
		interval := cmp(o.WatchInterval, time.Second)
		log.Info("watching for batch input", "folder", input, "every", interval)
		go func() { errc <- Watch(ctx, app, interval) }()
	}
	if app.Monitor != nil {
		interval := cmp(o.MonitorInterval, c.Monitoring.Interval)
		log.Info("monitor scheduled", "every", interval)
		go func() { errc <- Every(ctx, interval, app.RunMonitor, log) }()
	}

	var err error
	select {
	case <-ctx.Done():
	case err = <-errc:
	}
	log.Info("shutting down: finishing requests and flushing the prediction log")
	shut, done := context.WithTimeout(context.Background(), 30*time.Second)
	defer done()
	cancel()
	err = errors.Join(ignoreClosed(err), srv.ShutdownWithContext(shut))
	return errors.Join(err, app.Close(shut))
}

func ignoreClosed(err error) error {
	if errors.Is(err, context.Canceled) {
		return nil
	}
	return err
}

func cmp(d, def time.Duration) time.Duration {
	if d > 0 {
		return d
	}
	return def
}

// withStats adds GET /modelfn/stats (prediction-log counters) beside the
// predict API, for operators and the reliability tests. It is one
// comparison rather than an http.ServeMux: fasthttp has already cleaned the
// path, and the mux's matching was 3% of a one-row prediction.
func withStats(app *functions.App) http.Handler {
	api := app.Handler()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/modelfn/stats" || (r.Method != http.MethodGet && r.Method != http.MethodHead) {
			api.ServeHTTP(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		var stats any = struct{}{}
		if app.PredLog != nil {
			stats = app.PredLog.Stats()
		}
		json.NewEncoder(w).Encode(map[string]any{"prediction_log": stats})
	})
}

// Every runs fn every interval until ctx ends. A failed run is logged and
// the schedule goes on, as a cloud scheduler's would.
func Every(ctx context.Context, interval time.Duration, fn func(context.Context) error, log *slog.Logger) error {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
			if err := fn(ctx); err != nil && ctx.Err() == nil {
				log.Error("scheduled run failed", "err", err)
			}
		}
	}
}

// Watch scores every object that lands under the input prefix. An object
// is scored once its size and time have held still for one listing (a file
// still being copied in is left alone), and only if its output is missing
// or older than it, so a restart does not redo finished work. A failed run
// (the store unreachable, say) is retried with exponential backoff, up to
// watchAttempts times.
func Watch(ctx context.Context, app *functions.App, interval time.Duration) error {
	type seen struct {
		mod      time.Time
		size     int64
		done     bool
		attempts int
		retryAt  time.Time
	}
	state := map[string]*seen{}
	prefix := app.Bundle.Config.Batch.InputPrefix
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		it := app.BatchBucket.List(&blob.ListOptions{Prefix: prefix})
		for {
			o, err := it.Next(ctx)
			if err != nil {
				break // io.EOF, or a listing error retried next tick
			}
			if o.IsDir || strings.HasSuffix(o.Key, ".tmp") || strings.HasPrefix(filepath.Base(o.Key), ".") {
				continue
			}
			s, ok := state[o.Key]
			if !ok || !s.mod.Equal(o.ModTime) || s.size != o.Size {
				state[o.Key] = &seen{mod: o.ModTime, size: o.Size}
				continue
			}
			if s.done || time.Now().Before(s.retryAt) {
				continue
			}
			if s.attempts == 0 && app.Batch.UpToDate(ctx, o.Key, o.ModTime) {
				s.done = true
				continue
			}
			s.attempts++
			err = app.ScoreObject(ctx, functions.Object{Key: o.Key, Size: o.Size})
			switch {
			case err == nil:
				s.done = true
			case batch.Permanent(err):
				s.done = true
				app.Logger.Error("batch input cannot be scored", "input", o.Key, "err", err)
			case s.attempts >= watchAttempts:
				s.done = true
				app.Logger.Error("batch scoring failed; giving up", "input", o.Key, "attempts", s.attempts, "err", err)
			default:
				backoff := interval << min(s.attempts, 10)
				s.retryAt = time.Now().Add(backoff)
				app.Logger.Warn("batch scoring failed; will retry", "input", o.Key, "attempt", s.attempts, "retry_in", backoff, "err", err)
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// watchAttempts is how many times the watcher tries one input.
const watchAttempts = 6

// beyondLoopback reports whether a listener's address takes connections
// from other machines: a TCP address that is not a loopback one (the
// unspecified 0.0.0.0 and :: included).
func beyondLoopback(a net.Addr) bool {
	t, ok := a.(*net.TCPAddr)
	return ok && !t.IP.IsLoopback()
}
