package reliability

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"math/rand/v2"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"testing/iotest"
	"time"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"gocloud.dev/blob"

	"github.com/modelfn/modelfn/functions"
	"github.com/modelfn/modelfn/functions/batch"
	"github.com/modelfn/modelfn/functions/monitor"
	"github.com/modelfn/modelfn/functions/predlog"
	"github.com/modelfn/modelfn/providers/local"
	"github.com/modelfn/modelfn/runtime"
	"github.com/modelfn/modelfn/testing/example"
	"github.com/modelfn/modelfn/testing/tools"
)

// newApp builds the functions on cfg, logging into buf.
func newApp(t testing.TB, cfg functions.Config, buf io.Writer) *functions.App {
	t.Helper()
	if cfg.Bundle == "" {
		cfg.Bundle = example.Bundle
	}
	app, err := functions.New(context.Background(), cfg, slog.New(slog.NewTextHandler(buf, &slog.HandlerOptions{Level: slog.LevelDebug})))
	if err != nil {
		t.Fatal(err)
	}
	return app
}

// TestPredictionLogStoreOutage: predictions go on being answered while
// S3 is away; the logger retries with backoff and, once S3 is back,
// writes every record exactly once, also when the store wrote an object
// but its answer was lost (every SDK attempt of it).
func TestPredictionLogStoreOutage(t *testing.T) {
	t.Parallel()
	var evidence string
	report(t, "storage", "S3 (versitygw) away and back while predicting: answers go on, every record written once", &evidence)
	st := startS3(t)
	px := newFaultProxy(t, st.endpoint())
	logURL := st.bucket(t, "log", px.endpoint())
	logs := &tools.SyncBuffer{}
	app := newApp(t, functions.Config{LogURL: logURL}, logs)
	flushRecords := app.Bundle.Config.Log.FlushRecords

	bodies, _ := requestBodies(t)
	answered := map[string]int{}
	statuses := map[int]int{}
	send := func(n int) {
		for i := 0; i < n; i++ {
			req := httptest.NewRequest("POST", "/predict", bytes.NewReader(bodies[i%len(bodies)]))
			req.Header.Set("Content-Type", "application/json")
			rec := httptest.NewRecorder()
			app.Handler().ServeHTTP(rec, req)
			statuses[rec.Code]++
			var out struct{ Predictions []struct{ ID string } }
			json.Unmarshal(rec.Body.Bytes(), &out)
			for _, p := range out.Predictions {
				answered[p.ID]++
			}
		}
	}
	waitStats := func(what string, ok func(predlog.Stats) bool) {
		deadline := time.Now().Add(90 * time.Second)
		for !ok(app.PredLog.Stats()) {
			if time.Now().After(deadline) {
				t.Fatalf("%s: not within 90s; stats %+v\n%s", what, app.PredLog.Stats(), logs.Tail(3000))
			}
			time.Sleep(50 * time.Millisecond)
		}
	}

	// Requests carry 2.125 rows on average, so per requests fill about one
	// chunk (flush_records).
	per := flushRecords / 2
	send(per)
	st.stop()
	send(2 * per)
	waitStats("a failed write", func(s predlog.Stats) bool { return s.WriteErrors > 0 })
	down := app.PredLog.Stats()
	st.restart()
	waitStats("the queue written after S3 came back", func(s predlog.Stats) bool { return s.Buffered < int64(flushRecords) })

	// The store commits each write, the answers are lost: the SDK tries
	// three times, then the logger retries on its own.
	px.inject(faultDrop, "PUT", "/predictions/", 3)
	send(3 * per / 2)
	waitStats("the dropped answers retried", func(s predlog.Stats) bool { return s.Buffered < int64(flushRecords) })
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := app.Close(ctx); err != nil {
		t.Fatalf("close: %v", err)
	}
	final := app.PredLog.Stats()

	if statuses[200] != per+2*per+3*per/2 {
		t.Errorf("answers %v: every prediction should be answered while S3 is away", statuses)
	}
	stored := readBucketLog(t, open(t, s3URL("log", st.endpoint())), "predictions/")
	missing, extra, twice := compareIDs(answered, stored)
	if missing+extra+twice > 0 {
		t.Errorf("log vs answers: %d answered missing, %d stored never answered, %d stored more than once", missing, extra, twice)
	}
	evidence = fmt.Sprintf("%d predictions answered (%v) with S3 down for %d failed writes; %d dropped answers injected; %d stored, %d missing, %d twice; stats %+v",
		len(answered), statuses, down.WriteErrors, px.injected(faultDrop), len(stored), missing, twice, final)
	t.Log(evidence)
}

// readBucketLog counts each record id of the log objects under prefix.
func readBucketLog(t testing.TB, b *blob.Bucket, prefix string) map[string]int {
	t.Helper()
	ids := map[string]int{}
	ctx := context.Background()
	it := b.List(&blob.ListOptions{Prefix: prefix})
	for {
		o, err := it.Next(ctx)
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		raw, err := b.ReadAll(ctx, o.Key)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := decodeLog(raw, func(id, _ string) { ids[id]++ }); err != nil {
			t.Fatalf("%s: %v", o.Key, err)
		}
	}
	return ids
}

// TestBatchStoreOutage kills S3 half-way through scoring a CSV object:
// the run fails with an error naming the object and leaves no output;
// then, with the local watcher running, S3 goes away half-way again and
// comes back: the watcher retries with backoff and the output and the
// log hold every row exactly once. With S3 down for good, scoring fails
// with a clear error.
func TestBatchStoreOutage(t *testing.T) {
	t.Parallel()
	var evidence string
	report(t, "storage", "S3 (versitygw) away half-way through batch scoring: no partial output, retried, rows once", &evidence)
	rows := sized(24000, 60000)
	st := startS3(t)
	batchURL := st.bucket(t, "batch", st.endpoint())
	logURL := st.bucket(t, "log", st.endpoint())
	header, examples := exampleRows(t)
	var in bytes.Buffer
	in.WriteString(header + "\n")
	for i := 0; i < rows; i++ {
		in.WriteString(examples[i%len(examples)].text + "\n")
	}
	const key = "input/2026/day.csv"
	ctx := context.Background()
	if _, err := st.client().PutObject(ctx, &s3.PutObjectInput{Bucket: awssdk.String("batch"), Key: awssdk.String(key), Body: bytes.NewReader(in.Bytes())}); err != nil {
		t.Fatal(err)
	}
	logs := &tools.SyncBuffer{}
	app := newApp(t, functions.Config{LogURL: logURL, BatchURL: batchURL}, logs)
	defer app.Close(ctx)
	store := open(t, batchURL)
	logStore := open(t, logURL)

	// failAt stops S3 when the run has read a third of the rows, and
	// brings it back after `away` (never, if 0).
	var outage sync.WaitGroup
	failAt := func(away time.Duration) {
		var once sync.Once
		app.Batch.Progress = func(n int64) {
			if n < int64(rows/3) {
				return
			}
			once.Do(func() {
				st.stop()
				if away > 0 {
					outage.Add(1)
					go func() {
						defer outage.Done()
						time.Sleep(away)
						st.restart()
					}()
				}
			})
		}
	}

	// 1. S3 goes away mid-run and stays away for this run.
	failAt(0)
	err := app.ScoreObject(ctx, functions.Object{Key: key})
	if err == nil || batch.Permanent(err) || !strings.Contains(err.Error(), key) {
		t.Fatalf("scoring with S3 gone half-way: %v; want a retryable error naming %s", err, key)
	}
	firstErr := err.Error()
	st.restart()
	for _, prefix := range []string{"output/", "errors/"} {
		if keys := tools.Keys(t, store, prefix); len(keys) > 0 {
			t.Errorf("after the failed run, %s holds %v: a partial output", prefix, keys)
		}
	}

	// 2. The watcher scores it; S3 goes away half-way and is back 8s later.
	failAt(8 * time.Second) // longer than the SDK's own retries
	wctx, stopWatch := context.WithCancel(ctx)
	watched := make(chan error, 1)
	go func() { watched <- local.Watch(wctx, app, 100*time.Millisecond) }()
	outKey, _ := app.Batch.OutputKey(key)
	deadline := time.Now().Add(2 * time.Minute)
	for !strings.Contains(logs.String(), `msg="batch scored"`) {
		if time.Now().After(deadline) {
			t.Fatalf("the watcher did not score %s within 2 minutes:\n%s", key, logs.Tail(4000))
		}
		time.Sleep(50 * time.Millisecond)
	}
	stopWatch()
	<-watched
	outage.Wait()
	app.Batch.Progress = nil
	retries := strings.Count(logs.String(), "batch scoring failed; will retry")
	if retries == 0 {
		t.Errorf("the watcher never retried:\n%s", logs.Tail(3000))
	}

	out, err := store.ReadAll(ctx, outKey)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(string(out), "\n"), "\n")
	if len(lines) != rows+1 {
		t.Fatalf("output has %d lines, want %d", len(lines), rows+1)
	}
	outIDs := map[string]int{}
	for i, line := range lines[1:] {
		want := examples[i%len(examples)].text + ","
		if !strings.HasPrefix(line, want) {
			t.Fatalf("output row %d is %.80q, want the input row %.80q and its prediction", i+1, line, want)
		}
		outIDs[strings.SplitN(line[len(want):], ",", 2)[0]]++
	}
	if keys := tools.Keys(t, store, "errors/"); len(keys) > 0 {
		t.Errorf("errors objects %v for an input without a bad row", keys)
	}
	logged := readBucketLog(t, logStore, "predictions/")
	missing, extra, twice := compareIDs(outIDs, logged)
	if len(outIDs) != rows || missing+extra+twice > 0 {
		t.Errorf("%d distinct ids in %d output rows; log: %d missing, %d not in the output, %d twice", len(outIDs), rows, missing, extra, twice)
	}
	uploads, err := st.client().ListMultipartUploads(ctx, &s3.ListMultipartUploadsInput{Bucket: awssdk.String("batch")})
	dangling := -1
	if err == nil {
		dangling = len(uploads.Uploads)
	}

	// 3. S3 stays down: a clear error, after the SDK's own retries.
	st.stop()
	start := time.Now()
	err = app.ScoreObject(ctx, functions.Object{Key: key})
	downFor := time.Since(start)
	st.restart()
	if err == nil || batch.Permanent(err) || !strings.Contains(err.Error(), key) || !strings.Contains(err.Error(), "connection refused") {
		t.Errorf("scoring with S3 down: %v; want a retryable error naming %s and the refused connection", err, key)
	}
	evidence = fmt.Sprintf("%d rows; run cut half-way fails (%.90s…), no output/errors object left; watcher retried %d× with backoff, then output %d rows, %d ids, log %d records, 0 twice; multipart uploads left open by the cut runs: %d; S3 down: error after %v: %.100s",
		rows, firstErr, retries, len(lines)-1, len(outIDs), len(logged), dangling, downFor.Round(time.Millisecond), err)
	t.Log(evidence)
}

// monitorData writes the same prediction-log objects (the example's
// held-out and drifted rows, scored by the model) and label objects (for
// every other record) into each bucket, a batch at a time.
type monitorData struct {
	t       testing.TB
	buckets []*blob.Bucket
	now     time.Time
	objects int // written so far
	records int
	labels  int
}

// add writes objects log objects of per records, and one label object.
func (d *monitorData) add(objects, per int) {
	t := d.t
	t.Helper()
	m, s := example.Model(t)
	info := m.Info()
	enc := predlog.NewEncoder("breast-cancer", "1", s, info)
	_, rows := exampleRows(t)
	prefix := predlog.Prefix("predictions/", "breast-cancer", "1")
	b := runtime.NewBatch(s, per)
	out := make([]float64, per*info.Outputs)
	var lab bytes.Buffer
	write := func(key string, data []byte, gz bool) {
		for _, bk := range d.buckets {
			var err error
			if gz {
				err = predlog.WriteObject(context.Background(), bk, key, data)
			} else {
				err = bk.WriteAll(context.Background(), key, data, nil)
			}
			if err != nil {
				t.Fatal(err)
			}
		}
	}
	for o := d.objects; o < d.objects+objects; o++ {
		b.Reset()
		for i := 0; i < per; i++ {
			r := rows[(o*per+i)%len(rows)]
			w := b.Begin(i)
			for c, name := range s.Names() {
				w.Number(c, r.features[name], "")
			}
			w.End()
		}
		if err := m.Predict(context.Background(), b, out); err != nil {
			t.Fatal(err)
		}
		var lines predlog.Lines
		k := info.Outputs
		for i := 0; i < per; i++ {
			id := predlog.NewID()
			enc.Append(&lines, &predlog.Record{ID: id, Time: d.now, Source: predlog.SourceHTTP, X: b.Row(i), Out: out[i*k : (i+1)*k]})
			d.records++
			if d.records%2 == 0 {
				fmt.Fprintf(&lab, "{\"id\":%q,\"label\":%s}\n", id, rows[(o*per+i)%len(rows)].target)
				d.labels++
			}
		}
		write(predlog.Partition(prefix, d.now)+fmt.Sprintf("%05d.jsonl.gz", o), lines.Bytes(), true)
	}
	write(fmt.Sprintf("labels/breast-cancer/part-%05d.jsonl", d.objects), lab.Bytes(), false)
	d.objects += objects
}

// TestMonitorStoreOutage runs the monitor against S3 while the store goes
// away for a whole run, cuts log objects off half-way through their
// bodies, fails label reads (every SDK attempt) and is killed at random
// points of runs, with new log and label objects arriving between runs.
// Every failed run returns an error and commits nothing; no object is
// taken for corrupt; the last run's window metrics equal those of one
// clean run over the same objects.
func TestMonitorStoreOutage(t *testing.T) {
	t.Parallel()
	var evidence string
	report(t, "storage", "S3 (versitygw) away, cut responses, failed label reads during monitor runs: final metrics = one clean run", &evidence)
	kills := sized(2, 6)
	st := startS3(t)
	px := newFaultProxy(t, st.endpoint())
	cleanURL := st.bucket(t, "clean", st.endpoint())
	faultyURL := st.bucket(t, "faulty", px.endpoint())
	now := time.Now().UTC()
	data := &monitorData{t: t, buckets: []*blob.Bucket{open(t, cleanURL), open(t, faultyURL)}, now: now}
	data.add(60, 40)
	later := now.Add(time.Minute)
	ctx := context.Background()

	logs := &tools.SyncBuffer{}
	faulty := newApp(t, functions.Config{LogURL: faultyURL}, logs)
	faulty.Monitor.Now = func() time.Time { return later }
	var runs, failed, corrupt int
	var took time.Duration
	var firstErr string
	run := func(what string) (*monitor.Result, error) {
		start := time.Now()
		res, err := faulty.Monitor.Run(ctx)
		runs++
		if err != nil {
			failed++
			t.Logf("%s: run failed: %v", what, err)
			return nil, err
		}
		took = max(took, time.Since(start))
		corrupt += res.Health.CorruptObjects
		t.Logf("%s: run read %d objects, %d records, %d labels joined, %d corrupt", what, res.Health.ObjectsRead, res.Health.Records, res.Health.LabelsJoined, res.Health.CorruptObjects)
		return res, nil
	}

	// 1. Away for a whole run: a clear error.
	st.stop()
	_, err := run("S3 down")
	st.restart()
	if err == nil || !strings.Contains(err.Error(), "monitor") {
		t.Errorf("monitor with S3 down: %v; want an error saying what the monitor could not read", err)
	} else {
		firstErr = err.Error()
	}
	// 2. A log object cut off half-way through its body, half-way
	// through the run; the next run, with S3 well, reads everything.
	px.inject(faultCut, "GET", "/00030.jsonl.gz", 1)
	run("a log body cut")
	run("no fault")
	// 3. A label object unreadable: every SDK attempt reset (twice each,
	// as net/http retries a GET once on a reused connection).
	data.add(10, 40)
	px.inject(faultReset, "GET", "/labels/", 6)
	run("label reads reset")
	run("no fault")
	// 4. S3 killed at random points of runs, back 300ms later.
	rng := rand.New(rand.NewPCG(4, 2))
	for i := 0; i < kills; i++ {
		data.add(10, 40)
		var wg sync.WaitGroup
		wg.Add(1)
		go func() {
			defer wg.Done()
			time.Sleep(time.Duration(rng.Int64N(int64(took) + 1)))
			st.stop()
			time.Sleep(300 * time.Millisecond)
			st.restart()
		}()
		run(fmt.Sprintf("S3 killed at random (%d)", i+1))
		wg.Wait()
	}
	px.mu.Lock()
	px.faults = nil
	px.mu.Unlock()
	got, err := run("final")
	if err != nil {
		t.Fatalf("the last run, with S3 up: %v", err)
	}

	clean := newApp(t, functions.Config{LogURL: cleanURL}, io.Discard)
	clean.Monitor.Now = func() time.Time { return later }
	want, err := clean.Monitor.Run(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if want.Health.Records != data.records || want.Health.LabelsJoined != data.labels {
		t.Fatalf("clean run read %d records and joined %d labels, want %d and %d", want.Health.Records, want.Health.LabelsJoined, data.records, data.labels)
	}
	if corrupt > 0 {
		t.Errorf("%d objects were taken for corrupt: a store failure must fail the run, not skip the object", corrupt)
	}
	wm, gm := windowMetrics(want.Metrics), windowMetrics(got.Metrics)
	diff := 0
	for k, w := range wm {
		if g, ok := gm[k]; !ok || math.Abs(g-w) > 1e-12 {
			diff++
			if diff <= 5 {
				t.Errorf("%s: %v after the faults, %v clean", k, g, w)
			}
		}
	}
	if len(gm) != len(wm) {
		t.Errorf("%d window metrics after the faults, %d clean", len(gm), len(wm))
	}
	evidence = fmt.Sprintf("%d records, %d labels in %d objects; %d runs, %d failed with an error (S3 down: %.60s…); injected %d cut bodies, %d reset label reads, %d kills; %d objects taken for corrupt; %d window metrics, %d differ from the clean run",
		data.records, data.labels, data.objects, runs, failed, firstErr, px.injected(faultCut), px.injected(faultReset), kills, corrupt, len(wm), diff)
	t.Log(evidence)
}

// TestLogReaderStoreFailureIsNotCorruption: the log reader tells an
// object that is corrupt (skipped for good by the monitor) from a read
// that failed (the run fails and is redone), at every point of the
// object.
func TestLogReaderStoreFailureIsNotCorruption(t *testing.T) {
	t.Parallel()
	var evidence string
	report(t, "storage", "log reader: a read failing mid-object is a store error, a truncated object is corrupt", &evidence)
	m, s := example.Model(t)
	enc := predlog.NewEncoder("breast-cancer", "1", s, m.Info())
	b := runtime.NewBatch(s, 1)
	w := b.Begin(0)
	for c := range s.Names() {
		w.Number(c, 1, "")
	}
	w.End()
	var lines predlog.Lines
	for i := 0; i < 8; i++ {
		enc.Append(&lines, &predlog.Record{ID: predlog.NewID(), Time: time.Now(), Source: "http", X: b.Row(0), Out: []float64{0.25, 0.75}})
	}
	obj := predlog.Compress(nil, lines.Bytes())
	dec := predlog.NewDecoder(s, m.Info())
	failed := errors.New("connection reset by peer")
	for cut := 0; cut < len(obj); cut++ {
		into := runtime.NewBatch(s, 64)
		_, err := dec.Read(io.MultiReader(bytes.NewReader(obj[:cut]), iotest.ErrReader(failed)), into, nil)
		if !errors.Is(err, failed) || errors.Is(err, predlog.ErrCorrupt) {
			t.Fatalf("read failing after %d of %d bytes: %v; want the read's own error, not ErrCorrupt", cut, len(obj), err)
		}
		_, err = dec.Read(bytes.NewReader(obj[:cut]), into, nil)
		if !errors.Is(err, predlog.ErrCorrupt) {
			t.Fatalf("object truncated to %d of %d bytes: %v; want ErrCorrupt", cut, len(obj), err)
		}
	}
	evidence = fmt.Sprintf("every cut point of a %d-byte object: failed read → the read's error; truncated → ErrCorrupt", len(obj))
}
