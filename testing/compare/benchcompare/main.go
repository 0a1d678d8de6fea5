// Command benchcompare is `make bench-compare`: modelfn against what a
// team would otherwise deploy, on the same machine in the same run, as one
// table of ratios (issue 8, "Side by side"):
//
//  1. HTTP predictions: modelfn serve against FastAPI + uvicorn + xgboost,
//     one worker each, wrk on loopback (then closedloop, for each
//     request's own p99 beside wrk's), 1-row, 100-row and mixed requests,
//     the prediction log off, on and sampled, against the app without a
//     log and (log on) logging every prediction too;
//  2. cold start to the first correct prediction: the Lambda bootstrap
//     under the Runtime Interface Emulator and modelfn serve, against a
//     Python process that imports xgboost, loads the model and predicts;
//  3. batch scoring of 100k, 1M and 10M-row CSVs from a file:// bucket,
//     prediction log on, off and sampled, against pandas + xgboost without
//     a log and (log on, up to 1M rows) logging every row too;
//  4. the drift report against scipy (testing/drift);
//  5. the ONNX runtime against onnxruntime (testing/onnx/benchcmp).
//
// Every answer is checked against xgboost's own probabilities
// (examples/breast-cancer/expected.json) before it counts. The table goes
// to stdout and, with the machine's description and every run's value, to
// -out (JSON) and the same name with .md.
//
//	go run ./testing/compare/benchcompare [-sections http,cold,batch,drift,onnx] [-wait-load 1.0]
//	go run ./testing/compare/benchcompare -sections floor -out testing/compare/results/floor.json
//	go run ./testing/compare/benchcompare -sections http,batch -pgo cmd/modelfn/default.pgo   # make pgo
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/modelfn/modelfn/providers/build"
	"github.com/modelfn/modelfn/testing/tools"
)

type config struct {
	sections     []string
	runs         int // short comparisons
	longRuns     int // batch scoring
	coldRuns     int
	httpDuration time.Duration
	warmup       time.Duration
	ownDuration  time.Duration // of one closedloop run
	conns        int
	sizes        []int
	driftRows    int
	driftCols    int
	waitLoad     float64
	waitMax      time.Duration
	out          string
	pgo          string
}

// setup is what the sections share: paths, built binaries, the example.
type setup struct {
	cfg                                     config
	root, tmp, bundle                       string
	python, wrkBin                          string
	rieBin, versitygwBin, taskset           string
	modelfnBin, batchBin, driftBin, onnxBin string
	floorBin, closedloopBin, goBin          string
	profiles                                string // -pgo: where modelfn processes write CPU profiles
	profileCount                            int
	ex                                      *example
	log                                     *slog.Logger
}

// Results is the JSON file's content.
type Results struct {
	Started  time.Time      `json:"started"`
	Finished time.Time      `json:"finished"`
	Machine  Machine        `json:"machine"`
	Load     Load           `json:"load_average"`
	Settings map[string]any `json:"settings"`
	Rows     []Row          `json:"rows"`
	Note     string         `json:"note"`
}

// Load is the 1-minute load average around the run.
type Load struct {
	Limit         float64 `json:"limit"`
	Quiet         bool    `json:"below_limit_at_start"`
	WaitedMinutes float64 `json:"waited_minutes"`
	Start         float64 `json:"start"`
	End           float64 `json:"end"`
}

func main() {
	var cfg config
	var sections, sizes string
	flag.StringVar(&sections, "sections", "http,cold,batch,drift,onnx", "comparisons to run, comma-separated")
	flag.IntVar(&cfg.runs, "runs", 5, "runs per figure for the short comparisons (HTTP, drift, ONNX)")
	flag.IntVar(&cfg.longRuns, "long-runs", 3, "runs per figure for batch scoring")
	flag.IntVar(&cfg.coldRuns, "cold-runs", 15, "cold starts per kind")
	flag.DurationVar(&cfg.httpDuration, "http-duration", 10*time.Second, "length of one wrk run")
	flag.DurationVar(&cfg.warmup, "warmup", 3*time.Second, "wrk warm-up per server and mix, not counted")
	flag.DurationVar(&cfg.ownDuration, "closedloop-duration", 5*time.Second, "length of one closedloop run (each request's own latency, after the wrk runs)")
	flag.IntVar(&cfg.conns, "connections", 16, "wrk's and closedloop's fixed concurrency")
	flag.StringVar(&sizes, "sizes", "100000,1000000,10000000", "batch file sizes in rows")
	flag.IntVar(&cfg.driftRows, "drift-rows", 1_000_000, "rows per table in the drift comparison")
	flag.IntVar(&cfg.driftCols, "drift-cols", 20, "features in the drift comparison")
	flag.Float64Var(&cfg.waitLoad, "wait-load", 0, "first wait until the 1-minute load average is below this (0: don't wait)")
	flag.DurationVar(&cfg.waitMax, "wait-max", time.Hour, "longest wait for that")
	render := flag.String("render", "", "print the table of an earlier results file (JSON) instead of measuring")
	flag.StringVar(&cfg.pgo, "pgo", "", "also write the modelfn processes' CPU profiles, merged, to this file (make pgo: "+build.PGOFile+")")
	flag.StringVar(&cfg.out, "out", "testing/compare/results/latest.json", "results file (JSON; the table goes beside it as .md); \"\" for none")
	flag.Parse()
	cfg.sections = strings.Split(sections, ",")
	for _, f := range strings.Split(sizes, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n <= 0 {
			fmt.Fprintf(os.Stderr, "-sizes: %q is not a row count\n", f)
			os.Exit(2)
		}
		cfg.sizes = append(cfg.sizes, n)
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	if *render != "" {
		if err := renderFile(*render); err != nil {
			log.Error("bench-compare -render", "err", err)
			os.Exit(1)
		}
		return
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, cfg, log); err != nil {
		log.Error("bench-compare failed", "err", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, cfg config, log *slog.Logger) error {
	for _, sec := range cfg.sections {
		if !slices.Contains([]string{"http", "cold", "batch", "drift", "onnx", "floor"}, sec) {
			return fmt.Errorf("-sections: unknown %q (http, cold, batch, drift, onnx, floor)", sec)
		}
	}
	s, cleanup, err := prepare(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer cleanup()

	res := &Results{Load: Load{Limit: cfg.waitLoad, Quiet: true}, Note: "Only the ratios carry over to other machines."}
	if cfg.waitLoad > 0 {
		t0 := time.Now()
		if res.Load.Quiet, err = waitForQuiet(ctx, cfg.waitLoad, cfg.waitMax, log); err != nil {
			return err
		}
		res.Load.WaitedMinutes = time.Since(t0).Minutes()
	}
	res.Started, res.Load.Start = time.Now(), loadAverage()
	res.Machine = describeMachine(ctx, s.python)
	res.Settings = map[string]any{
		"sections": cfg.sections, "runs": cfg.runs, "batch_runs": cfg.longRuns, "cold_starts": cfg.coldRuns,
		"wrk":             map[string]any{"threads": 1, "connections": cfg.conns, "seconds": cfg.httpDuration.Seconds(), "warmup_seconds": cfg.warmup.Seconds()},
		"closedloop":      map[string]any{"connections": cfg.conns, "seconds": cfg.ownDuration.Seconds()},
		"pinned_to_cores": s.taskset != "", "batch_rows": cfg.sizes, "drift": []int{cfg.driftRows, cfg.driftCols},
	}
	log.Info("measuring", "load1", res.Load.Start, "sections", cfg.sections)
	steps := map[string]func(context.Context) ([]Row, error){
		"http": s.httpSection, "cold": s.coldSection, "batch": s.batchSection, "drift": s.driftSection, "onnx": s.onnxSection,
		"floor": s.floorSection,
	}
	for _, sec := range cfg.sections {
		log.Info("section", "name", sec)
		rows, err := steps[sec](ctx)
		if err != nil {
			return fmt.Errorf("%s: %w", sec, err)
		}
		res.Rows = append(res.Rows, rows...)
	}
	if cfg.pgo != "" {
		if err := s.mergeProfiles(ctx, cfg.pgo); err != nil {
			return err
		}
		log.Info("profile for go build written", "file", cfg.pgo)
	}
	res.Finished, res.Load.End = time.Now(), loadAverage()
	writeTable(os.Stdout, res)
	if cfg.out == "" {
		return nil
	}
	out := cfg.out
	if !filepath.IsAbs(out) {
		out = filepath.Join(s.root, out)
	}
	if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
		return err
	}
	b, err := json.MarshalIndent(res, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(out, append(b, '\n'), 0o644); err != nil {
		return err
	}
	md := strings.TrimSuffix(out, filepath.Ext(out)) + ".md"
	if err := writeTableFile(md, res); err != nil {
		return err
	}
	log.Info("results written", "json", out, "table", md)
	return nil
}

func writeTableFile(path string, res *Results) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	writeTable(f, res)
	return f.Close()
}

// renderFile rewrites the table beside a results file from its figures
// (after a change to the table's wording; nothing is measured) and prints it.
func renderFile(path string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	var res Results
	if err := json.Unmarshal(b, &res); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	writeTable(os.Stdout, &res)
	return writeTableFile(strings.TrimSuffix(path, filepath.Ext(path))+".md", &res)
}

// prepare finds the tools and builds the programs the chosen sections run.
func prepare(ctx context.Context, cfg config, log *slog.Logger) (*setup, func(), error) {
	root := tools.Root()
	tmp, err := os.MkdirTemp("", "modelfn-bench-compare-")
	if err != nil {
		return nil, nil, err
	}
	cleanup := func() { os.RemoveAll(tmp) }
	s := &setup{cfg: cfg, root: root, tmp: tmp, bundle: filepath.Join(root, "examples", "breast-cancer", "bundle"),
		python: "/usr/bin/python3", log: log}
	fail := func(err error) (*setup, func(), error) { cleanup(); return nil, nil, err }
	if s.ex, err = loadExample(root); err != nil {
		return fail(err)
	}
	if runtime.NumCPU() >= 2 {
		s.taskset, _ = exec.LookPath("taskset")
	}
	need := func(name, hint string) (string, error) {
		if p := tools.Path(name); p != "" {
			return p, nil
		}
		return "", fmt.Errorf("%s is not installed (%s)", name, hint)
	}
	on := func(sec string) bool { return slices.Contains(cfg.sections, sec) }
	if _, err := os.Stat(s.python); err != nil {
		return fail(fmt.Errorf("Debian's python3 with xgboost: %w (make tools-apt)", err))
	}
	type program struct {
		dst      *string
		pkg, dir string // dir: the module's, when not modelfn's
	}
	var builds []program
	if on("http") || on("cold") || on("floor") {
		builds = append(builds, program{dst: &s.modelfnBin, pkg: "./cmd/modelfn"})
	}
	if on("floor") { // its own module, so gnet is no dependency of modelfn
		builds = append(builds, program{dst: &s.floorBin, pkg: ".", dir: "testing/compare/floor"})
	}
	if on("http") {
		builds = append(builds, program{dst: &s.closedloopBin, pkg: "./testing/compare/closedloop"})
	}
	if on("http") || on("floor") {
		if s.wrkBin, err = need("wrk", "make tools-apt"); err != nil {
			return fail(err)
		}
	}
	if on("cold") {
		if s.rieBin, err = need("aws-lambda-rie", "make tools-aws-rie"); err != nil {
			return fail(err)
		}
		if s.versitygwBin, err = need("versitygw", "make tools-versitygw"); err != nil {
			return fail(err)
		}
	}
	if on("batch") {
		builds = append(builds, program{dst: &s.batchBin, pkg: "./testing/compare/batchscore"})
	}
	if on("drift") {
		builds = append(builds, program{dst: &s.driftBin, pkg: "./testing/drift/benchdrift"})
	}
	if on("onnx") {
		builds = append(builds, program{dst: &s.onnxBin, pkg: "./testing/onnx/benchcmp"})
	}
	if s.goBin, err = exec.LookPath("go"); err != nil {
		s.goBin = filepath.Join(runtime.GOROOT(), "bin", "go")
	}
	if cfg.pgo != "" {
		s.profiles = filepath.Join(tmp, "profiles")
		if err := os.Mkdir(s.profiles, 0o755); err != nil {
			return fail(err)
		}
	}
	for _, b := range builds {
		*b.dst = filepath.Join(tmp, "bin", filepath.Base(filepath.Join(b.dir, b.pkg)))
		log.Info("building", "pkg", b.pkg, "dir", b.dir)
		args := []string{"build", "-o", *b.dst}
		// modelfn's programs with the profile cmd/modelfn is built with, so
		// that each measures what a user's build runs.
		if b.dir == "" {
			args = append(args, "-pgo="+filepath.Join(root, build.PGOFile))
		}
		cmd := exec.CommandContext(ctx, s.goBin, append(args, b.pkg)...)
		cmd.Dir = filepath.Join(root, b.dir)
		if out, err := cmd.CombinedOutput(); err != nil {
			return fail(fmt.Errorf("go build %s: %w\n%s", b.pkg, err, out))
		}
	}
	return s, cleanup, nil
}
