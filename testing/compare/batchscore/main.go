// Command batchscore is modelfn's side of the batch comparison in
// `make bench-compare`: it scores one CSV object with the batch function
// (functions/batch Scorer.Score) from a file:// bucket into the same
// bucket, as `modelfn serve` and the cloud adapters call it, and prints
// what it did as JSON, its peak RSS included.
//
//	batchscore -bundle examples/breast-cancer/bundle -bucket DIR -key input/rows.csv [-log=false]
//
// With -log (the default, as deployed) every row is also written to the
// prediction log under DIR/predictions/; -log=false shows what that costs.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"
	"syscall"
	"time"

	_ "gocloud.dev/blob/fileblob" // file:// buckets

	"github.com/modelfn/modelfn/functions"
)

// report is what one run printed.
type report struct {
	Rows       int64   `json:"rows"`
	Scored     int64   `json:"scored"`
	Failed     int64   `json:"failed"`
	LogObjects int     `json:"log_objects"`
	Output     string  `json:"output"`
	Seconds    float64 `json:"seconds"`     // Score alone: read, score, write
	CPUSeconds float64 `json:"cpu_seconds"` // the process's, over the same span
	GOMAXPROCS int     `json:"gomaxprocs"`
	PeakRSSMB  float64 `json:"peak_rss_mb"` // VmHWM, from start to the end of the run
}

func main() {
	bundleDir := flag.String("bundle", "examples/breast-cancer/bundle", "bundle folder")
	dir := flag.String("bucket", "", "folder of the file:// bucket holding input/")
	key := flag.String("key", "", "the input object's key, e.g. input/rows.csv")
	logOn := flag.Bool("log", true, "write the prediction log (the default when deployed)")
	cpuProfile := flag.String("cpu-profile", "", "write a CPU profile of the run to this file (as modelfn --cpu-profile; make pgo)")
	flag.Parse()
	if err := profiled(*cpuProfile, func() error {
		rep, err := run(context.Background(), *bundleDir, *dir, *key, *logOn)
		if err != nil {
			return err
		}
		return json.NewEncoder(os.Stdout).Encode(rep)
	}); err != nil {
		fmt.Fprintln(os.Stderr, "batchscore:", err)
		os.Exit(1)
	}
}

// profiled runs f, under a CPU profile written to path unless path is "".
func profiled(path string, f func() error) error {
	if path == "" {
		return f()
	}
	out, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := pprof.StartCPUProfile(out); err != nil {
		out.Close()
		return err
	}
	err = f()
	pprof.StopCPUProfile()
	return errors.Join(err, out.Close())
}

func run(ctx context.Context, bundleDir, dir, key string, logOn bool) (report, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return report{}, err
	}
	// As providers/local opens its data folder: temporary files beside
	// their final name, no metadata sidecars.
	store := (&url.URL{Scheme: "file", Path: filepath.ToSlash(abs), RawQuery: "no_tmp_dir=1&metadata=skip"}).String()
	quiet := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	app, err := functions.New(ctx, functions.Config{Bundle: bundleDir, LogURL: store, BatchURL: store}, quiet)
	if err != nil {
		return report{}, err
	}
	defer app.Close(ctx)
	if app.Batch == nil {
		return report{}, fmt.Errorf("bundle %s: batch is not configured", bundleDir)
	}
	sc := *app.Batch
	if !logOn {
		sc.LogBucket, sc.LogPrefix, sc.Encoder = nil, "", nil
	} else if sc.LogBucket == nil {
		return report{}, fmt.Errorf("bundle %s turns the prediction log off; -log=false measures that", bundleDir)
	}
	cpu0 := cpuSeconds()
	start := time.Now()
	res, err := sc.Score(ctx, key)
	secs := time.Since(start).Seconds()
	cpu := cpuSeconds() - cpu0
	if err != nil {
		return report{}, err
	}
	rss, err := peakRSS()
	if err != nil {
		return report{}, err
	}
	return report{Rows: res.Rows, Scored: res.Scored, Failed: res.Failed, LogObjects: res.LogKeys, Output: res.Output,
		Seconds: secs, CPUSeconds: cpu, GOMAXPROCS: runtime.GOMAXPROCS(0), PeakRSSMB: rss}, nil
}

// peakRSS is this process's peak resident set in MB: VmHWM, which starts
// afresh at exec. (wait4's ru_maxrss does not: Linux carries the parent's
// peak over the exec, so a child of a 100 MB driver never reports less.)
func peakRSS() (float64, error) {
	status, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(status), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, err := strconv.ParseFloat(strings.TrimSpace(strings.TrimSuffix(v, "kB")), 64)
			return kb / 1024, err
		}
	}
	return 0, errors.New("/proc/self/status has no VmHWM")
}

func cpuSeconds() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return float64(ru.Utime.Nano()+ru.Stime.Nano()) / 1e9
}
