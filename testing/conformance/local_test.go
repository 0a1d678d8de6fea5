package conformance_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"testing"

	"gocloud.dev/blob"

	"github.com/modelfn/modelfn/functions"
	"github.com/modelfn/modelfn/functions/monitoring"
	"github.com/modelfn/modelfn/providers/local"
	"github.com/modelfn/modelfn/testing/conformance"
)

// localTarget is the local provider: a real HTTP server, the filesystem
// store and the local monitoring backend.
type localTarget struct {
	app  *functions.App
	srv  *httptest.Server
	sink string
}

func TestLocalProvider(t *testing.T) {
	cfg, err := local.Config(conformance.Bundle(), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	sink := fmt.Sprintf("local-conformance-%d", os.Getpid())
	cfg.MetricsURL = "mem://" + sink
	app, err := functions.New(context.Background(), cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer app.Close(context.Background())
	srv := httptest.NewServer(app.Handler())
	defer srv.Close()
	conformance.Run(t, &localTarget{app: app, srv: srv, sink: sink})
}

func (l *localTarget) Do(ctx context.Context, method, path, ctype string, body []byte) (int, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, method, l.srv.URL+path, bytes.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, b, err
}

func (l *localTarget) Batch(ctx context.Context, key string, data []byte) error {
	if err := l.app.BatchBucket.WriteAll(ctx, key, data, nil); err != nil {
		return err
	}
	return l.app.ScoreObject(ctx, functions.Object{Key: key})
}

func (l *localTarget) Flush(ctx context.Context) error   { return l.app.PredLog.Flush(ctx) }
func (l *localTarget) Monitor(ctx context.Context) error { return l.app.RunMonitor(ctx) }
func (l *localTarget) Metrics(context.Context) ([]monitoring.Metric, error) {
	ms, _ := local.Recorded(l.sink)
	return ms, nil
}
func (l *localTarget) BatchBucket() *blob.Bucket { return l.app.BatchBucket }
func (l *localTarget) LogBucket() *blob.Bucket   { return l.app.LogBucket }
