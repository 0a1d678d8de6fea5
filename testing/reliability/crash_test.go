package reliability

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"gocloud.dev/blob"

	"github.com/modelfn/modelfn/functions"
	"github.com/modelfn/modelfn/runtime/bundle"
	"github.com/modelfn/modelfn/testing/example"
)

// TestCrashUnderLoad kills `modelfn serve` with SIGKILL under load at a
// random point, restarts it on the same data folder, and does it again
// (three times; once with -short). After each kill: every object the
// server logged as flushed is in storage with its record count, the
// records /modelfn/stats counted as written are there, no record is
// stored twice, and the answered predictions that are missing are within
// the bound the README states. A last, graceful run and the monitor then
// read the folder without a corrupt object.
func TestCrashUnderLoad(t *testing.T) {
	t.Parallel()
	b, err := bundle.Load(example.Bundle)
	if err != nil {
		t.Fatal(err)
	}
	flushRecords := b.Config.Log.FlushRecords
	// The log holds up to flush_records in the open buffer and, under
	// load, the full chunk the writer is writing when the kill lands.
	bound := 2 * flushRecords

	// Each round writes at least one full chunk before the kill.
	rounds, perRound := sized(1, 3), sized(1, 2)*flushRecords
	var evidence string
	report(t, "crash", fmt.Sprintf("kill -9 under load (concurrency 64) and restart, %d times: flushed records stored, loss within the bound", rounds), &evidence)

	data := t.TempDir()
	bodies, _ := requestBodies(t)
	rng := rand.New(rand.NewPCG(8, uint64(rounds)))
	answeredAll := map[string]int{}
	var losses []int
	for round := 1; round <= rounds; round++ {
		srv := startServer(t, data)
		killAt := int64(perRound + rng.IntN(flushRecords))
		var written int64 = -1
		var once sync.Once
		killed := make(chan struct{})
		ctx, cancel := context.WithCancel(context.Background())
		res := load(ctx, srv.base, 1<<30, 64, bodies, func(rows int64) {
			if rows < killAt {
				return
			}
			once.Do(func() {
				go func() { // the workers go on sending meanwhile
					defer close(killed)
					written, _, _ = srv.logStats()
					srv.kill()
					cancel()
				}()
			})
		})
		<-killed
		if n5 := res.count5xx(); n5 > 0 {
			t.Errorf("round %d: %d answers were 5xx: %v", round, n5, res.status)
		}
		lc := readLog(t, data)
		flushed := srv.flushed()
		acked := 0
		for key, n := range flushed {
			acked += n
			if got, ok := lc.objects[key]; !ok || got != n {
				t.Errorf("round %d: %s was logged as flushed with %d records; storage holds %d (present %v)", round, key, n, got, ok)
			}
		}
		if int64(acked) < written {
			t.Errorf("round %d: stats said %d records written, the server logged %d as flushed", round, written, acked)
		}
		lost := 0
		for id := range res.answered {
			answeredAll[id]++
			if lc.ids[id] == 0 {
				lost++
			}
		}
		for id, c := range lc.ids {
			if c > 1 {
				t.Errorf("round %d: record %s stored %d times", round, id, c)
			}
		}
		if lost > bound {
			t.Errorf("round %d: %d answered predictions lost, over the bound of %d (2 × flush_records)", round, lost, bound)
		}
		losses = append(losses, lost)
		t.Logf("round %d: killed after %d answered predictions (%d requests, %d without an answer); %d flushed objects, %d records acknowledged; %d lost",
			round, len(res.answered), res.requests, res.failed, len(flushed), acked, lost)
	}

	// Restart once more: it serves, and a graceful stop writes everything.
	srv := startServer(t, data)
	res := load(context.Background(), srv.base, 500, 16, bodies, nil)
	srv.stop()
	lc := readLog(t, data)
	for id := range res.answered {
		answeredAll[id]++
		if lc.ids[id] != 1 {
			t.Errorf("after the restart, answered prediction %s is stored %d times", id, lc.ids[id])
		}
	}
	stored := len(lc.ids)

	// The monitor reads the crashed folder whole: no corrupt object, and
	// every stored record counted (half-written objects are temporary
	// files beside their final name, never log objects).
	out, err := exec.Command(binary, "monitor", "--bundle", example.Bundle, "--data", data, "--once", "--json").Output()
	if err != nil {
		t.Fatalf("monitor: %v", err)
	}
	var mres struct {
		Health struct {
			Records        int `json:"records"`
			CorruptObjects int `json:"corrupt_objects"`
		} `json:"health"`
	}
	if err := json.Unmarshal(out, &mres); err != nil {
		t.Fatalf("monitor output: %v", err)
	}
	if mres.Health.CorruptObjects != 0 || mres.Health.Records != stored {
		t.Errorf("monitor after the crashes: %d records, %d corrupt objects; the log holds %d records", mres.Health.Records, mres.Health.CorruptObjects, stored)
	}
	tmp := 0
	for _, s := range lc.stray {
		if strings.HasSuffix(s, ".tmp") {
			tmp++
		} else {
			t.Errorf("unexpected file in the log: %s", s)
		}
	}
	maxLost := 0
	for _, l := range losses {
		maxLost = max(maxLost, l)
	}
	evidence = fmt.Sprintf("lost per kill %v of ≤%d allowed (flush_records %d); all flushed objects whole; %d answered, %d stored, 0 duplicates; monitor: %d records, %d corrupt; %d temp files left by killed writes",
		losses, bound, flushRecords, len(answeredAll), stored, mres.Health.Records, mres.Health.CorruptObjects, tmp)
	t.Log(evidence)
}

// TestMonitorKill9S3 is testing/e2e's kill -9 test of the monitor against
// S3 (versitygw) instead of the local folder: the monitor, run as a
// function process wired by the MODELFN_* environment, is killed with
// SIGKILL at random points of a run twelve times (three at the fast
// size); the run that finally completes publishes the window metrics of
// one clean run.
func TestMonitorKill9S3(t *testing.T) {
	t.Parallel()
	kills := sized(3, 12)
	var evidence string
	report(t, "crash", fmt.Sprintf("kill -9 the monitor half-way %d times against S3 (versitygw): final metrics = one clean run", kills), &evidence)
	st := startS3(t)
	cleanURL := st.bucket(t, "clean", st.endpoint())
	crashedURL := st.bucket(t, "crashed", st.endpoint())
	now := time.Now().UTC()
	data := &monitorData{t: t, buckets: []*blob.Bucket{open(t, cleanURL), open(t, crashedURL)}, now: now}
	data.add(300, 40)
	later := now.Add(time.Minute).Format(time.RFC3339Nano)

	monitorCmd := func(u string) *exec.Cmd {
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), helperRole+"=monitor", "MODELFN_RELIABILITY_NOW="+later,
			functions.EnvBundle+"="+example.Bundle, functions.EnvLogURL+"="+u)
		return cmd
	}
	runOnce := func(u string) map[string]float64 {
		var stdout, stderr bytes.Buffer
		cmd := monitorCmd(u)
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		if err := cmd.Run(); err != nil {
			t.Fatalf("monitor: %v\n%s", err, stderr.String())
		}
		var m map[string]float64
		if err := json.Unmarshal(stdout.Bytes(), &m); err != nil {
			t.Fatalf("monitor output: %v\n%s", err, stdout.String())
		}
		return m
	}
	start := time.Now()
	want := runOnce(cleanURL)
	cleanTook := time.Since(start)

	rng := rand.New(rand.NewPCG(12, 9))
	killed := 0
	for i := 0; i < kills; i++ {
		cmd := monitorCmd(crashedURL)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Duration(rng.Int64N(int64(cleanTook))))
		if cmd.Process.Signal(syscall.SIGKILL) == nil {
			if err := cmd.Wait(); err != nil {
				killed++
			}
		}
	}
	got := runOnce(crashedURL)
	diff := 0
	for k, w := range want {
		if g, ok := got[k]; !ok || math.Abs(g-w) > 1e-12 {
			diff++
			t.Errorf("%s: %v after kills, %v clean", k, g, w)
		}
	}
	if len(want) < 50 || len(got) != len(want) {
		t.Errorf("%d window metrics clean, %d after kills", len(want), len(got))
	}
	evidence = fmt.Sprintf("%d records in %d objects; clean run %v; %d of %d runs killed mid-way; %d window metrics, %d differ",
		data.records, data.objects, cleanTook.Round(time.Millisecond), killed, kills, len(want), diff)
	t.Log(evidence)
}
