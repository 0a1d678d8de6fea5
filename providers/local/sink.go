package local

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"sync"

	"github.com/modelfn/modelfn/functions/monitoring"
	"github.com/modelfn/modelfn/functions/monitoring/driver"
)

// The local monitoring backend: local:///DIR appends metrics to
// DIR/metrics.jsonl and alarms to DIR/alarms.jsonl, and prints each alarm;
// mem://NAME keeps them in memory for tests (see Recorded).
func init() {
	monitoring.Register("local", func(_ context.Context, u *url.URL) (driver.Sink, error) {
		dir := u.Path
		if u.Host != "" && u.Host != "localhost" {
			dir = filepath.Join(u.Host, u.Path) // local://./relative
		}
		if dir == "" {
			return nil, fmt.Errorf("local:// needs a folder, e.g. local:///var/lib/modelfn/monitoring")
		}
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, err
		}
		return &fileSink{dir: dir, log: slog.Default()}, nil
	})
	monitoring.Register("mem", func(_ context.Context, u *url.URL) (driver.Sink, error) {
		return memSink(u.Host + u.Path), nil
	})
}

type fileSink struct {
	mu  sync.Mutex
	dir string
	log *slog.Logger
}

func (s *fileSink) Publish(_ context.Context, ms []driver.Metric) error {
	return s.append("metrics.jsonl", ms)
}

func (s *fileSink) Alarm(_ context.Context, as []driver.Alarm) error {
	for _, a := range as {
		s.log.Warn("ALARM "+a.Name, "value", a.Value, "threshold", a.Threshold, "message", a.Message)
	}
	return s.append("alarms.jsonl", as)
}

func (s *fileSink) append(name string, v any) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	f, err := os.OpenFile(filepath.Join(s.dir, name), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	enc := json.NewEncoder(f)
	switch items := v.(type) {
	case []driver.Metric:
		for _, m := range items {
			enc.Encode(m)
		}
	case []driver.Alarm:
		for _, a := range items {
			enc.Encode(a)
		}
	}
	return f.Close()
}

func (s *fileSink) Close() error { return nil }

// MemSink is an in-memory sink, shared by name within a process.
type MemSink struct {
	mu      sync.Mutex
	metrics []driver.Metric
	alarms  []driver.Alarm
}

var (
	memMu    sync.Mutex
	memSinks = map[string]*MemSink{}
)

func memSink(name string) *MemSink {
	memMu.Lock()
	defer memMu.Unlock()
	s, ok := memSinks[name]
	if !ok {
		s = &MemSink{}
		memSinks[name] = s
	}
	return s
}

// Recorded returns what mem://name has received so far.
func Recorded(name string) ([]driver.Metric, []driver.Alarm) {
	s := memSink(name)
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]driver.Metric(nil), s.metrics...), append([]driver.Alarm(nil), s.alarms...)
}

func (s *MemSink) Publish(_ context.Context, ms []driver.Metric) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.metrics = append(s.metrics, ms...)
	return nil
}

func (s *MemSink) Alarm(_ context.Context, as []driver.Alarm) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.alarms = append(s.alarms, as...)
	return nil
}

func (s *MemSink) Close() error { return nil }
