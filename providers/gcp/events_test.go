package gcp_test

import (
	"compress/gzip"
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	"gocloud.dev/blob"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/modelfn/modelfn/providers/gcp"
	"github.com/modelfn/modelfn/testing/conformance"
	"github.com/modelfn/modelfn/testing/tools"
)

func holdout(t *testing.T) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(tools.Root(), "examples", "breast-cancer", "holdout.csv"))
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// instances is a /predict body of the first n holdout rows, as arrays in
// schema order.
func instances(t *testing.T, n int) []byte {
	t.Helper()
	lines := strings.Split(strings.TrimSpace(string(holdout(t))), "\n")
	header := strings.Split(lines[0], ",")
	var rows []string
	for _, l := range lines[1 : n+1] {
		var vals []string
		for i, v := range strings.Split(l, ",") {
			if header[i] != "target" {
				vals = append(vals, v)
			}
		}
		rows = append(rows, "["+strings.Join(vals, ",")+"]")
	}
	return []byte(`{"instances":[` + strings.Join(rows, ",") + `]}`)
}

// gunzipLines counts the lines of a gzip-compressed JSON Lines object.
func gunzipLines(t *testing.T, data string) int {
	t.Helper()
	return strings.Count(gunzip(t, data), "\n") + 1
}

func gunzip(t *testing.T, data string) string {
	t.Helper()
	zr, err := gzip.NewReader(strings.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	plain, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(plain))
}

var runFields = regexp.MustCompile(`"ts":"[^"]*"|"latency_ms":[0-9.e+-]+`)

// records decompresses the prediction-log objects and blanks what differs
// between two runs over the same input (when it ran, how long it took).
func records(t *testing.T, objects map[string]string) map[string]string {
	t.Helper()
	out := map[string]string{}
	for k, v := range objects {
		if strings.HasSuffix(k, ".jsonl.gz") {
			v = runFields.ReplaceAllString(gunzip(t, v), "-")
		}
		out[k] = v
	}
	return out
}

// snapshot reads every object of a bucket: key → content.
func snapshot(t *testing.T, b *blob.Bucket) map[string]string {
	t.Helper()
	ctx := context.Background()
	out := map[string]string{}
	it := b.List(nil)
	for {
		o, err := it.Next(ctx)
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		data, err := b.ReadAll(ctx, o.Key)
		if err != nil {
			t.Fatal(err)
		}
		out[o.Key] = string(data)
	}
}

func keys(m map[string]string, prefix string) []string {
	var ks []string
	for k := range m {
		if strings.HasPrefix(k, prefix) {
			ks = append(ks, k)
		}
	}
	sort.Strings(ks)
	return ks
}

func sameObjects(t *testing.T, what string, got, want map[string]string) {
	t.Helper()
	if strings.Join(keys(got, ""), "\n") != strings.Join(keys(want, ""), "\n") {
		t.Fatalf("%s: objects changed:\n%v\nwant\n%v", what, keys(got, ""), keys(want, ""))
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s: %s was rewritten with other bytes", what, k)
		}
	}
}

// TestBatchEvents drives the Batch entry point with Eventarc's storage
// events: both CloudEvent modes, redelivery, events to acknowledge without
// retry, and a transient storage failure that must be retried.
func TestBatchEvents(t *testing.T) {
	g := startGCS(t)
	ms := startMetricServer(t)
	// Cloud Run's request timeout, which funcframework turns into the
	// event's context deadline: the storage client retries until then.
	batch := startFunction(t, gcp.EntryBatch, g, ms, "CLOUD_RUN_TIMEOUT_SECONDS=5")
	bb, lb := g.bucket(t, batchBucket), g.bucket(t, logBucket)
	ctx := context.Background()
	input := holdout(t)
	rows := strings.Count(strings.TrimSpace(string(input)), "\n")

	if err := bb.WriteAll(ctx, "input/day.csv", input, nil); err != nil {
		t.Fatal(err)
	}
	event := storageEvent(t, g, batchBucket, "input/day.csv")
	if st, body := sendEvent(t, batch.url, event, binaryMode); st != http.StatusOK {
		t.Fatalf("binary-mode event: %d %s", st, body)
	}
	firstBatch, firstLog := snapshot(t, bb), snapshot(t, lb)
	out := firstBatch["output/day.csv"]
	if got := strings.Count(strings.TrimSpace(out), "\n"); got != rows {
		t.Fatalf("output/day.csv has %d rows, want %d:\n%.300s", got, rows, out)
	}
	if !strings.HasPrefix(out, strings.SplitN(string(input), "\n", 2)[0]+",") {
		t.Errorf("output header does not start with the input's columns:\n%.300s", out)
	}
	logKeys := keys(firstLog, "predictions/breast-cancer/1/")
	if len(logKeys) == 0 {
		t.Fatal("no prediction-log object written")
	}

	t.Run("redelivery rewrites the same objects", func(t *testing.T) {
		// Eventarc delivers at least once: the same event again, here in
		// structured mode.
		if st, body := sendEvent(t, batch.url, event, structuredMode); st != http.StatusOK {
			t.Fatalf("structured-mode event: %d %s", st, body)
		}
		sameObjects(t, "batch bucket", snapshot(t, bb), firstBatch)
		// The log objects keep their keys and record ids; only the
		// scoring time and latency of each record are new.
		sameObjects(t, "log bucket", records(t, snapshot(t, lb)), records(t, firstLog))
	})

	t.Run("events a retry cannot help are acknowledged", func(t *testing.T) {
		own := storageEvent(t, g, batchBucket, "output/day.csv") // the function's own output fires events too
		deleted := storageEvent(t, g, batchBucket, "input/day.csv")
		deleted.SetType("google.cloud.storage.object.v1.deleted")
		notObject := storageEvent(t, g, batchBucket, "input/day.csv")
		notObject.SetData("application/json", []byte(`"hello"`))
		other := storageEvent(t, g, batchBucket, "input/day.csv")
		var res map[string]any
		json.Unmarshal(other.Data(), &res)
		res["bucket"] = "someone-elses-bucket"
		other.SetData("application/json", res)
		if err := bb.WriteAll(ctx, "input/gone.csv", input, nil); err != nil {
			t.Fatal(err)
		}
		gone := storageEvent(t, g, batchBucket, "input/gone.csv")
		if err := bb.Delete(ctx, "input/gone.csv"); err != nil {
			t.Fatal(err)
		}
		before := snapshot(t, bb)
		for name, e := range map[string]cloudevents.Event{"own output": own, "deleted type": deleted, "not an object": notObject, "other bucket": other, "object gone": gone} {
			if st, body := sendEvent(t, batch.url, e, binaryMode); st/100 != 2 {
				t.Errorf("%s: %d %s (a retry would fail the same way)", name, st, body)
			}
		}
		sameObjects(t, "batch bucket", snapshot(t, bb), before)
	})

	t.Run("a storage outage is returned for Eventarc to retry", func(t *testing.T) {
		if err := bb.WriteAll(ctx, "input/late.csv", input, nil); err != nil {
			t.Fatal(err)
		}
		e := storageEvent(t, g, batchBucket, "input/late.csv")
		g.stop()
		st, body := sendEvent(t, batch.url, e, binaryMode)
		g.start()
		if st/100 != 5 {
			t.Fatalf("with Cloud Storage down the function answered %d %s; want 5xx so Eventarc retries", st, body)
		}
		if st, body := sendEvent(t, batch.url, e, binaryMode); st != http.StatusOK {
			t.Fatalf("the retried event: %d %s", st, body)
		}
		got, err := bb.ReadAll(ctx, "output/late.csv")
		if err != nil {
			t.Fatal(err)
		}
		if n := strings.Count(strings.TrimSpace(string(got)), "\n"); n != rows {
			t.Errorf("output/late.csv has %d rows after the retry, want %d", n, rows)
		}
	})

	// Every line the instance logged is a Cloud Logging structured entry.
	for _, l := range logLines(batch.out) {
		if l["severity"] == nil || l["message"] == nil {
			t.Errorf("log line without severity/message: %v", l)
			break
		}
	}
}

// TestMonitorTriggers calls the Monitor entry point as Cloud Scheduler
// does and as an Eventarc Pub/Sub trigger does (both CloudEvent modes).
func TestMonitorTriggers(t *testing.T) {
	g := startGCS(t)
	ms := startMetricServer(t)
	mon := startFunction(t, gcp.EntryMonitor, g, ms)

	st, body := schedulerCall(t, mon.url)
	if st != http.StatusOK || !strings.Contains(body, `"status":"ok"`) {
		t.Fatalf("scheduler call: %d %s", st, body)
	}
	if len(ms.Metrics()) == 0 {
		t.Fatal("the run wrote no metrics")
	}

	pubsub := cloudevents.NewEvent()
	pubsub.SetID("11223344556677")
	pubsub.SetSource("//pubsub.googleapis.com/projects/" + project + "/topics/breast-cancer-monitor")
	pubsub.SetType("google.cloud.pubsub.topic.v1.messagePublished")
	pubsub.SetData("application/json", map[string]any{
		"message":      map[string]any{"data": base64.StdEncoding.EncodeToString([]byte("run")), "messageId": "11223344556677", "publishTime": "2026-11-25T10:00:00Z"},
		"subscription": "projects/" + project + "/subscriptions/eventarc-monitor",
	})
	for _, mode := range []eventMode{binaryMode, structuredMode} {
		if st, body := sendEvent(t, mon.url, pubsub, mode); st != http.StatusOK {
			t.Errorf("Pub/Sub event (mode %d): %d %s", mode, st, body)
		}
	}

	req, _ := http.NewRequest(http.MethodGet, mon.url, nil)
	if st, body := do(t, req); st != http.StatusMethodNotAllowed || !strings.Contains(body, `"code":"method_not_allowed"`) {
		t.Errorf("GET: %d %s", st, body)
	}
	req, _ = http.NewRequest(http.MethodPost, mon.url, strings.NewReader("{}"))
	req.Header.Set("Ce-Specversion", "0.1")
	if st, body := do(t, req); st != http.StatusBadRequest {
		t.Errorf("broken CloudEvent: %d %s", st, body)
	}

	// A failed write to Cloud Monitoring fails the run: 500, so the
	// scheduler's retry policy runs it again.
	ms.mu.Lock()
	ms.fail = status.Error(codes.Unavailable, "backend unavailable")
	ms.mu.Unlock()
	if st, body := schedulerCall(t, mon.url); st != http.StatusInternalServerError || !strings.Contains(body, "monitor_failed") {
		t.Errorf("run with Cloud Monitoring down: %d %s", st, body)
	}

	var sawJob, sawEvent bool
	for _, l := range logLines(mon.out) {
		sawJob = sawJob || l["scheduler_job"] == "breast-cancer-monitor"
		sawEvent = sawEvent || l["event_id"] == "11223344556677"
	}
	if !sawJob || !sawEvent {
		t.Errorf("runs not logged with their trigger (scheduler job %v, event id %v)", sawJob, sawEvent)
	}
}

// TestPredictInstance checks the predict instance beyond the conformance
// suite: the cloudfunctions.net path prefix, the body limit's error shape,
// and that buffered log records are written on SIGTERM and not before.
func TestPredictInstance(t *testing.T) {
	g := startGCS(t)
	ms := startMetricServer(t)
	// A bundle that never flushes by itself, so only SIGTERM can write the
	// records (MODELFN_BUNDLE overrides the embedded one).
	dir := t.TempDir()
	for _, name := range []string{"modelfn.yaml", "model.json", "reference.profile.json"} {
		data, err := os.ReadFile(filepath.Join(conformance.Bundle(), name))
		if err != nil {
			t.Fatal(err)
		}
		if name == "modelfn.yaml" {
			data = []byte(strings.NewReplacer("flush_records: 10000", "flush_records: 1000000", "flush_interval: 5s", "flush_interval: 24h").Replace(string(data)))
		}
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	p := startFunction(t, gcp.EntryPredict, g, ms, "MODELFN_BUNDLE="+dir)
	lb := g.bucket(t, logBucket)
	target := &gcpTarget{t: t, predict: p}
	ctx := context.Background()

	body := instances(t, 5)
	direct, want, err := target.Do(ctx, "POST", "/predict", "application/json", body)
	if err != nil || direct != http.StatusOK {
		t.Fatalf("/predict: %d %s %v", direct, want, err)
	}
	st, got, err := target.Do(ctx, "POST", "/breast-cancer-predict/predict", "application/json", body)
	if err != nil || st != http.StatusOK || len(got) != len(want) {
		t.Errorf("through the cloudfunctions.net path: %d %s %v", st, got, err)
	}

	big := []byte(`{"instances":[` + strings.Repeat(" ", 7<<20) + `]}`)
	st, got, _ = target.Do(ctx, "POST", "/predict", "application/json", big)
	var e struct{ Error, Code string }
	if st != http.StatusRequestEntityTooLarge || json.Unmarshal(got, &e) != nil || e.Code != "body_too_large" || e.Error == "" {
		t.Errorf("7 MB body: %d %.200s", st, got)
	}

	if n := len(snapshot(t, lb)); n != 0 {
		t.Fatalf("%d log objects before SIGTERM; the bundle should hold them", n)
	}
	if err := terminate(p); err != nil {
		t.Fatal(err)
	}
	var records int
	for k, v := range snapshot(t, lb) {
		if strings.HasSuffix(k, ".jsonl.gz") {
			records += gunzipLines(t, v)
		}
	}
	if records != 10 {
		t.Errorf("%d log records after SIGTERM, want 10 (two requests of 5 rows)", records)
	}
}
