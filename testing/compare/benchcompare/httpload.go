package main

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// HTTP predictions: modelfn serve against FastAPI + uvicorn + xgboost, one
// worker each pinned to one core, wrk on the other core, same bodies.

type mix struct {
	name   string
	bodies []string // files wrk sends in turn
	rows   float64  // mean rows per request
}

type server struct {
	name string
	url  string // the predict endpoint
	p    *proc
}

func (s *setup) httpSection(ctx context.Context) ([]Row, error) {
	one, hundred := filepath.Join(s.tmp, "one.json"), filepath.Join(s.tmp, "hundred.json")
	if err := errors.Join(s.writeBody(one, 1), s.writeBody(hundred, 100)); err != nil {
		return nil, err
	}
	mixes := []mix{
		{"1 row/request", []string{one}, 1},
		{"100 rows/request", []string{hundred}, 100},
		{"mixed 9×1 row : 1×100 rows", append(repeat(one, 9), hundred), 10.9},
	}

	mf, err := s.startModelfnServer(ctx, s.pinned(0), s.bundle)
	if err != nil {
		return nil, err
	}
	defer mf.p.stop(30 * time.Second)
	var variants []*server // log off, then sampled
	for _, setting := range []string{logOffSetting, sampledSetting} {
		sv, err := s.startModelfnWithLog(ctx, setting)
		if err != nil {
			return nil, err
		}
		defer sv.p.stop(30 * time.Second)
		variants = append(variants, sv)
	}
	mfNoLog, mfSampled := variants[0], variants[1]
	py, err := s.startUvicorn(ctx, "")
	if err != nil {
		return nil, err
	}
	defer py.p.stop(10 * time.Second)
	// The same app logging every prediction, as modelfn does by default.
	pyLogDir := filepath.Join(s.tmp, "fastapi-log")
	pyLog, err := s.startUvicorn(ctx, pyLogDir)
	if err != nil {
		return nil, err
	}
	defer pyLog.p.stop(10 * time.Second)
	servers := []*server{mf, mfNoLog, mfSampled, py, pyLog}

	for _, sv := range servers {
		if err := s.checkServer(ctx, sv); err != nil {
			return nil, err
		}
	}
	res, err := s.load(ctx, "http", servers, mixes)
	if err != nil {
		return nil, err
	}
	if err := s.ownLatencies(ctx, servers, mixes, res); err != nil {
		return nil, err
	}
	// Both answer correctly after the load too.
	for _, sv := range servers {
		if err := s.checkServer(ctx, sv); err != nil {
			return nil, err
		}
	}
	pyLog.p.stop(10 * time.Second) // which ends its last log object
	if _, err := pythonLogRecords(pyLogDir); err != nil {
		return nil, fmt.Errorf("the FastAPI app's prediction log: %w", err)
	}

	const against = againstFastAPI
	var rows []Row
	for mi, m := range mixes {
		// The same work on both sides, with the log off and then on; modelfn
		// as it is served by default (log on) against the Python app without
		// one; and logging a sample.
		fastapi := res[py][mi]
		for _, v := range []struct {
			what, against string
			r, alt        series
		}{
			{"prediction log off (the same work)", against, res[mfNoLog][mi], fastapi},
			{"prediction log on (the default)", against, res[mf][mi], fastapi},
			{"prediction log on, both sides (the same work)", againstFastAPILog, res[mf][mi], res[pyLog][mi]},
			{sampledName, against, res[mfSampled][mi], fastapi},
		} {
			what := m.name + ", " + v.what
			wrkP99 := compare("HTTP", what+": p99 latency", v.against, newFigure("ms", v.r.p99), newFigure("ms", v.alt.p99), false, 10, "≤ 1/10")
			ownP99 := compare("HTTP", what+": p99 latency, each request's own", v.against, newFigure("ms", v.r.ownP99), newFigure("ms", v.alt.ownP99), false, 10, "≤ 1/10")
			if len(rows) == 0 { // the first p99 rows say what each reading is
				wrkP99.Note, ownP99.Note = wrkLatencyNote, ownLatencyNote
			}
			rows = append(rows,
				compare("HTTP", what+": throughput", v.against, newFigure("req/s", v.r.rps), newFigure("req/s", v.alt.rps), true, 20, "≥ 20×"),
				compare("HTTP", what+": p50 latency", v.against, newFigure("ms", v.r.p50), newFigure("ms", v.alt.p50), false, 0, ""),
				wrkP99, ownP99)
		}
		// Where a request's time goes, the same work on both sides: the
		// kernel's part (a loopback read and write at the least) is a floor
		// no server code removes, and bounds what a faster server can gain.
		if s.taskset != "" {
			same := res[mfNoLog][mi]
			rows = append(rows,
				compare("HTTP", m.name+", the same work: the server's user CPU per request", against, newFigure("µs", same.user), newFigure("µs", fastapi.user), false, 0, ""),
				compare("HTTP", m.name+", the same work: the server's kernel CPU per request", against, newFigure("µs", same.kernel), newFigure("µs", fastapi.kernel), false, 0, ""))
		}
	}
	rss := map[*server]float64{}
	for _, sv := range []*server{mf, py} {
		if rss[sv], err = peakRSS(sv.p.pid()); err != nil {
			return nil, err
		}
	}
	mem := compare("HTTP", "server peak RSS after all runs (log on)", against,
		newFigure("MB", []float64{rss[mf]}), newFigure("MB", []float64{rss[py]}), false, 0, "")
	stats, err := logStats(ctx, mf)
	if err != nil {
		return nil, err
	}
	mem.Note = "modelfn's prediction log during the runs: " + stats
	rows = append(rows, mem)
	return rows, nil
}

// series is one server's figures under one mix, a value per run: wrk's,
// and the p99 of the requests closedloop sent (see ownLatencies).
type series struct{ rps, p50, p99, user, kernel, ownP99 []float64 }

// The two readings of the p99, told apart in the table's notes.
const (
	wrkLatencyNote = "wrk's latencies (p50, p99) are after its correction for coordinated omission: for each request slower than the mean time between a connection's requests, it adds the requests the connection would have sent at that interval meanwhile, with the waits they would have had. A pause of the machine (this host's are in the README's Tail latency) then counts once for every request the server would have answered in it: 37 times on each connection for a 5 ms pause at modelfn's one-row rate (16 connections at 120,000 requests/s: a request every 0.13 ms on each), once at FastAPI's (every 3 ms)"
	ownLatencyNote = "testing/compare/closedloop, the load wrk makes (16 connections, the same bodies in turn, pinned to the same core) from Go, reporting the time each request took from its write to its answer and nothing more, after the wrk runs"
)

// load warms each server up under each mix (connections, caches, Python's
// first calls), then runs wrk cfg.runs times per server and mix (inTurn);
// res[sv][i] holds server sv's figures under mixes[i].
func (s *setup) load(ctx context.Context, section string, servers []*server, mixes []mix) (map[*server][]series, error) {
	for _, sv := range servers {
		for _, m := range mixes {
			if _, err := s.wrk(ctx, sv, m, s.cfg.warmup); err != nil {
				return nil, err
			}
		}
	}
	res := map[*server][]series{}
	for _, sv := range servers {
		res[sv] = make([]series, len(mixes))
	}
	err := s.inTurn(servers, mixes, func(run int, sv *server, mi int) error {
		m := mixes[mi]
		w, err := s.wrk(ctx, sv, m, s.cfg.httpDuration)
		if err != nil {
			return err
		}
		s.log.Info(section, "server", sv.name, "mix", m.name, "run", run+1, "req/s", w.rps, "p50_ms", w.p50, "p99_ms", w.p99,
			"user_us", w.userUS, "kernel_us", w.kernelUS)
		r := &res[sv][mi]
		r.rps, r.p50, r.p99 = append(r.rps, w.rps), append(r.p50, w.p50), append(r.p99, w.p99)
		r.user, r.kernel = append(r.user, w.userUS), append(r.kernel, w.kernelUS)
		return nil
	})
	return res, err
}

// inTurn calls measure cfg.runs times for each server and mix (by index),
// the servers in turn and rotated from run to run so that none always goes
// first.
func (s *setup) inTurn(servers []*server, mixes []mix, measure func(run int, sv *server, mi int) error) error {
	for run := 0; run < s.cfg.runs; run++ {
		for mi := range mixes {
			for i := range servers {
				if err := measure(run, servers[(i+run)%len(servers)], mi); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// ownLatencies runs closedloop as load runs wrk, and adds the p99 of the
// requests it sent to res.
func (s *setup) ownLatencies(ctx context.Context, servers []*server, mixes []mix, res map[*server][]series) error {
	return s.inTurn(servers, mixes, func(run int, sv *server, mi int) error {
		m := mixes[mi]
		args := s.pinned(1)(s.closedloopBin, "-url", sv.url, "-c", strconv.Itoa(s.cfg.conns), "-d", s.cfg.ownDuration.String())
		cmd := exec.CommandContext(ctx, args[0], append(args[1:], m.bodies...)...)
		cmd.Env = append(baseEnv(), "GOMAXPROCS=1") // one thread, as wrk -t1
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if sv.p.exited() {
			return sv.p.failure(fmt.Errorf("died under load"))
		}
		var r struct {
			P99          float64 `json:"p99_ms"`
			P99Corrected float64 `json:"p99_wrk_corrected_ms"` // logged, to compare with wrk's
		}
		if err == nil {
			err = json.Unmarshal(out, &r)
		}
		if err != nil {
			return fmt.Errorf("closedloop against %s (%s): %w: %s", sv.name, m.name, err, stderr.String())
		}
		s.log.Info("http, each request's own latency", "server", sv.name, "mix", m.name, "run", run+1, "p99_ms", r.P99,
			"p99_wrk_corrected_ms", r.P99Corrected)
		res[sv][mi].ownP99 = append(res[sv][mi].ownP99, r.P99)
		return nil
	})
}

// writeBody writes a request of the example's first n holdout rows to path.
func (s *setup) writeBody(path string, n int) error {
	b, err := s.ex.body(n)
	if err != nil {
		return err
	}
	return os.WriteFile(path, b, 0o644)
}

// Variants of the example bundle's prediction log, beside the default
// (every prediction logged): off, to show what the log costs, and sampled,
// to show what prediction_log.sample_rate saves.
const (
	logOffSetting  = "disabled: true"
	sampledSetting = "sample_rate: 0.1"
	sampledName    = "prediction log on, 10% sampled"
)

// bundleWithLog is a copy of the example bundle with one more
// prediction_log setting; both sections ask for the same copies.
func (s *setup) bundleWithLog(setting string) (string, error) {
	dir := filepath.Join(s.tmp, "bundle-"+strings.NewReplacer(":", "", " ", "-").Replace(setting))
	if _, err := os.Stat(dir); err == nil {
		return dir, nil
	}
	if err := os.CopyFS(dir, os.DirFS(s.bundle)); err != nil {
		return "", err
	}
	yaml := filepath.Join(dir, "modelfn.yaml")
	b, err := os.ReadFile(yaml)
	if err != nil {
		return "", err
	}
	changed := strings.Replace(string(b), "\nprediction_log:\n", "\nprediction_log:\n  "+setting+"\n", 1)
	if changed == string(b) {
		return "", fmt.Errorf("%s: no prediction_log section to change", yaml)
	}
	return dir, os.WriteFile(yaml, []byte(changed), 0o644)
}

func repeat(s string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = s
	}
	return out
}

// pinned prefixes a command with taskset so it runs on one core, when the
// machine has two or more and taskset is there; otherwise it runs free.
func (s *setup) pinned(cpu int) func(argv ...string) []string {
	return func(argv ...string) []string {
		if s.taskset == "" {
			return argv
		}
		return append([]string{s.taskset, "-c", strconv.Itoa(cpu)}, argv...)
	}
}

func (s *setup) startModelfnServer(ctx context.Context, pin func(...string) []string, bundle string) (*server, error) {
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	data, err := os.MkdirTemp(s.tmp, "serve-")
	if err != nil {
		return nil, err
	}
	// One worker: GOMAXPROCS=1, as uvicorn runs one Python thread.
	argv := append([]string{s.modelfnBin, "serve", "--bundle", bundle, "--addr", addr, "--data", data}, s.profileArgs("--cpu-profile")...)
	p, err := startProc("modelfn serve", s.root, []string{"GOMAXPROCS=1"}, pin(argv...)...)
	if err != nil {
		return nil, err
	}
	sv := &server{name: "modelfn", url: "http://" + addr + "/predict", p: p}
	return sv, s.waitServing(ctx, sv)
}

// startModelfnWithLog starts modelfn serve on core 0 with one more
// prediction_log setting (see bundleWithLog).
func (s *setup) startModelfnWithLog(ctx context.Context, setting string) (*server, error) {
	bundle, err := s.bundleWithLog(setting)
	if err != nil {
		return nil, err
	}
	sv, err := s.startModelfnServer(ctx, s.pinned(0), bundle)
	if err != nil {
		return nil, err
	}
	sv.name = "modelfn, " + setting
	return sv, nil
}

// startUvicorn starts the FastAPI app on core 0, logging every prediction
// into logDir unless it is "".
func (s *setup) startUvicorn(ctx context.Context, logDir string) (*server, error) {
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	name, env := "fastapi", []string{"OMP_NUM_THREADS=1", "MODELFN_MODEL=" + filepath.Join(s.ex.dir, "model.json")}
	if logDir != "" {
		if err := os.MkdirAll(logDir, 0o755); err != nil {
			return nil, err
		}
		name, env = "fastapi, logging", append(env, "MODELFN_LOG_DIR="+logDir)
	}
	host, port, _ := strings.Cut(addr, ":")
	p, err := startProc(name, s.root, env,
		s.pinned(0)(s.python, "-m", "uvicorn", "app:app", "--app-dir", filepath.Join(s.root, "testing", "compare", "py"),
			"--host", host, "--port", port, "--workers", "1", "--no-access-log", "--log-level", "warning")...)
	if err != nil {
		return nil, err
	}
	sv := &server{name: name, url: "http://" + addr + "/predict", p: p}
	return sv, s.waitServing(ctx, sv)
}

// pythonLogRecords counts the records of a Python side's prediction log
// (gzipped JSON lines, dir/part-*.json.gz), checking each is JSON with an
// id: a comparison with the log on both sides holds only if it logged.
func pythonLogRecords(dir string) (int, error) {
	parts, err := filepath.Glob(filepath.Join(dir, "part-*.json.gz"))
	if err != nil || len(parts) == 0 {
		return 0, fmt.Errorf("%s: no part-*.json.gz (%v)", dir, err)
	}
	total := 0
	for _, part := range parts {
		n, err := logPartRecords(part)
		total += n
		if err != nil {
			return total, fmt.Errorf("%s: %w", part, err)
		}
	}
	return total, nil
}

func logPartRecords(path string) (int, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		return 0, err
	}
	sc := bufio.NewScanner(zr)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	n := 0
	for sc.Scan() {
		if !json.Valid(sc.Bytes()) || !bytes.Contains(sc.Bytes(), []byte(`"id":"`)) {
			return n, fmt.Errorf("line %d is not a JSON record with an id: %.80q", n+1, sc.Bytes())
		}
		n++
	}
	return n, sc.Err()
}

// waitServing polls until the server answers a one-row request.
func (s *setup) waitServing(ctx context.Context, sv *server) error {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	one, err := s.ex.body(1)
	if err != nil {
		return err
	}
	err = poll(ctx, sv.p, 20*time.Millisecond, func() (bool, error) {
		status, _, err := post(ctx, sv.url, one)
		return err == nil && status == http.StatusOK, nil
	})
	if err != nil {
		sv.p.kill()
	}
	return err
}

// checkServer checks a 100-row answer against xgboost's probabilities.
func (s *setup) checkServer(ctx context.Context, sv *server) error {
	b, err := s.ex.body(100)
	if err != nil {
		return err
	}
	status, answer, err := post(ctx, sv.url, b)
	if err != nil {
		return sv.p.failure(err)
	}
	if status != http.StatusOK {
		return sv.p.failure(fmt.Errorf("100-row request: status %d: %.300s", status, answer))
	}
	if err := s.ex.checkAnswer(answer, 100); err != nil {
		return sv.p.failure(err)
	}
	return nil
}

func post(ctx context.Context, url string, body []byte) (int, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, b, err
}

func logStats(ctx context.Context, mf *server) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimSuffix(mf.url, "/predict")+"/modelfn/stats", nil)
	if err != nil {
		return "", err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	var st struct {
		Log struct {
			Logged, Written, Dropped, Buffered, Objects, WriteErrors int64
		} `json:"prediction_log"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
		return "", fmt.Errorf("modelfn stats: %w", err)
	}
	l := st.Log
	if l.Logged == 0 {
		return "", fmt.Errorf("modelfn stats: the prediction log recorded nothing: is it on?")
	}
	return fmt.Sprintf("%d records logged, %d written in %d objects, %d buffered, %d dropped, %d write errors",
		l.Logged, l.Written, l.Objects, l.Buffered, l.Dropped, l.WriteErrors), nil
}

// wrkResult is what one wrk run measured, and the server's CPU time per
// request meanwhile.
type wrkResult struct {
	rps, p50, p99    float64 // requests/s, milliseconds
	requests         float64 // answered in the run
	userUS, kernelUS float64 // µs a request (see serverCPU); 0 when the server is not pinned
}

var (
	wrkRPS     = regexp.MustCompile(`(?m)^Requests/sec:\s+([0-9.]+)`)
	wrkPct     = regexp.MustCompile(`(?m)^\s+(50|99)%\s+([0-9.]+)(us|ms|s)\s*$`)
	wrkReqs    = regexp.MustCompile(`(?m)^\s+(\d+) requests in `)
	wrkNon2xx  = regexp.MustCompile(`(?m)Non-2xx or 3xx responses:\s+(\d+)`)
	wrkSockErr = regexp.MustCompile(`(?m)Socket errors:.*`)
)

func (s *setup) wrk(ctx context.Context, sv *server, m mix, d time.Duration) (wrkResult, error) {
	args := s.pinned(1)(s.wrkBin, "-t1", "-c"+strconv.Itoa(s.cfg.conns), "-d"+d.String(), "--latency",
		"-s", filepath.Join(s.root, "testing", "compare", "wrk", "post.lua"), sv.url, "--")
	args = append(args, m.bodies...)
	cmd := exec.CommandContext(ctx, args[0], args[1:]...)
	before, cpuErr := s.serverCPU(sv)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return wrkResult{}, fmt.Errorf("wrk against %s: %w\n%s", sv.name, err, out)
	}
	after, err := s.serverCPU(sv)
	if sv.p.exited() {
		return wrkResult{}, sv.p.failure(fmt.Errorf("died under load"))
	}
	if cpuErr = errors.Join(cpuErr, err); cpuErr != nil {
		return wrkResult{}, fmt.Errorf("%s's CPU time: %w", sv.name, cpuErr)
	}
	r, err := parseWrk(string(out))
	if err != nil {
		return r, fmt.Errorf("wrk against %s (%s): %w", sv.name, m.name, err)
	}
	if s.taskset != "" {
		r.userUS = (after.user - before.user) * usPerTick / r.requests
		r.kernelUS = (after.sys - before.sys) * usPerTick / r.requests
	}
	return r, nil
}

// cpuTicks is a process's user and system CPU time, in clock ticks.
type cpuTicks struct{ user, sys float64 }

// usPerTick: Linux counts these times in USER_HZ ticks, 100 a second.
const usPerTick = 1e6 / 100

// serverCPU reads the server's CPU time from /proc. Its system time holds
// the loopback work its writes do (delivering each response to wrk's
// socket, as softirq work in its context): the kernel's ticks land on
// whatever task is current, and the server is the only busy one on its
// core. Nothing is read when the server is not pinned.
func (s *setup) serverCPU(sv *server) (cpuTicks, error) {
	var t cpuTicks
	if s.taskset == "" {
		return t, nil
	}
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", sv.p.pid()))
	if err != nil {
		return t, err
	}
	// Fields after the command's closing parenthesis: state is the first,
	// utime the 12th and stime the 13th (proc(5): fields 3, 14 and 15).
	_, rest, _ := bytes.Cut(stat, []byte(") "))
	f := strings.Fields(string(rest))
	if len(f) < 13 {
		return t, fmt.Errorf("/proc/%d/stat: %q", sv.p.pid(), stat)
	}
	t.user, _ = strconv.ParseFloat(f[11], 64)
	t.sys, _ = strconv.ParseFloat(f[12], 64)
	return t, nil
}

// parseWrk reads requests/s and the 50th and 99th percentile latencies
// from wrk --latency's report, which must show no failed request.
func parseWrk(text string) (wrkResult, error) {
	var r wrkResult
	if mm := wrkRPS.FindStringSubmatch(text); mm != nil {
		r.rps, _ = strconv.ParseFloat(mm[1], 64)
	}
	if mm := wrkReqs.FindStringSubmatch(text); mm != nil {
		r.requests, _ = strconv.ParseFloat(mm[1], 64)
	}
	for _, mm := range wrkPct.FindAllStringSubmatch(text, -1) {
		v, _ := strconv.ParseFloat(mm[2], 64)
		v *= map[string]float64{"us": 1e-3, "ms": 1, "s": 1e3}[mm[3]]
		if mm[1] == "50" {
			r.p50 = v
		} else {
			r.p99 = v
		}
	}
	if r.rps == 0 || r.requests == 0 || r.p50 == 0 || r.p99 == 0 {
		return r, fmt.Errorf("cannot read the report:\n%s", text)
	}
	// Every answer must have been a 200 for the figure to count.
	if mm := wrkNon2xx.FindStringSubmatch(text); mm != nil {
		return r, fmt.Errorf("%s answers were not 2xx:\n%s", mm[1], text)
	}
	if mm := wrkSockErr.FindString(text); mm != "" {
		return r, fmt.Errorf("%s", strings.TrimSpace(mm))
	}
	return r, nil
}
