package monitor_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"gocloud.dev/blob"

	"github.com/modelfn/modelfn/functions"
	"github.com/modelfn/modelfn/functions/monitoring"
	"github.com/modelfn/modelfn/functions/predlog"
	_ "github.com/modelfn/modelfn/providers/local" // mem:// sinks
	"github.com/modelfn/modelfn/runtime"
	"github.com/modelfn/modelfn/testing/tools"
)

var example = filepath.Join(tools.Root(), "examples", "breast-cancer")

// newApp serves the example bundle on memory buckets with a fixed clock.
func newApp(t testing.TB, now time.Time) *functions.App {
	t.Helper()
	cfg := functions.Config{Bundle: filepath.Join(example, "bundle"), LogURL: "mem://", MetricsURL: "mem://" + t.Name()}
	app, err := functions.New(context.Background(), cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	app.Monitor.Now = func() time.Time { return now }
	t.Cleanup(func() { app.Close(context.Background()) })
	return app
}

// logCSV scores a CSV's rows and writes them as one log object per chunk
// of `per` rows, with records stamped at `at`; it returns their ids and
// targets.
func logCSV(t testing.TB, app *functions.App, file string, at time.Time, per int) ([]string, []string) {
	t.Helper()
	f, err := os.Open(filepath.Join(example, file))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := runtime.NewCSVRows(f, app.Bundle.Schema)
	if err != nil {
		t.Fatal(err)
	}
	tcol := rows.Column("target")
	info := app.Model.Info()
	enc := predlog.NewEncoder("breast-cancer", "1", app.Bundle.Schema, info)
	b := runtime.NewBatch(app.Bundle.Schema, per)
	out := make([]float64, per*info.Outputs)
	var ids, targets []string
	flush := func() {
		if b.Rows == 0 {
			return
		}
		if err := app.Model.Predict(context.Background(), b, out[:b.Rows*info.Outputs]); err != nil {
			t.Fatal(err)
		}
		var lines predlog.Lines
		for i := 0; i < b.Rows; i++ {
			id := predlog.StableID(at, fmt.Sprint(file, len(ids)))
			ids = append(ids, id)
			enc.Append(&lines, &predlog.Record{ID: id, Time: at, Source: "http", X: b.Row(i), Out: out[i*2 : i*2+2]})
		}
		key := predlog.Partition(app.LogPrefix(), at) + predlog.NewID() + ".jsonl.gz"
		if err := predlog.WriteObject(context.Background(), app.LogBucket, key, lines.Bytes()); err != nil {
			t.Fatal(err)
		}
		b.Reset()
	}
	for rows.Next() == nil {
		if e := rows.Fill(b); e != nil {
			t.Fatal(e)
		}
		targets = append(targets, rows.Record[tcol])
		if b.Rows == per {
			flush()
		}
	}
	flush()
	return ids, targets
}

func metric(ms []monitoring.Metric, name string, labels ...string) (float64, bool) {
	for _, m := range ms {
		if m.Name != name {
			continue
		}
		ok := true
		for i := 0; i+1 < len(labels); i += 2 {
			ok = ok && m.Labels[labels[i]] == labels[i+1]
		}
		if ok {
			return m.Value, true
		}
	}
	return 0, false
}

func TestHoldoutIsQuietDriftedAlarms(t *testing.T) {
	now := time.Date(2026, 11, 25, 12, 30, 0, 0, time.UTC)
	app := newApp(t, now)
	logCSV(t, app, "holdout.csv", now.Add(-2*time.Hour), 50)
	res, err := app.Monitor.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if res.WindowRows != 171 || res.Health.ObjectsRead != 4 {
		t.Fatalf("window %d rows from %d objects", res.WindowRows, res.Health.ObjectsRead)
	}
	if res.Report.Dataset.Drifted {
		t.Fatalf("held-out data from the training distribution flagged as drifted: %+v", res.Report.Dataset)
	}
	logCSV(t, app, "drifted.csv", now.Add(-time.Hour), 50)
	logCSV(t, app, "drifted.csv", now.Add(-time.Hour), 50) // twice: drifted traffic dominates the window
	res, err = app.Monitor.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if res.Health.ObjectsRead != 8 || res.WindowRows != 3*171 {
		t.Fatalf("second run read %d objects, window %d rows", res.Health.ObjectsRead, res.WindowRows)
	}
	names := map[string]bool{}
	for _, a := range res.Alarms {
		names[a.Name] = true
	}
	for _, want := range []string{"dataset_drift", "feature_drift:mean radius", "feature_drift:worst area", "prediction_drift"} {
		if !names[want] {
			t.Errorf("no %s alarm; alarms: %v", want, names)
		}
	}
	if v, _ := metric(res.Metrics, monitoring.MetricFeatureDrifted, "feature", "mean radius"); v != 1 {
		t.Errorf("feature_drifted{mean radius} = %v", v)
	}
	if v, _ := metric(res.Metrics, monitoring.MetricFeatureDrifted, "feature", "smoothness error"); v != 0 {
		t.Errorf("an untouched feature drifted: %v", v)
	}
}

// TestCheckpoint: a second run over the same objects counts nothing twice,
// and a run that dies before committing is redone exactly once.
func TestCheckpoint(t *testing.T) {
	now := time.Date(2026, 11, 25, 12, 30, 0, 0, time.UTC)
	app := newApp(t, now)
	logCSV(t, app, "holdout.csv", now.Add(-time.Hour), 40)
	first, err := app.Monitor.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	again, err := app.Monitor.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if again.Health.ObjectsRead != 0 || again.WindowRows != first.WindowRows {
		t.Fatalf("re-run read %d objects, window %d (first %d)", again.Health.ObjectsRead, again.WindowRows, first.WindowRows)
	}

	// A run killed part-way: its context ends while it reads.
	logCSV(t, app, "drifted.csv", now.Add(-time.Hour), 10)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := app.Monitor.Run(ctx); err == nil {
		t.Fatal("a canceled run reported success")
	}
	res, err := app.Monitor.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if res.WindowRows != 2*171 || res.Health.ObjectsRead != 18 {
		t.Fatalf("after the killed run: window %d rows, %d objects read", res.WindowRows, res.Health.ObjectsRead)
	}
}

// TestManyObjectsSameAnswer: the same rows in 57 objects, read several at
// a time, give the metrics of one object read alone.
func TestManyObjectsSameAnswer(t *testing.T) {
	now := time.Date(2026, 11, 25, 12, 30, 0, 0, time.UTC)
	var runs [][]monitoring.Metric
	for _, per := range []int{1000, 3} {
		app := newApp(t, now)
		logCSV(t, app, "drifted.csv", now.Add(-time.Hour), per)
		res, err := app.Monitor.Run(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if want := (171 + per - 1) / per; res.WindowRows != 171 || res.Health.ObjectsRead != want {
			t.Fatalf("%d rows per object: window %d rows, %d objects read, want 171 and %d", per, res.WindowRows, res.Health.ObjectsRead, want)
		}
		runs = append(runs, res.Metrics)
	}
	if len(runs[0]) != len(runs[1]) {
		t.Fatalf("%d metrics, then %d", len(runs[0]), len(runs[1]))
	}
	for i, m := range runs[0] {
		if o := runs[1][i]; o.Name != m.Name || fmt.Sprint(o.Labels) != fmt.Sprint(m.Labels) || (o.Value != m.Value && !strings.HasPrefix(m.Name, "monitor_")) { // the run's own health may differ
			t.Errorf("metric %d: %s %v = %v, then %s %v = %v", i, m.Name, m.Labels, m.Value, o.Name, o.Labels, o.Value)
		}
	}
}

// TestCorruptObjectsAreSkippedAndCounted.
func TestCorruptObjectsAreSkippedAndCounted(t *testing.T) {
	now := time.Date(2026, 11, 25, 12, 30, 0, 0, time.UTC)
	app := newApp(t, now)
	logCSV(t, app, "holdout.csv", now.Add(-time.Hour), 100)
	part := predlog.Partition(app.LogPrefix(), now.Add(-time.Hour))
	ctx := context.Background()
	app.LogBucket.WriteAll(ctx, part+"garbage.jsonl.gz", []byte("not gzip"), nil)
	good := firstObject(t, app.LogBucket, part)
	app.LogBucket.WriteAll(ctx, part+"truncated.jsonl.gz", good[:len(good)/2], nil)
	res, err := app.Monitor.Run(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if res.Health.CorruptObjects != 2 || res.WindowRows != 171 {
		t.Fatalf("corrupt %d, window %d", res.Health.CorruptObjects, res.WindowRows)
	}
	if v, _ := metric(res.Metrics, monitoring.MetricCorruptObjects); v != 2 {
		t.Fatalf("corrupt objects metric %v", v)
	}
}

// TestLabels joins ground truth by prediction id: the performance metrics
// are scikit-learn's on the same pairs, labels for unknown or too-old ids
// are discarded, and labels that arrive before their predictions wait.
func TestLabels(t *testing.T) {
	now := time.Date(2026, 11, 25, 12, 30, 0, 0, time.UTC)
	app := newApp(t, now)
	ctx := context.Background()
	ids, targets := logCSV(t, app, "holdout.csv", now.Add(-time.Hour), 60)
	var sb strings.Builder
	for i, id := range ids {
		fmt.Fprintf(&sb, `{"id":%q,"label":%s}`+"\n", id, targets[i])
	}
	sb.WriteString(`{"id":"not-an-id","label":1}` + "\n")
	early := predlog.StableID(now.Add(-30*time.Minute), "later")
	fmt.Fprintf(&sb, `{"id":%q,"label":"benign"}`+"\n", early)
	if err := app.LogBucket.WriteAll(ctx, "labels/breast-cancer/day1.jsonl", []byte(sb.String()), nil); err != nil {
		t.Fatal(err)
	}
	res, err := app.Monitor.Run(ctx)
	if err != nil {
		t.Fatal(err)
	}
	h := res.Health
	if h.LabelsJoined != 171 || h.LabelsDiscarded != 1 || h.LabelsPending != 1 {
		t.Fatalf("health %+v", h)
	}
	p := res.Report.Performance
	if p == nil {
		t.Fatal("no performance report")
	}
	// The bundle's reference performance was measured on the same holdout
	// rows (modelfn init --validation holdout.csv), so the metrics agree.
	for _, m := range []string{"accuracy", "roc_auc", "f1"} {
		if got, want := p.Current[m], app.Bundle.Config.Monitoring.Perf.Reference[m]; abs(got-want) > 1e-12 {
			t.Errorf("%s = %v, reference %v", m, got, want)
		}
	}
	if p.Degraded {
		t.Errorf("degraded: %+v", p)
	}
}

func firstObject(t *testing.T, b *blob.Bucket, prefix string) []byte {
	it := b.List(&blob.ListOptions{Prefix: prefix})
	o, err := it.Next(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	data, err := b.ReadAll(context.Background(), o.Key)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func abs(x float64) float64 {
	if x < 0 {
		return -x
	}
	return x
}

// BenchmarkMonitorRead is a run over 200 new log objects of 171 records
// each in a memory bucket: reading, decoding and profiling them.
func BenchmarkMonitorRead(b *testing.B) {
	now := time.Date(2026, 11, 25, 12, 30, 0, 0, time.UTC)
	records := 0
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		app := newApp(b, now)
		for range 200 {
			logCSV(b, app, "holdout.csv", now.Add(-time.Hour), 1000)
		}
		b.StartTimer()
		res, err := app.Monitor.Run(context.Background())
		if err != nil || res.Health.ObjectsRead != 200 {
			b.Fatal(res.Health, err)
		}
		records += res.Health.Records
	}
	b.ReportMetric(float64(records)/b.Elapsed().Seconds(), "records/s")
}
