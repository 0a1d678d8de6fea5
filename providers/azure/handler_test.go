package azure_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	_ "gocloud.dev/blob/memblob"

	"github.com/modelfn/modelfn/functions"
	"github.com/modelfn/modelfn/providers/azure"
	"github.com/modelfn/modelfn/providers/azure/azuretest"
	"github.com/modelfn/modelfn/providers/local"
	"github.com/modelfn/modelfn/testing/conformance"
	"github.com/modelfn/modelfn/testing/tools"
)

// inProcess is the handler in front of an app on memory buckets, with cfg
// claiming the batch container is "batch" (as azblob://batch would).
func inProcess(t *testing.T) (*functions.App, *httptest.Server) {
	t.Helper()
	sink := fmt.Sprintf("azure-handler-%s", t.Name())
	cfg := functions.Config{Bundle: conformance.Bundle(), LogURL: "mem://", BatchURL: "mem://", MetricsURL: "mem://" + sink}
	app, err := functions.New(context.Background(), cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { app.Close(context.Background()) })
	cfg.BatchURL = "azblob://batch"
	srv := httptest.NewServer(azure.NewHandler(app, cfg))
	t.Cleanup(srv.Close)
	return app, srv
}

func post(t *testing.T, url string, data, meta map[string]any) (int, azure.InvokeResponse) {
	t.Helper()
	body, _ := json.Marshal(map[string]any{"Data": data, "Metadata": meta})
	resp, err := http.Post(url, "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out azure.InvokeResponse
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		t.Fatalf("%s answered %d with no invocation response: %v", url, resp.StatusCode, err)
	}
	return resp.StatusCode, out
}

func holdout(t *testing.T) []byte {
	data, err := os.ReadFile(filepath.Join(tools.Root(), "examples", "breast-cancer", "holdout.csv"))
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func TestPredictIsProxiedUnderTheRoutePrefix(t *testing.T) {
	t.Parallel()
	app, srv := inProcess(t)
	for _, path := range []string{"/v2/health/ready", "/v2/models/breast-cancer", "/nope", "/predict"} {
		resp, err := http.Get(srv.URL + "/api" + path)
		if err != nil {
			t.Fatal(err)
		}
		got, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		rec := httptest.NewRecorder()
		app.Handler().ServeHTTP(rec, httptest.NewRequest("GET", path, nil))
		if resp.StatusCode != rec.Code || !bytes.Equal(got, rec.Body.Bytes()) {
			t.Errorf("GET /api%s: %d %s, want the predict handler's %d %s", path, resp.StatusCode, got, rec.Code, rec.Body.Bytes())
		}
	}
}

func TestOnlyTheHostsPathsAnswer(t *testing.T) {
	t.Parallel()
	_, srv := inProcess(t)
	resp, err := http.Get(srv.URL + "/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("the host's ping GET / got %d", resp.StatusCode)
	}
	for _, c := range []struct{ method, path string }{{"GET", "/predict"}, {"GET", "/batch"}, {"POST", "/apix"}, {"POST", "/monitorx"}} {
		req, _ := http.NewRequest(c.method, srv.URL+c.path, strings.NewReader("{}"))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var body map[string]string
		json.NewDecoder(resp.Body).Decode(&body)
		resp.Body.Close()
		if resp.StatusCode != 404 && resp.StatusCode != 405 || body["code"] == "" && resp.StatusCode == 404 {
			t.Errorf("%s %s: %d %v, want a JSON 404 (or 405)", c.method, c.path, resp.StatusCode, body)
		}
	}
}

func TestBatchScoresTheBlobAnEventNames(t *testing.T) {
	t.Parallel()
	app, srv := inProcess(t)
	ctx := context.Background()
	input := holdout(t)
	event := func(name string) string {
		return azuretest.BlobCreated("acct", "batch", name, "0x1", "text/csv", int64(len(input)), "https://acct.blob.core.windows.net/batch/"+name)
	}
	cloud := func(name string) map[string]any {
		return map[string]any{"specversion": "1.0", "type": azure.BlobCreated, "source": "/subscriptions/x/storageAccounts/acct", "id": "1",
			"subject": "/blobServices/default/containers/batch/blobs/" + name, "data": map[string]any{"api": "PutBlob", "eTag": "0x2"}}
	}
	cases := []struct {
		name, key string
		data      map[string]any
	}{
		{"queue message (Event Grid schema)", "input/a.csv", map[string]any{"event": event("input/a.csv")}},
		{"queue message in base64", "input/b.csv", map[string]any{"event": base64.StdEncoding.EncodeToString([]byte(event("input/b.csv")))}},
		{"Event Grid trigger object", "input/c.csv", map[string]any{"event": json.RawMessage(event("input/c.csv"))}},
		{"CloudEvents schema", "input/d/e.csv", map[string]any{"msg": cloud("input/d/e.csv")}},
		{"an array of one event", "input/f.csv", map[string]any{"event": "[" + event("input/f.csv") + "]"}},
	}
	for _, c := range cases {
		if err := app.BatchBucket.WriteAll(ctx, c.key, input, nil); err != nil {
			t.Fatal(err)
		}
		data, meta := c.data, map[string]any{"DequeueCount": 1}
		status, res := post(t, srv.URL+"/batch", data, meta)
		out := "output/" + strings.TrimPrefix(c.key, "input/")
		if status != 200 || len(res.Logs) != 1 || !strings.Contains(res.Logs[0], "scored "+c.key) {
			t.Errorf("%s: %d %+v", c.name, status, res)
			continue
		}
		if ok, err := app.BatchBucket.Exists(ctx, out); !ok || err != nil {
			t.Errorf("%s: no %s (%v)", c.name, out, err)
		}
	}
	// A repeated delivery of the same event does not score again.
	status, res := post(t, srv.URL+"/batch", map[string]any{"event": event("input/a.csv")}, nil)
	if status != 200 || !strings.Contains(strings.Join(res.Logs, ""), "already scored") {
		t.Errorf("repeated event: %d %+v", status, res)
	}
}

// Events that retrying cannot change are acknowledged with a log line;
// everything else fails the invocation, so the host retries it and at
// last moves it to the poison queue.
func TestBatchAcknowledgesOrFails(t *testing.T) {
	t.Parallel()
	app, srv := inProcess(t)
	ctx := context.Background()
	if err := app.BatchBucket.WriteAll(ctx, "input/notes.txt", []byte("not a table"), nil); err != nil {
		t.Fatal(err)
	}
	if err := app.BatchBucket.WriteAll(ctx, "elsewhere/x.csv", holdout(t), nil); err != nil {
		t.Fatal(err)
	}
	ev := func(container, name, api string) map[string]any {
		e := azuretest.BlobCreated("acct", container, name, "0x1", "text/csv", 10, "")
		if api != "" {
			e = strings.Replace(e, `"api":"PutBlockList"`, `"api":"`+api+`"`, 1)
		}
		return map[string]any{"event": e}
	}
	for _, c := range []struct {
		name   string
		data   map[string]any
		status int
		log    string
	}{
		{"another container", ev("other", "input/x.csv", ""), 200, "the batch container is batch"},
		{"outside input/", ev("batch", "elsewhere/x.csv", ""), 200, "not under the input prefix"},
		{"blob gone", ev("batch", "input/gone.csv", ""), 200, "no longer exists"},
		{"Data Lake CreateFile", ev("batch", "input/y.csv", "CreateFile"), 200, "scored on FlushWithClose"},
		{"BlobDeleted", map[string]any{"event": strings.Replace(ev("batch", "input/y.csv", "")["event"].(string), "BlobCreated", "BlobDeleted", 1)}, 200, "Microsoft.Storage.BlobDeleted events are not scored"},
		{"unsupported file", ev("batch", "input/notes.txt", ""), 200, "unusable batch input"},
		{"not an event", map[string]any{"event": "hello"}, 500, "neither JSON nor base64"},
		{"no trigger value", map[string]any{"a": 1, "b": 2}, 500, `no trigger value "event"`},
		{"subject without a blob", map[string]any{"event": `{"eventType":"Microsoft.Storage.BlobCreated","subject":"/x"}`}, 500, "names no blob"},
	} {
		status, res := post(t, srv.URL+"/batch", c.data, map[string]any{"DequeueCount": 1})
		if status != c.status || len(res.Logs) == 0 || !strings.Contains(res.Logs[0], c.log) {
			t.Errorf("%s: %d %+v, want %d and a log with %q", c.name, status, res, c.status, c.log)
		}
	}
	resp, err := http.Post(srv.URL+"/batch", "application/json", strings.NewReader(`{"Data": [`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 500 {
		t.Errorf("a malformed payload got %d, want 500 (retried, then poison-queued)", resp.StatusCode)
	}
}

func TestMonitorRunsOnATimerTick(t *testing.T) {
	t.Parallel()
	_, srv := inProcess(t)
	data, meta := azuretest.TimerInvocation("timer")
	status, res := post(t, srv.URL+"/monitor", data, meta)
	if status != 200 || len(res.Logs) != 1 || res.Logs[0] != "monitor run finished" {
		t.Fatalf("%d %+v", status, res)
	}
	ms, _ := local.Recorded("azure-handler-" + t.Name())
	if len(ms) == 0 {
		t.Error("the monitor published no metrics")
	}
}
