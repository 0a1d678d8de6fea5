// Package e2e drives modelfn as a user does: the local server over real
// HTTP, files dropped into the data folder, the modelfn binary for the
// monitor, and kill -9 for crashes.
package e2e

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/modelfn/modelfn/functions"
	"github.com/modelfn/modelfn/functions/predlog"
	"github.com/modelfn/modelfn/providers/local"
	"github.com/modelfn/modelfn/runtime"
	"github.com/modelfn/modelfn/testing/tools"
)

var (
	example = filepath.Join(tools.Root(), "examples", "breast-cancer")
	bundle  = filepath.Join(example, "bundle")
	binary  string // the modelfn command, built once
)

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "modelfn-e2e")
	if err != nil {
		panic(err)
	}
	binary = filepath.Join(dir, "modelfn")
	build := exec.Command("go", "build", "-o", binary, "./cmd/modelfn")
	build.Dir = tools.Root()
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		panic("building modelfn: " + err.Error())
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// TestServeEndToEnd serves the example, sends predictions, drops a file
// for batch scoring, uploads labels, stops the server, finds every record
// in the log, and runs the monitor binary, which raises the drift alarms.
func TestServeEndToEnd(t *testing.T) {
	data := t.TempDir()
	cfg, err := local.Config(bundle, data)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	app, err := functions.New(ctx, cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	addrc := make(chan string, 1)
	done := make(chan error, 1)
	go func() {
		done <- local.Serve(ctx, app, local.Options{Addr: "127.0.0.1:0", WatchInterval: 50 * time.Millisecond, Ready: func(a string) { addrc <- a }})
	}()
	base := "http://" + <-addrc

	// Predictions over HTTP: the drifted rows, in requests of 20.
	rows := readRows(t, "drifted.csv")
	var ids []string
	for i := 0; i < len(rows); i += 20 {
		end := min(i+20, len(rows))
		var inst []map[string]float64
		for _, r := range rows[i:end] {
			inst = append(inst, r.features)
		}
		body, _ := json.Marshal(map[string]any{"instances": inst})
		resp, err := http.Post(base+"/predict", "application/json", bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		var out struct{ Predictions []struct{ ID, Label string } }
		if resp.StatusCode != 200 || json.NewDecoder(resp.Body).Decode(&out) != nil || len(out.Predictions) != end-i {
			t.Fatalf("predict: %d", resp.StatusCode)
		}
		resp.Body.Close()
		for _, p := range out.Predictions {
			ids = append(ids, p.ID)
		}
	}

	// Batch: a user copies a file into the input folder.
	src, _ := os.ReadFile(filepath.Join(example, "drifted.csv"))
	os.MkdirAll(filepath.Join(data, "input"), 0o755)
	if err := os.WriteFile(filepath.Join(data, "input", "drifted.csv"), src, 0o644); err != nil {
		t.Fatal(err)
	}
	out := waitFor(t, filepath.Join(data, "output", "drifted.csv"))
	if n := len(strings.Split(strings.TrimSpace(string(out)), "\n")); n != len(rows)+1 {
		t.Fatalf("batch output has %d lines, want %d", n, len(rows)+1)
	}

	// Ground truth for the HTTP predictions.
	var labels strings.Builder
	for i, id := range ids {
		fmt.Fprintf(&labels, `{"id":%q,"label":%s}`+"\n", id, rows[i].target)
	}
	os.MkdirAll(filepath.Join(data, "labels", "breast-cancer"), 0o755)
	os.WriteFile(filepath.Join(data, "labels", "breast-cancer", "batch-1.jsonl"), []byte(labels.String()), 0o644)

	// Stop: the buffered log is flushed on the way out.
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	recs := logRecords(t, data)
	if recs["http"] != len(rows) || recs["batch"] != len(rows) {
		t.Fatalf("log holds %v records, want %d http and %d batch", recs, len(rows), len(rows))
	}

	cmd := exec.Command(binary, "monitor", "--bundle", bundle, "--data", data, "--once")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("monitor: %v\n%s", err, stderr.String())
	}
	if !strings.Contains(stdout.String(), "dataset drift: true") || !strings.Contains(stderr.String(), "ALARM dataset_drift") {
		t.Fatalf("no drift alarm:\n%s\n%s", stdout.String(), stderr.String())
	}
	alarms, err := os.ReadFile(filepath.Join(data, "monitoring", "alarms.jsonl"))
	if err != nil || !strings.Contains(string(alarms), `"Name":"feature_drift:mean radius"`) {
		t.Fatalf("alarm log: %v\n%s", err, alarms)
	}
	if !strings.Contains(stdout.String(), fmt.Sprintf("%d labels joined", len(rows))) {
		t.Fatalf("labels not joined:\n%s", stdout.String())
	}
	page, err := os.ReadFile(filepath.Join(data, "monitor", "breast-cancer", "1", "reports", "latest.html"))
	if err != nil || !bytes.Contains(page, []byte("mean radius")) {
		t.Fatalf("no HTML report: %v", err)
	}
}

// TestMonitorSurvivesKill9 kills the monitor half-way through a run, many
// times, then lets one finish: its metrics equal those of one clean run on
// a copy of the same data.
func TestMonitorSurvivesKill9(t *testing.T) {
	if testing.Short() {
		t.Skip("slow: many monitor runs")
	}
	crashed, clean := t.TempDir(), t.TempDir()
	writeLogs(t, crashed, 400, 40)
	copyDir(t, crashed, clean)

	start := time.Now()
	runMonitor(t, clean)
	cleanTook := time.Since(start)
	want := lastMetrics(t, clean)

	rng := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 12; i++ {
		cmd := exec.Command(binary, "monitor", "--bundle", bundle, "--data", crashed, "--once")
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Duration(rng.Int64N(int64(cleanTook))))
		cmd.Process.Signal(syscall.SIGKILL)
		cmd.Wait()
	}
	runMonitor(t, crashed)
	got := lastMetrics(t, crashed)
	if len(want) < 50 {
		t.Fatalf("the clean run published only %d metrics", len(want))
	}
	for k, w := range want {
		if g, ok := got[k]; !ok || math.Abs(g-w) > 1e-12 {
			t.Errorf("%s: %v after kills, %v clean", k, g, w)
		}
	}
	t.Logf("clean run %v; %d window metrics equal after 12 kills", cleanTook.Round(time.Millisecond), len(want))
}

func runMonitor(t *testing.T, data string) {
	t.Helper()
	out, err := exec.Command(binary, "monitor", "--bundle", bundle, "--data", data, "--once").CombinedOutput()
	if err != nil {
		t.Fatalf("monitor: %v\n%s", err, out)
	}
}

// lastMetrics reads the window metrics of the last run (per-run health
// counters differ between a resumed and a clean run, by design).
func lastMetrics(t *testing.T, data string) map[string]float64 {
	f, err := os.Open(filepath.Join(data, "monitoring", "metrics.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	type metric struct {
		Name   string
		Value  float64
		Labels map[string]string
		Time   time.Time
	}
	var all []metric
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var m metric
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatal(err)
		}
		all = append(all, m)
	}
	last := all[len(all)-1].Time
	out := map[string]float64{}
	for _, m := range all {
		if !m.Time.Equal(last) || strings.HasPrefix(m.Name, "monitor_") {
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

// writeLogs writes n prediction-log objects of per records each (the
// holdout and drifted rows, scored by the model) into a data folder.
func writeLogs(t *testing.T, data string, n, per int) {
	cfg, err := local.Config(bundle, data)
	if err != nil {
		t.Fatal(err)
	}
	app, err := functions.New(context.Background(), cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer app.Close(context.Background())
	rows := append(readRows(t, "holdout.csv"), readRows(t, "drifted.csv")...)
	s, info := app.Bundle.Schema, app.Model.Info()
	enc := predlog.NewEncoder("breast-cancer", "1", s, info)
	b := runtime.NewBatch(s, per)
	out := make([]float64, per*2)
	now := time.Now()
	for o := 0; o < n; o++ {
		b.Reset()
		for i := 0; i < per; i++ {
			r := rows[(o*per+i)%len(rows)]
			w := b.Begin(i)
			for c, name := range s.Names() {
				w.Number(c, r.features[name], "")
			}
			w.End()
		}
		app.Model.Predict(context.Background(), b, out)
		var lines predlog.Lines
		for i := 0; i < per; i++ {
			enc.Append(&lines, &predlog.Record{ID: predlog.NewID(), Time: now, Source: "http", X: b.Row(i), Out: out[2*i : 2*i+2]})
		}
		key := predlog.Partition(app.LogPrefix(), now) + fmt.Sprintf("%05d.jsonl.gz", o)
		if err := predlog.WriteObject(context.Background(), app.LogBucket, key, lines.Bytes()); err != nil {
			t.Fatal(err)
		}
	}
}

type row struct {
	features map[string]float64
	target   string
}

func readRows(t *testing.T, file string) []row {
	f, err := os.Open(filepath.Join(example, file))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	var rows []row
	for _, rec := range recs[1:] {
		r := row{features: map[string]float64{}}
		for i, h := range recs[0] {
			if h == "target" {
				r.target = rec[i]
				continue
			}
			var v float64
			fmt.Sscan(rec[i], &v)
			r.features[h] = v
		}
		rows = append(rows, r)
	}
	return rows
}

// logRecords counts the records in the data folder's log, by source.
func logRecords(t *testing.T, data string) map[string]int {
	counts := map[string]int{}
	filepath.Walk(filepath.Join(data, "predictions"), func(p string, info os.FileInfo, err error) error {
		if err != nil || info.IsDir() || !strings.HasSuffix(p, ".jsonl.gz") {
			return err
		}
		f, err := os.Open(p)
		if err != nil {
			return err
		}
		defer f.Close()
		zr, err := gzip.NewReader(f)
		if err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		dec := json.NewDecoder(zr)
		for dec.More() {
			var r struct{ Source string }
			if err := dec.Decode(&r); err != nil {
				t.Fatalf("%s: %v", p, err)
			}
			counts[r.Source]++
		}
		return nil
	})
	return counts
}

func waitFor(t *testing.T, path string) []byte {
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if data, err := os.ReadFile(path); err == nil {
			return data
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("%s never appeared", path)
	return nil
}

func copyDir(t *testing.T, from, to string) {
	err := filepath.Walk(from, func(p string, info os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(from, p)
		if info.IsDir() {
			return os.MkdirAll(filepath.Join(to, rel), 0o755)
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(to, rel), data, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
}
