// Package functions holds modelfn's three functions, written once as plain
// Go and adapted onto each cloud by providers/:
//
//   - Predict, an http.Handler (Open Inference Protocol and /predict);
//   - Batch, func(ctx, Object) error: score an object that landed;
//   - Monitor, func(ctx) error: read new prediction logs, compute drift,
//     publish metrics and raise alarms.
//
// It imports no cloud SDK: storage is a gocloud.dev *blob.Bucket and
// monitoring a *monitoring.Sink, both opened by URL, whose drivers the
// provider packages register.
package functions

import "path/filepath"

// Object names a stored object that an event announced.
type Object struct {
	Bucket string // informational; the function reads from its configured batch bucket
	Key    string
	Size   int64
	ETag   string
}

// Config wires an App to its bundle and storage.
type Config struct {
	Bundle     string // bundle folder
	LogURL     string // blob URL: predictions/, labels/, monitor/
	BatchURL   string // blob URL: input/, output/, errors/ ("" disables batch)
	MetricsURL string // monitoring sink URL ("" disables publishing)
}

func joinDir(exe, name string) string { return filepath.Join(filepath.Dir(exe), name) }
