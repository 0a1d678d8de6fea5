package reliability

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"text/tabwriter"
	"time"

	"github.com/modelfn/modelfn/testing/example"
	"github.com/modelfn/modelfn/testing/tools"
)

// binary is the modelfn command, built once for the whole suite.
var binary string

// full runs every test at its full size (MODELFN_RELIABILITY=full, as
// `make reliability` does); otherwise the fast size `make test` runs.
var full = os.Getenv("MODELFN_RELIABILITY") == "full"

// sized is fast at the fast size and big at the full one.
func sized(fast, big int) int {
	if full {
		return big
	}
	return fast
}

// helperRole, when set in the environment, makes the test binary play a
// function instead of running tests (a process the tests can kill -9).
const helperRole = "MODELFN_RELIABILITY_ROLE"

func TestMain(m *testing.M) {
	if role := os.Getenv(helperRole); role != "" {
		os.Exit(runHelper(role))
	}
	// The in-process functions reach versitygw as Lambda reaches S3: with
	// credentials from the environment, and no instance metadata to ask.
	os.Setenv("AWS_ACCESS_KEY_ID", accessKey)
	os.Setenv("AWS_SECRET_ACCESS_KEY", secretKey)
	os.Setenv("AWS_REGION", region)
	os.Setenv("AWS_EC2_METADATA_DISABLED", "true")

	dir, err := os.MkdirTemp("", "modelfn-reliability")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binary = filepath.Join(dir, "modelfn")
	build := exec.Command("go", "build", "-o", binary, "./cmd/modelfn")
	build.Dir = tools.Root()
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "building modelfn:", err)
		os.Exit(1)
	}
	code := m.Run()
	printSummary(os.Stdout)
	os.RemoveAll(dir)
	os.Exit(code)
}

// ---- the summary table ----

type outcome struct {
	area, check, result, evidence string
}

var summary struct {
	sync.Mutex
	rows []*outcome
}

// report adds a row to the summary; its result is the test's, known when
// the test ends. evidence says what was measured.
func report(t *testing.T, area, check string, evidence *string) {
	o := &outcome{area: area, check: check}
	summary.Lock()
	summary.rows = append(summary.rows, o)
	summary.Unlock()
	t.Cleanup(func() {
		switch {
		case t.Skipped():
			o.result = "skip"
		case t.Failed():
			o.result = "FAIL"
		default:
			o.result = "pass"
		}
		o.evidence = *evidence
	})
}

// security rows point at the infra tests that already prove them.
var security = []outcome{
	{"security", "trivy config over each cloud's generated Terraform: no critical or high finding", "see infra", "infra/trivy_test.go TestTrivyFindsNoHighOrCritical (aws, gcp, azure)"},
	{"security", "AWS prediction endpoint needs IAM unless public = true", "see infra", "infra/aws_test.go TestAWSModule/prediction_endpoint_needs_IAM_unless_public"},
	{"security", "GCP predict has no allUsers invoker unless public = true", "see infra", "infra/gcp_test.go TestGCPModule/invokers:_no_allUsers_unless_public,_internal_triggers"},
	{"security", "Azure prediction needs a function key unless public = true", "see infra", "infra/azure_test.go TestAzureModule/prediction_needs_a_function_key_unless_public"},
}

func printSummary(w io.Writer) {
	summary.Lock()
	defer summary.Unlock()
	if len(summary.rows) == 0 {
		return
	}
	rows := append([]*outcome(nil), summary.rows...)
	sort.SliceStable(rows, func(i, j int) bool { return areaOrder(rows[i].area) < areaOrder(rows[j].area) })
	for i := range security {
		rows = append(rows, &security[i])
	}
	fmt.Fprintln(w, "\nmodelfn reliability summary")
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "AREA\tCHECK\tRESULT\tMEASURED")
	for _, o := range rows {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", o.area, o.check, o.result, o.evidence)
	}
	tw.Flush()
}

func areaOrder(a string) int {
	for i, x := range []string{"load", "crash", "storage", "hostile", "security"} {
		if a == x {
			return i
		}
	}
	return 99
}

// ---- the local server, as a user runs it ----

type server struct {
	t      *testing.T
	cmd    *exec.Cmd
	base   string // http://127.0.0.1:PORT
	data   string
	stderr *tools.SyncBuffer
	done   chan error
}

// startServer runs `modelfn -v serve` on data and waits until it is ready.
// The monitor and the watcher are scheduled far apart, so only predict
// works while a test runs.
func startServer(t *testing.T, data string) *server {
	t.Helper()
	addr := tools.FreeAddr(t)
	s := &server{t: t, base: "http://" + addr, data: data, stderr: &tools.SyncBuffer{}, done: make(chan error, 1)}
	s.cmd = exec.Command(binary, "-v", "serve", "--bundle", example.Bundle, "--addr", addr, "--data", data,
		"--monitor-every", "24h", "--watch-every", "1h")
	s.cmd.Stdout, s.cmd.Stderr = s.stderr, s.stderr
	s.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { s.done <- s.cmd.Wait() }()
	t.Cleanup(func() {
		if s.cmd.ProcessState == nil {
			s.cmd.Process.Kill()
			<-s.done
		}
	})
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case err := <-s.done:
			t.Fatalf("modelfn serve exited: %v\n%s", err, s.stderr.Tail(4000))
		default:
		}
		if resp, err := http.Get(s.base + "/v2/health/ready"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return s
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("modelfn serve not ready within 30s:\n%s", s.stderr.Tail(4000))
	return nil
}

// stop sends SIGTERM (a graceful stop) and waits for the exit.
func (s *server) stop() {
	s.t.Helper()
	s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-s.done:
		if err != nil {
			s.t.Fatalf("modelfn serve: %v\n%s", err, s.stderr.Tail(4000))
		}
	case <-time.After(time.Minute):
		s.cmd.Process.Kill()
		s.t.Fatalf("modelfn serve did not stop within a minute of SIGTERM:\n%s", s.stderr.Tail(4000))
	}
}

// kill sends SIGKILL and waits for the process to be gone.
func (s *server) kill() {
	s.cmd.Process.Signal(syscall.SIGKILL)
	<-s.done
}

// logStats reads GET /modelfn/stats.
func (s *server) logStats() (written, logged int64, err error) {
	resp, err := http.Get(s.base + "/modelfn/stats")
	if err != nil {
		return 0, 0, err
	}
	defer resp.Body.Close()
	var st struct {
		PredictionLog struct{ Written, Logged int64 } `json:"prediction_log"`
	}
	err = json.NewDecoder(resp.Body).Decode(&st)
	return st.PredictionLog.Written, st.PredictionLog.Logged, err
}

var flushedLine = regexp.MustCompile(`msg="prediction log flushed" key=("[^"]*"|\S+) records=(\d+)`)

// flushed lists the objects the server said it wrote (its debug log),
// with their record counts.
func (s *server) flushed() map[string]int {
	out := map[string]int{}
	for _, m := range flushedLine.FindAllStringSubmatch(s.stderr.String(), -1) {
		n, _ := strconv.Atoi(m[2])
		key := m[1]
		if k, err := strconv.Unquote(key); err == nil {
			key = k // slog quotes a value holding '='
		}
		out[key] = n
	}
	return out
}

// ---- the load generator ----

// requestBodies are /predict bodies built from the example's held-out
// rows: one row each, and every eighth with ten rows.
func requestBodies(t testing.TB) (bodies [][]byte, rows []int) {
	hold, _ := example.Holdout(t)
	for i := range hold {
		n := 1
		if i%8 == 7 {
			n = 10
		}
		var inst []map[string]float64
		for j := 0; j < n; j++ {
			inst = append(inst, hold[(i+j)%len(hold)])
		}
		b, err := json.Marshal(map[string]any{"instances": inst})
		if err != nil {
			t.Fatal(err)
		}
		bodies, rows = append(bodies, b), append(rows, n)
	}
	return bodies, rows
}

type loadResult struct {
	requests  int            // sent
	status    map[int]int    // answers by status
	failed    int            // no answer (connection refused or reset, timeout)
	answered  map[string]int // prediction ids answered with 200, each count 1
	duplicate int            // ids answered twice (never expected)
	elapsed   time.Duration
	lastErr   error
}

func (r *loadResult) count5xx() int {
	n := 0
	for st, c := range r.status {
		if st >= 500 {
			n += c
		}
	}
	return n
}

// load sends up to n requests with conc workers to base until ctx ends.
// onAnswer, if set, is called with the running count of answered rows.
func load(ctx context.Context, base string, n, conc int, bodies [][]byte, onAnswer func(rows int64)) *loadResult {
	client := &http.Client{
		Timeout:   30 * time.Second, // a hang is a failure, not a wait
		Transport: &http.Transport{MaxIdleConnsPerHost: conc, MaxConnsPerHost: conc, DisableCompression: true},
	}
	defer client.CloseIdleConnections()
	var (
		mu    sync.Mutex
		res   = &loadResult{status: map[int]int{}, answered: map[string]int{}}
		next  int
		total int64
		wg    sync.WaitGroup
	)
	start := time.Now()
	for w := 0; w < conc; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var ids []string
			for {
				mu.Lock()
				if next >= n || ctx.Err() != nil {
					mu.Unlock()
					return
				}
				i := next
				next++
				mu.Unlock()
				status, got, err := post(ctx, client, base+"/predict", bodies[i%len(bodies)], ids[:0])
				ids = got
				mu.Lock()
				res.requests++
				if err != nil {
					res.failed++
					res.lastErr = err
				} else {
					res.status[status]++
					for _, id := range ids {
						if res.answered[id]++; res.answered[id] == 2 {
							res.duplicate++
						}
					}
					total += int64(len(ids))
				}
				rows := total
				mu.Unlock()
				if onAnswer != nil && err == nil {
					onAnswer(rows)
				}
			}
		}()
	}
	wg.Wait()
	res.elapsed = time.Since(start)
	return res
}

func post(ctx context.Context, client *http.Client, url string, body []byte, ids []string) (int, []string, error) {
	req, err := http.NewRequestWithContext(ctx, "POST", url, bytes.NewReader(body))
	if err != nil {
		return 0, ids, err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		return 0, ids, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, ids, err
	}
	if resp.StatusCode != 200 {
		return resp.StatusCode, ids, nil
	}
	var out struct {
		Predictions []struct{ ID string } `json:"predictions"`
	}
	if err := json.Unmarshal(data, &out); err != nil {
		return resp.StatusCode, ids, fmt.Errorf("answer is not JSON: %w", err)
	}
	for _, p := range out.Predictions {
		ids = append(ids, p.ID)
	}
	return resp.StatusCode, ids, nil
}

// ---- the prediction log, read independently of predlog ----

type logContents struct {
	ids     map[string]int // record id -> how many times it is stored
	objects map[string]int // object key (relative to the data folder) -> records
	sources map[string]int
	stray   []string // files under predictions/ that are not log objects
}

// readLog reads every log object under data/predictions with
// compress/gzip and encoding/json.
func readLog(t testing.TB, data string) *logContents {
	t.Helper()
	lc := &logContents{ids: map[string]int{}, objects: map[string]int{}, sources: map[string]int{}}
	root := filepath.Join(data, "predictions")
	err := filepath.Walk(root, func(p string, info os.FileInfo, err error) error {
		if os.IsNotExist(err) && p == root {
			return filepath.SkipDir
		}
		if err != nil || info.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(data, p)
		rel = filepath.ToSlash(rel)
		if !strings.HasSuffix(p, ".jsonl.gz") {
			lc.stray = append(lc.stray, rel)
			return nil
		}
		raw, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		n, err := decodeLog(raw, func(id, source string) {
			lc.ids[id]++
			lc.sources[source]++
		})
		if err != nil {
			return fmt.Errorf("%s: %w", rel, err)
		}
		lc.objects[rel] = n
		return nil
	})
	if err != nil {
		t.Fatalf("reading the prediction log: %v", err)
	}
	return lc
}

// decodeLog calls fn for each record of a gzip JSON Lines object.
func decodeLog(raw []byte, fn func(id, source string)) (int, error) {
	zr, err := gzip.NewReader(bytes.NewReader(raw))
	if err != nil {
		return 0, err
	}
	dec := json.NewDecoder(zr)
	n := 0
	for {
		var r struct{ ID, Source string }
		err := dec.Decode(&r)
		if err == io.EOF {
			return n, nil
		}
		if err != nil {
			return n, err
		}
		if r.ID == "" {
			return n, fmt.Errorf("record %d has no id", n+1)
		}
		fn(r.ID, r.Source)
		n++
	}
}
