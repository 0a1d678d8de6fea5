package local_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/modelfn/modelfn/functions"
	"github.com/modelfn/modelfn/providers/local"
	"github.com/modelfn/modelfn/testing/tools"
)

var example = filepath.Join(tools.Root(), "examples", "breast-cancer")

func serve(t *testing.T, data string) (string, context.CancelFunc, chan error) {
	return serveBundle(t, filepath.Join(example, "bundle"), data)
}

func serveBundle(t *testing.T, bundle, data string) (string, context.CancelFunc, chan error) {
	cfg, err := local.Config(bundle, data)
	if err != nil {
		t.Fatal(err)
	}
	app, err := functions.New(context.Background(), cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	addr := make(chan string, 1)
	done := make(chan error, 1)
	go func() {
		done <- local.Serve(ctx, app, local.Options{Addr: "127.0.0.1:0", DataDir: data, WatchInterval: 20 * time.Millisecond, Ready: func(a string) { addr <- a }})
	}()
	return "http://" + <-addr, cancel, done
}

// TestWatcherRetriesAFailedStore: while the output folder cannot be
// written, the input is retried with backoff; once it can, the output
// appears, whole.
func TestWatcherRetriesAFailedStore(t *testing.T) {
	data := t.TempDir()
	os.MkdirAll(filepath.Join(data, "input"), 0o755)
	// Break the store's output prefix: a file where the folder must go.
	os.WriteFile(filepath.Join(data, "output"), nil, 0o644)
	_, cancel, done := serve(t, data)
	defer func() { cancel(); <-done }()
	src, _ := os.ReadFile(filepath.Join(example, "holdout.csv"))
	os.WriteFile(filepath.Join(data, "input", "day.csv"), src, 0o644)
	time.Sleep(300 * time.Millisecond) // a few failed attempts
	if _, err := os.Stat(filepath.Join(data, "output", "day.csv")); err == nil {
		t.Fatal("output written through a broken store")
	}
	os.Remove(filepath.Join(data, "output"))
	out := scored(t, data, "day.csv", "the input was never scored after the store came back")
	if n := strings.Count(string(out), "\n"); n != strings.Count(string(src), "\n") {
		t.Fatalf("output has %d lines", n)
	}
}

// scored waits up to 30 s for the output of the input file name under
// data, failing with why when it never comes.
func scored(t *testing.T, data, name, why string) []byte {
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if out, err := os.ReadFile(filepath.Join(data, "output", name)); err == nil {
			return out
		}
	}
	t.Fatal(why)
	return nil
}

// TestInputFolderReady: a fresh data folder has its input folder once
// the server listens, so the README's first cp into it works, and a file
// dropped there is scored.
func TestInputFolderReady(t *testing.T) {
	data := filepath.Join(t.TempDir(), "fresh")
	_, cancel, done := serve(t, data)
	defer func() { cancel(); <-done }()
	src, _ := os.ReadFile(filepath.Join(example, "holdout.csv"))
	if err := os.WriteFile(filepath.Join(data, "input", "day.csv"), src, 0o644); err != nil {
		t.Fatal(err)
	}
	scored(t, data, "day.csv", "a file dropped into the input folder was never scored")
}

// TestWarnsBeyondLoopback: listening where other machines can reach the
// unauthenticated local server is said at start; loopback is not.
func TestWarnsBeyondLoopback(t *testing.T) {
	for addr, warned := range map[string]bool{"127.0.0.1:0": false, "0.0.0.0:0": true} {
		cfg, err := local.Config(filepath.Join(example, "bundle"), t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		var logs tools.SyncBuffer
		app, err := functions.New(context.Background(), cfg, slog.New(slog.NewTextHandler(&logs, nil)))
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		ready := make(chan string, 1)
		done := make(chan error, 1)
		go func() { done <- local.Serve(ctx, app, local.Options{Addr: addr, Ready: func(a string) { ready <- a }}) }()
		<-ready
		cancel()
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		if got := strings.Contains(logs.String(), "listening beyond this machine"); got != warned {
			t.Errorf("%s: warned %v, want %v; log:\n%s", addr, got, warned, logs.String())
		}
	}
}

// TestStatsAndGracefulStop: the stats endpoint counts logged records, and
// stopping the server writes every one of them.
func TestStatsAndGracefulStop(t *testing.T) {
	data := t.TempDir()
	base, cancel, done := serve(t, data)
	if st := predictN(t, base, 25); st.Logged != 25 {
		t.Fatalf("stats %+v", st)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if objects, _ := logRecords(t, data); objects == 0 {
		t.Fatal("no log object after a graceful stop")
	}
}

// TestSampleRate: with prediction_log.sample_rate, every request is
// answered, the stats count the predictions left out, and the log holds
// exactly the ones kept.
func TestSampleRate(t *testing.T) {
	bundle := filepath.Join(t.TempDir(), "bundle")
	if err := os.CopyFS(bundle, os.DirFS(filepath.Join(example, "bundle"))); err != nil {
		t.Fatal(err)
	}
	yaml := filepath.Join(bundle, "modelfn.yaml")
	conf, _ := os.ReadFile(yaml)
	os.WriteFile(yaml, []byte(strings.Replace(string(conf), "\nprediction_log:\n", "\nprediction_log:\n  sample_rate: 0.5\n", 1)), 0o644)
	data := t.TempDir()
	base, cancel, done := serveBundle(t, bundle, data)
	const requests = 200
	st := predictN(t, base, requests)
	if st.Logged+st.NotSampled != requests || st.Logged < 50 || st.Logged > 150 {
		t.Fatalf("stats %+v for %d predictions at rate 0.5", st, requests)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if _, records := logRecords(t, data); records != st.Logged {
		t.Fatalf("%d records in the log, %d logged", records, st.Logged)
	}
}

type logStats struct {
	Logged, Written, Buffered int
	NotSampled                int `json:"not_sampled"`
}

// predictN posts the example's one-row request n times, each answered 200,
// and returns the prediction log's stats.
func predictN(t *testing.T, base string, n int) logStats {
	body, _ := os.ReadFile(filepath.Join(example, "request.json"))
	for i := 0; i < n; i++ {
		resp, err := http.Post(base+"/predict", "application/json", bytes.NewReader(body))
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("%v %v", err, resp)
		}
		resp.Body.Close()
	}
	resp, err := http.Get(base + "/modelfn/stats")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var stats struct {
		PredictionLog logStats `json:"prediction_log"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&stats); err != nil {
		t.Fatal(err)
	}
	return stats.PredictionLog
}

// logRecords counts the prediction-log objects under a data folder and the
// records in them.
func logRecords(t *testing.T, data string) (objects, records int) {
	filepath.Walk(filepath.Join(data, "predictions"), func(p string, info os.FileInfo, err error) error {
		if err != nil || !strings.HasSuffix(p, ".jsonl.gz") {
			return nil
		}
		f, err := os.Open(p)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		zr, err := gzip.NewReader(f)
		if err != nil {
			t.Fatal(err)
		}
		lines, err := io.ReadAll(zr)
		if err != nil {
			t.Fatal(err)
		}
		objects++
		records += bytes.Count(lines, []byte("\n"))
		return nil
	})
	return objects, records
}
