// Command benchdrift times one full drift report over reference and current
// tables of -rows rows × -cols numeric features (normal values, the current
// shifted in every other column) and prints seconds and memory as JSON; the
// same computation as testing/drift/compare_scipy.py: KS with p-value,
// normalised Wasserstein, PSI and Jensen-Shannon on Evidently's bins, per
// column, plus everything else a report holds (data quality, plots).
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"runtime"
	"syscall"
	"time"

	"github.com/modelfn/modelfn/drift"
)

// usage is the process's peak RSS in MB and CPU seconds so far.
func usage() (rssMB, cpu float64) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return -1, -1
	}
	return float64(ru.Maxrss) / 1024, // kilobytes on Linux
		float64(ru.Utime.Nano()+ru.Stime.Nano()) / 1e9
}

func table(rows, cols int, seed uint64, shift float64) *drift.Data {
	rng := rand.New(rand.NewPCG(seed, 99))
	d := &drift.Data{Columns: make([]drift.Column, cols), Nums: make([][]float64, cols)}
	for j := 0; j < cols; j++ {
		d.Columns[j] = drift.Column{Name: fmt.Sprintf("f%02d", j)}
		s := 0.0
		if j%2 == 1 {
			s = shift
		}
		x := make([]float64, rows)
		for i := range x {
			x[i] = rng.NormFloat64() + s
		}
		d.Nums[j] = x
	}
	return d
}

func main() {
	rows := flag.Int("rows", 1_000_000, "rows per table")
	cols := flag.Int("cols", 20, "numeric features")
	flag.Parse()
	ref, cur := table(*rows, *cols, 1, 0), table(*rows, *cols, 2, 0.05)
	runtime.GC()
	before, cpu0 := usage()
	start := time.Now()
	rep := drift.CompareData(ref, cur, drift.Config{Method: drift.MethodWasserstein,
		Also: []string{drift.MethodKS, drift.MethodPSI, drift.MethodJS}})
	secs := time.Since(start).Seconds()
	after, cpu1 := usage()
	out := map[string]any{"impl": "go", "rows": *rows, "cols": *cols, "seconds": secs, "cpu_seconds": cpu1 - cpu0,
		"peak_rss_mb": after, "extra_rss_mb": after - before, "drifted": rep.Dataset.DriftedColumns,
		"gomaxprocs": runtime.GOMAXPROCS(0)}
	if err := json.NewEncoder(os.Stdout).Encode(out); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
