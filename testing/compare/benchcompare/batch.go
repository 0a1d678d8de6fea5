package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// Batch scoring: a CSV of N rows (the holdout's rows, cycled) from a
// file:// bucket into the same bucket with modelfn's batch function,
// prediction log on, off and sampled, against pandas + xgboost reading and
// writing the same folder, without a log and, up to pandasLogMaxRows, with
// one. Each run is its own process and reports its own peak RSS (VmHWM:
// wait4's ru_maxrss would carry this driver's over).

// pandasLogMaxRows bounds the sizes pandas also logs at: a logging run
// takes about twice as long, and at 10M rows that is some 8 minutes a run.
const pandasLogMaxRows = 1_000_000

type batchRun struct {
	rowsPerSec, rssMB, cpuSec float64
}

// A batchSide is one of the programs compared, run once per call.
type batchSide struct {
	name string
	run  func() (batchRun, error)
}

func (s *setup) batchSection(ctx context.Context) ([]Row, error) {
	bucket := filepath.Join(s.tmp, "bucket")
	const (
		against = againstPandas
		logOn   = "modelfn, prediction log on"
		logOff  = "modelfn, prediction log off"
		sampled = "modelfn, " + sampledName
		pandas  = "pandas"
		logged  = "pandas, logging"
	)
	sampledBundle, err := s.bundleWithLog(sampledSetting)
	if err != nil {
		return nil, err
	}
	var rows []Row
	for _, n := range s.cfg.sizes {
		key := fmt.Sprintf("input/rows-%d.csv", n)
		in := filepath.Join(bucket, filepath.FromSlash(key))
		if err := s.ex.writeCSV(in, n); err != nil {
			return nil, err
		}
		sides := []batchSide{
			{logOn, func() (batchRun, error) { return s.batchModelfn(ctx, s.bundle, bucket, key, n, true) }},
			{logOff, func() (batchRun, error) { return s.batchModelfn(ctx, s.bundle, bucket, key, n, false) }},
			{sampled, func() (batchRun, error) { return s.batchModelfn(ctx, sampledBundle, bucket, key, n, true) }},
			{pandas, func() (batchRun, error) { return s.batchPandas(ctx, in, n, false) }},
		}
		if n <= pandasLogMaxRows {
			sides = append(sides, batchSide{logged, func() (batchRun, error) { return s.batchPandas(ctx, in, n, true) }})
		}
		res := map[string][]batchRun{}
		for run := 0; run < s.cfg.longRuns; run++ {
			for i := range sides {
				side := sides[(i+run)%len(sides)]
				r, err := side.run()
				if err != nil {
					return nil, fmt.Errorf("batch %d rows, %s: %w", n, side.name, err)
				}
				s.log.Info("batch", "rows", n, "side", side.name, "run", run+1, "rows/s", r.rowsPerSec, "peak_rss_mb", r.rssMB, "cpu_s", r.cpuSec)
				res[side.name] = append(res[side.name], r)
			}
		}
		if err := os.Remove(in); err != nil {
			return nil, err
		}
		fig := func(side, what string) Figure {
			var v []float64
			for _, r := range res[side] {
				v = append(v, map[string]float64{"rows/s": r.rowsPerSec, "MB": r.rssMB, "s": r.cpuSec}[what])
			}
			return newFigure(what, v)
		}
		size := commas(int64(n)) + " rows"
		rows = append(rows,
			compare("batch", size+": rows/s, log on", against, fig(logOn, "rows/s"), fig(pandas, "rows/s"), true, 10, "≥ 10×"),
			compare("batch", size+": rows/s, log off", against, fig(logOff, "rows/s"), fig(pandas, "rows/s"), true, 10, "≥ 10×"),
			compare("batch", size+": rows/s, "+sampledName, against, fig(sampled, "rows/s"), fig(pandas, "rows/s"), true, 10, "≥ 10×"),
			compare("batch", size+": peak RSS, log on", against, fig(logOn, "MB"), fig(pandas, "MB"), false, 0, ""),
			compare("batch", size+": peak RSS, log off", against, fig(logOff, "MB"), fig(pandas, "MB"), false, 0, ""),
			compare("batch", size+": CPU time, log on", against, fig(logOn, "s"), fig(pandas, "s"), false, 0, ""),
		)
		if n <= pandasLogMaxRows {
			rows = append(rows,
				compare("batch", size+": rows/s, log on both sides (the same work)", againstPandasLog, fig(logOn, "rows/s"), fig(logged, "rows/s"), true, 10, "≥ 10×"),
				compare("batch", size+": peak RSS, log on both sides", againstPandasLog, fig(logOn, "MB"), fig(logged, "MB"), false, 0, ""))
		}
	}
	return rows, nil
}

// writeCSV writes the holdout's header and n data rows, cycling its rows.
func (e *example) writeCSV(path string, n int) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := bufio.NewWriterSize(f, 1<<20)
	w.WriteString(strings.Join(e.header, ",") + "\n")
	for i := 0; i < n; i++ {
		w.WriteString(e.lines[i%len(e.lines)])
		w.WriteByte('\n')
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func (s *setup) batchModelfn(ctx context.Context, bundle, bucket, key string, n int, logOn bool) (batchRun, error) {
	defer func() {
		for _, d := range []string{"output", "errors", "predictions"} {
			os.RemoveAll(filepath.Join(bucket, d))
		}
	}()
	args := append([]string{"-bundle", bundle, "-bucket", bucket, "-key", key, "-log=" + strconv.FormatBool(logOn)}, s.profileArgs("-cpu-profile")...)
	cmd := exec.CommandContext(ctx, s.batchBin, args...)
	cmd.Env = baseEnv()
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return batchRun{}, fmt.Errorf("batchscore: %w: %s", err, stderr.String())
	}
	var rep struct {
		Rows, Scored, Failed int64
		LogObjects           int     `json:"log_objects"`
		Output               string  `json:"output"`
		Seconds              float64 `json:"seconds"`
		CPUSeconds           float64 `json:"cpu_seconds"`
		PeakRSSMB            float64 `json:"peak_rss_mb"`
	}
	if err := json.Unmarshal(out, &rep); err != nil {
		return batchRun{}, fmt.Errorf("batchscore printed %q: %w", out, err)
	}
	if rep.Rows != int64(n) || rep.Scored != int64(n) || rep.Failed != 0 {
		return batchRun{}, fmt.Errorf("batchscore: %d rows read, %d scored, %d failed; want %d scored", rep.Rows, rep.Scored, rep.Failed, n)
	}
	if logOn != (rep.LogObjects > 0) {
		return batchRun{}, fmt.Errorf("batchscore -log=%v wrote %d prediction-log objects", logOn, rep.LogObjects)
	}
	if err := s.ex.checkCSV(filepath.Join(bucket, filepath.FromSlash(rep.Output))); err != nil {
		return batchRun{}, fmt.Errorf("modelfn output: %w", err)
	}
	return batchRun{rowsPerSec: float64(n) / rep.Seconds, rssMB: rep.PeakRSSMB, cpuSec: rep.CPUSeconds}, nil
}

// batchPandas runs batch_pandas.py on in, with its prediction log when
// logOn, and checks its output (and log).
func (s *setup) batchPandas(ctx context.Context, in string, n int, logOn bool) (batchRun, error) {
	dst, logDir := filepath.Join(s.tmp, "pandas-out.csv"), filepath.Join(s.tmp, "pandas-log")
	defer os.Remove(dst)
	defer os.RemoveAll(logDir)
	args := []string{filepath.Join(s.root, "testing", "compare", "py", "batch_pandas.py"), filepath.Join(s.ex.dir, "model.json"), in, dst}
	if logOn {
		if err := os.MkdirAll(logDir, 0o755); err != nil {
			return batchRun{}, err
		}
		args = append(args, logDir)
	}
	cmd := exec.CommandContext(ctx, s.python, args...)
	cmd.Env = baseEnv()
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return batchRun{}, fmt.Errorf("batch_pandas.py: %w: %s", err, stderr.String())
	}
	var rep struct {
		Rows       int64   `json:"rows"`
		Seconds    float64 `json:"seconds"`
		CPUSeconds float64 `json:"cpu_seconds"`
		PeakRSSMB  float64 `json:"peak_rss_mb"`
	}
	if err := json.Unmarshal(out, &rep); err != nil {
		return batchRun{}, fmt.Errorf("batch_pandas.py printed %q: %w", out, err)
	}
	if rep.Rows != int64(n) {
		return batchRun{}, fmt.Errorf("batch_pandas.py scored %d rows, want %d", rep.Rows, n)
	}
	if err := s.ex.checkCSV(dst); err != nil {
		return batchRun{}, fmt.Errorf("pandas output: %w", err)
	}
	if logOn {
		if logged, err := pythonLogRecords(logDir); err != nil || logged != n {
			return batchRun{}, fmt.Errorf("pandas' prediction log: %d records, want %d (%v)", logged, n, err)
		}
	}
	return batchRun{rowsPerSec: float64(n) / rep.Seconds, rssMB: rep.PeakRSSMB, cpuSec: rep.CPUSeconds}, nil
}

// checkCSV checks the probability columns of a scored file's first
// holdout-sized stretch of rows against xgboost's.
func (e *example) checkCSV(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	if !sc.Scan() {
		return fmt.Errorf("%s: empty", path)
	}
	header := strings.Split(sc.Text(), ",")
	pm, pb := slices.Index(header, "probability_malignant"), slices.Index(header, "probability_benign")
	if pm < 0 || pb < 0 {
		return fmt.Errorf("%s: no probability columns in %v", path, header)
	}
	for i := 0; i < len(e.expected) && sc.Scan(); i++ {
		f := strings.Split(sc.Text(), ",")
		if len(f) != len(header) {
			return fmt.Errorf("%s: line %d has %d fields, the header %d", path, i+2, len(f), len(header))
		}
		m, err1 := strconv.ParseFloat(f[pm], 64)
		b, err2 := strconv.ParseFloat(f[pb], 64)
		if err1 != nil || err2 != nil {
			return fmt.Errorf("%s: line %d: %v %v", path, i+2, err1, err2)
		}
		if err := e.checkRow(i, m, b); err != nil {
			return fmt.Errorf("%s: line %d: %w", path, i+2, err)
		}
	}
	return sc.Err()
}
