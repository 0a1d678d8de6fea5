package reliability

import (
	"context"
	"fmt"
	"testing"
	"time"
)

// TestLoad sends 50,000 prediction requests (5,000 at the fast size) at
// concurrency 64 to `modelfn serve` on loopback, stops it gracefully, and
// finds every answered prediction in the log exactly once, and nothing
// else.
func TestLoad(t *testing.T) {
	t.Parallel()
	n, conc := sized(5000, 50000), 64
	var evidence string
	report(t, "load", fmt.Sprintf("%d requests at concurrency %d, then SIGTERM: zero 5xx, one log record per answered prediction", n, conc), &evidence)

	data := t.TempDir()
	srv := startServer(t, data)
	bodies, _ := requestBodies(t)
	res := load(context.Background(), srv.base, n, conc, bodies, nil)
	written, logged, err := srv.logStats()
	if err != nil {
		t.Fatalf("stats: %v", err)
	}
	srv.stop()

	if res.failed > 0 {
		t.Errorf("%d requests got no answer (last: %v)", res.failed, res.lastErr)
	}
	if n5 := res.count5xx(); n5 > 0 {
		t.Errorf("%d answers were 5xx: %v", n5, res.status)
	}
	if res.status[200] != n {
		t.Errorf("answers by status %v, want %d × 200", res.status, n)
	}
	if res.duplicate > 0 {
		t.Errorf("%d prediction ids were answered twice", res.duplicate)
	}
	lc := readLog(t, data)
	missing, extra, twice := compareIDs(res.answered, lc.ids)
	if missing+extra+twice > 0 {
		t.Errorf("log vs answers: %d answered ids missing, %d stored ids never answered, %d stored more than once", missing, extra, twice)
	}
	if len(lc.stray) > 0 {
		t.Errorf("files left under predictions/: %v", lc.stray)
	}
	if logged != int64(len(res.answered)) {
		t.Errorf("stats logged %d records before shutdown, %d were answered", logged, len(res.answered))
	}
	evidence = fmt.Sprintf("%d answers (%v), %d predictions answered, %d stored in %d objects; %d missing, %d duplicated; %.0f req/s on loopback (written %d before shutdown)",
		res.requests, res.status, len(res.answered), len(lc.ids), len(lc.objects), missing, twice, float64(res.requests)/res.elapsed.Seconds(), written)
	t.Log(evidence, "in", res.elapsed.Round(time.Millisecond))
}

// compareIDs counts answered ids not stored, stored ids not answered, and
// ids stored more than once.
func compareIDs(answered, stored map[string]int) (missing, extra, twice int) {
	for id := range answered {
		if stored[id] == 0 {
			missing++
		}
	}
	for id, c := range stored {
		if answered[id] == 0 {
			extra++
		}
		if c > 1 {
			twice++
		}
	}
	return
}
