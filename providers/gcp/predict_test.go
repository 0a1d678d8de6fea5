package gcp_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	_ "gocloud.dev/blob/memblob"

	"github.com/modelfn/modelfn/functions"
	"github.com/modelfn/modelfn/providers/gcp"
	"github.com/modelfn/modelfn/testing/conformance"
)

// inProcess is the entry points in this process over memory buckets, with
// the bundle's body limit raised above Cloud Functions' 32 MiB.
func inProcess(t *testing.T) *gcp.Functions {
	t.Helper()
	dir := t.TempDir()
	for _, name := range []string{"modelfn.yaml", "model.json", "reference.profile.json"} {
		data, err := os.ReadFile(filepath.Join(conformance.Bundle(), name))
		if err != nil {
			t.Fatal(err)
		}
		if name == "modelfn.yaml" {
			data = bytes.Replace(data, []byte("max_body_bytes: 6291456"), []byte("max_body_bytes: 67108864"), 1)
		}
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	var logs bytes.Buffer
	f := gcp.New(gcp.Options{
		Config: &functions.Config{Bundle: dir, LogURL: "mem://", BatchURL: "mem://"},
		Logger: gcp.NewLogger(&logs, "info"),
	})
	t.Cleanup(func() { f.Close(context.Background()) })
	return f
}

func serve(h http.HandlerFunc, req *http.Request) (int, map[string]any) {
	rec := httptest.NewRecorder()
	h(rec, req)
	var body map[string]any
	json.Unmarshal(rec.Body.Bytes(), &body)
	return rec.Code, body
}

func TestPredictCloudLimit(t *testing.T) {
	f := inProcess(t)

	// Announced size over 32 MiB: refused before reading.
	req := httptest.NewRequest(http.MethodPost, "/predict", strings.NewReader("{}"))
	req.Header.Set("Content-Type", "application/json")
	req.ContentLength = gcp.MaxRequestBytes + 1
	st, body := serve(f.Predict, req)
	if st != http.StatusRequestEntityTooLarge || body["code"] != "body_too_large" || !strings.Contains(body["error"].(string), "Cloud Functions") {
		t.Errorf("announced 32 MiB + 1: %d %v", st, body)
	}

	// Unannounced (chunked) body over 32 MiB: cut while read, same answer.
	big := io.MultiReader(strings.NewReader(`{"instances":[`), strings.NewReader(strings.Repeat(" ", gcp.MaxRequestBytes)), strings.NewReader(`]}`))
	req = httptest.NewRequest(http.MethodPost, "/predict", big)
	req.Header.Set("Content-Type", "application/json")
	req.ContentLength = -1
	st, body = serve(f.Predict, req)
	if st != http.StatusRequestEntityTooLarge || body["code"] != "body_too_large" {
		t.Errorf("chunked 32 MiB + 16: %d %v", st, body)
	}

	// Below both limits the core handler answers as usual.
	req = httptest.NewRequest(http.MethodGet, "/v2/health/ready", nil)
	if st, body = serve(f.Predict, req); st != http.StatusOK || body["ready"] != true {
		t.Errorf("ready: %d %v", st, body)
	}
}

// TestFunctionNotStarting: a function whose wiring is broken answers in
// the API's error shape and names the cause in its log, not to the caller.
func TestFunctionNotStarting(t *testing.T) {
	var logs bytes.Buffer
	f := gcp.New(gcp.Options{
		Config: &functions.Config{Bundle: t.TempDir(), LogURL: "mem://"},
		Logger: gcp.NewLogger(&logs, "info"),
	})
	st, body := serve(f.Predict, httptest.NewRequest(http.MethodGet, "/v2/health/ready", nil))
	if st != http.StatusServiceUnavailable || body["code"] != "unavailable" {
		t.Errorf("predict: %d %v", st, body)
	}
	st, body = serve(f.Monitor, httptest.NewRequest(http.MethodPost, "/", nil))
	if st != http.StatusServiceUnavailable || body["code"] != "unavailable" {
		t.Errorf("monitor: %d %v", st, body)
	}
	var line map[string]any
	json.Unmarshal(bytes.SplitN(logs.Bytes(), []byte("\n"), 2)[0], &line)
	if line["severity"] != "ERROR" || !strings.Contains(line["err"].(string), "modelfn.yaml") {
		t.Errorf("log line %v: want severity ERROR and the missing manifest", line)
	}
}

func TestLogger(t *testing.T) {
	var buf bytes.Buffer
	log := gcp.NewLogger(&buf, "warn")
	log.Info("hidden")
	log.Warn("shown", "k", 1)
	log.Error("failed")
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 2 {
		t.Fatalf("%d lines at level warn: %q", len(lines), lines)
	}
	for i, want := range []string{"WARNING", "ERROR"} {
		var m map[string]any
		if err := json.Unmarshal([]byte(lines[i]), &m); err != nil {
			t.Fatal(err)
		}
		if m["severity"] != want || m["message"] == nil || m["level"] != nil || m["msg"] != nil {
			t.Errorf("line %d = %v: want Cloud Logging's severity %s and message", i, m, want)
		}
	}
}
