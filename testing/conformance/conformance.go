// Package conformance is the one suite every provider passes against its
// own emulator, after gocloud.dev's drivertest: the same predict answers
// and error bodies, the same batch output and errors object, the same
// prediction-log records and the same monitor metrics as a reference run
// of the functions in-process. "Works on Azure" then means what "works
// locally" means.
//
// A provider test builds a Target that delivers requests and events the
// way its cloud does (API Gateway events through the Lambda emulator,
// CloudEvents through functions-framework, the Functions host's payloads)
// and calls Run.
package conformance

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"gocloud.dev/blob"

	"github.com/modelfn/modelfn/functions"
	"github.com/modelfn/modelfn/functions/monitoring"
	"github.com/modelfn/modelfn/functions/predlog"
	"github.com/modelfn/modelfn/providers/local"
	"github.com/modelfn/modelfn/testing/tools"
)

// Target is a provider's functions, running on its local counterparts.
type Target interface {
	// Do sends an HTTP request to the predict function, delivered as the
	// cloud delivers it, and returns the function's answer.
	Do(ctx context.Context, method, path, contentType string, body []byte) (status int, respBody []byte, err error)
	// Batch stores data under key in the batch bucket and delivers the
	// object-created event; it returns when the function has returned.
	Batch(ctx context.Context, key string, data []byte) error
	// Flush makes the predict function write its buffered prediction log,
	// as it does when the cloud shuts it down.
	Flush(ctx context.Context) error
	// Monitor invokes the monitor function as the cloud's scheduler does.
	Monitor(ctx context.Context) error
	// Metrics returns what the monitoring backend received so far, decoded
	// from the wire (or from the emulator).
	Metrics(ctx context.Context) ([]monitoring.Metric, error)
	// BatchBucket and LogBucket open the provider's buckets for reading.
	BatchBucket() *blob.Bucket
	LogBucket() *blob.Bucket
}

// Bundle is the bundle every provider serves in the suite.
func Bundle() string {
	return filepath.Join(tools.Root(), "examples", "breast-cancer", "bundle")
}

// request is one predict call of the suite.
type request struct {
	name, method, path, ctype string
	body                      []byte
}

func requests(t *testing.T) []request {
	rows := holdoutRows(t)
	one, _ := json.Marshal(map[string]any{"instances": rows[:1]})
	ten, _ := json.Marshal(map[string]any{"instances": rows[1:11]})
	bad := map[string]any{}
	for k, v := range rows[11] {
		bad[k] = v
	}
	bad["mean radius"] = "large"
	badBody, _ := json.Marshal(map[string]any{"instances": []any{rows[12], bad}})
	oip, _ := json.Marshal(map[string]any{"inputs": []any{map[string]any{
		"name": "input-0", "shape": []int{1, 30}, "datatype": "FP64", "data": values(rows[13]),
	}}})
	return []request{
		{"one row", "POST", "/predict", "application/json", one},
		{"ten rows", "POST", "/predict", "application/json", ten},
		{"open inference protocol", "POST", "/v2/models/breast-cancer/infer", "application/json", oip},
		{"metadata", "GET", "/v2/models/breast-cancer", "", nil},
		{"ready", "GET", "/v2/health/ready", "", nil},
		{"wrong type", "POST", "/predict", "application/json", badBody},
		{"malformed", "POST", "/predict", "application/json", []byte(`{"instances": [`)},
		{"wrong content type", "POST", "/predict", "text/csv", []byte("a,b\n")},
		{"unknown model", "POST", "/v2/models/nope/infer", "application/json", []byte(`{}`)},
		{"unknown path", "GET", "/nope", "", nil},
	}
}

// Run runs the suite against a target.
func Run(t *testing.T, target Target) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	ref := newReference(t)

	t.Run("predict", func(t *testing.T) {
		for _, r := range requests(t) {
			wantStatus, wantBody, err := ref.Do(ctx, r.method, r.path, r.ctype, r.body)
			if err != nil {
				t.Fatal(err)
			}
			status, body, err := target.Do(ctx, r.method, r.path, r.ctype, r.body)
			if err != nil {
				t.Fatalf("%s: %v", r.name, err)
			}
			if status != wantStatus || normalize(body) != normalize(wantBody) {
				t.Errorf("%s: got %d %s\nwant %d %s", r.name, status, body, wantStatus, wantBody)
			}
		}
	})

	input := batchInput(t)
	const key = "input/conformance/holdout.csv"
	t.Run("batch", func(t *testing.T) {
		if err := ref.Batch(ctx, key, input); err != nil {
			t.Fatal(err)
		}
		if err := target.Batch(ctx, key, input); err != nil {
			t.Fatal(err)
		}
		for _, k := range []string{"output/conformance/holdout.csv", "errors/conformance/holdout.csv.errors.jsonl"} {
			want, err := ref.BatchBucket().ReadAll(ctx, k)
			if err != nil {
				t.Fatal(err)
			}
			got, err := target.BatchBucket().ReadAll(ctx, k)
			if err != nil {
				t.Fatalf("%s: %v", k, err)
			}
			if normalize(got) != normalize(want) {
				t.Errorf("%s differs from the reference:\n%.600s\nwant\n%.600s", k, got, want)
			}
		}
	})

	t.Run("prediction log", func(t *testing.T) {
		if err := ref.Flush(ctx); err != nil {
			t.Fatal(err)
		}
		if err := target.Flush(ctx); err != nil {
			t.Fatal(err)
		}
		want, err := records(ctx, ref.LogBucket())
		if err != nil {
			t.Fatal(err)
		}
		got, err := records(ctx, target.LogBucket())
		if err != nil {
			t.Fatal(err)
		}
		if len(want) == 0 || strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Errorf("log records differ: got %d, want %d\n%.400s\nwant\n%.400s", len(got), len(want), strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
	})

	t.Run("monitor", func(t *testing.T) {
		if err := ref.Monitor(ctx); err != nil {
			t.Fatal(err)
		}
		if err := target.Monitor(ctx); err != nil {
			t.Fatal(err)
		}
		wm, err := ref.Metrics(ctx)
		if err != nil {
			t.Fatal(err)
		}
		gm, err := target.Metrics(ctx)
		if err != nil {
			t.Fatal(err)
		}
		want, got := metricMap(wm), metricMap(gm)
		if len(want) == 0 {
			t.Fatal("the reference published no metrics")
		}
		for k, w := range want {
			g, ok := got[k]
			if !ok {
				t.Errorf("metric %s missing", k)
			} else if math.Abs(g-w) > 1e-9*math.Max(1, math.Abs(w)) {
				t.Errorf("metric %s = %v, want %v", k, g, w)
			}
		}
		for k := range got {
			if _, ok := want[k]; !ok {
				t.Errorf("unexpected metric %s", k)
			}
		}
	})
}

// metricMap keys metrics by name and sorted labels, leaving out the run's
// duration (the only one that may differ).
func metricMap(ms []monitoring.Metric) map[string]float64 {
	out := map[string]float64{}
	for _, m := range ms {
		if m.Name == monitoring.MetricRunSeconds {
			continue
		}
		var ls []string
		for k, v := range m.Labels {
			ls = append(ls, k+"="+v)
		}
		sort.Strings(ls)
		out[m.Name+"{"+strings.Join(ls, ",")+"}"] = m.Value
	}
	return out
}

var (
	idPattern = regexp.MustCompile(`[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}`)
	tsPattern = regexp.MustCompile(`"(ts|time)":"[^"]*"|"latency_ms":[0-9.e-]+`)
)

// normalize blanks what legitimately differs between two runs: prediction
// ids (random for HTTP, derived from the object's time for batch),
// timestamps and latencies.
func normalize(b []byte) string {
	s := idPattern.ReplaceAllString(string(b), "ID")
	return strings.TrimSpace(tsPattern.ReplaceAllString(s, `"$1":-`))
}

// records reads every prediction-log record, normalized and sorted.
func records(ctx context.Context, b *blob.Bucket) ([]string, error) {
	var out []string
	it := b.List(&blob.ListOptions{Prefix: "predictions/"})
	for {
		o, err := it.Next(ctx)
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		if !strings.HasSuffix(o.Key, ".jsonl.gz") {
			continue
		}
		r, err := b.NewReader(ctx, o.Key, nil)
		if err != nil {
			return nil, err
		}
		data, err := gunzip(r)
		r.Close()
		if err != nil {
			return nil, fmt.Errorf("%s: %w", o.Key, err)
		}
		for _, l := range strings.Split(strings.TrimSpace(string(data)), "\n") {
			out = append(out, normalize([]byte(l)))
		}
	}
	sort.Strings(out)
	return out, nil
}

// batchInput is the example's holdout file with two bad rows.
func batchInput(t *testing.T) []byte {
	data, err := os.ReadFile(filepath.Join(tools.Root(), "examples", "breast-cancer", "holdout.csv"))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(data)), "\n")
	lines[5] = "oops," + lines[5][strings.Index(lines[5], ",")+1:]
	lines[9] += ",ragged"
	return []byte(strings.Join(lines, "\n") + "\n")
}

func holdoutRows(t *testing.T) []map[string]float64 {
	data, err := os.ReadFile(filepath.Join(tools.Root(), "examples", "breast-cancer", "holdout.csv"))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(data)), "\n")
	header := strings.Split(lines[0], ",")
	var rows []map[string]float64
	for _, l := range lines[1:] {
		row := map[string]float64{}
		for i, f := range strings.Split(l, ",") {
			if header[i] == "target" {
				continue
			}
			var v float64
			fmt.Sscan(f, &v)
			row[header[i]] = v
		}
		rows = append(rows, row)
	}
	return rows
}

// values orders a row by the bundle's schema.
func values(row map[string]float64) []float64 {
	var names []string
	data, _ := os.ReadFile(filepath.Join(tools.Root(), "examples", "breast-cancer", "holdout.csv"))
	for _, h := range strings.Split(strings.SplitN(string(data), "\n", 2)[0], ",") {
		if h != "target" {
			names = append(names, h)
		}
	}
	out := make([]float64, len(names))
	for i, n := range names {
		out[i] = row[n]
	}
	return out
}

// reference runs the functions in-process on memory buckets.
type reference struct {
	app  *functions.App
	sink string
}

var refCount int

func newReference(t *testing.T) *reference {
	refCount++
	sink := fmt.Sprintf("conformance-reference-%d-%d", os.Getpid(), refCount)
	cfg := functions.Config{Bundle: Bundle(), LogURL: "mem://", BatchURL: "mem://", MetricsURL: "mem://" + sink}
	app, err := functions.New(context.Background(), cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { app.Close(context.Background()) })
	return &reference{app: app, sink: sink}
}

func (r *reference) Do(ctx context.Context, method, path, ctype string, body []byte) (int, []byte, error) {
	req := httptest.NewRequestWithContext(ctx, method, path, bytes.NewReader(body))
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	rec := httptest.NewRecorder()
	r.app.Handler().ServeHTTP(rec, req)
	return rec.Code, rec.Body.Bytes(), nil
}

func (r *reference) Batch(ctx context.Context, key string, data []byte) error {
	if err := r.app.BatchBucket.WriteAll(ctx, key, data, nil); err != nil {
		return err
	}
	return r.app.ScoreObject(ctx, functions.Object{Key: key})
}

func (r *reference) Flush(ctx context.Context) error { return r.app.PredLog.Flush(ctx) }
func (r *reference) Monitor(ctx context.Context) error {
	return r.app.RunMonitor(ctx)
}
func (r *reference) Metrics(context.Context) ([]monitoring.Metric, error) {
	ms, _ := local.Recorded(r.sink)
	return ms, nil
}
func (r *reference) BatchBucket() *blob.Bucket { return r.app.BatchBucket }
func (r *reference) LogBucket() *blob.Bucket   { return r.app.LogBucket }

var _ Target = (*reference)(nil)

func gunzip(r io.Reader) ([]byte, error) {
	zr, err := gzip.NewReader(r)
	if err != nil {
		return nil, err
	}
	return io.ReadAll(io.LimitReader(zr, predlog.MaxObjectBytes))
}
