package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// The comparisons other areas own, run here so their figures land in the
// same table from the same run: testing/drift (benchdrift against
// compare_scipy.py, as `make bench-drift` runs them) and
// testing/onnx/benchcmp (`make bench-onnx`).

func (s *setup) driftSection(ctx context.Context) ([]Row, error) {
	rows, cols := fmt.Sprint(s.cfg.driftRows), fmt.Sprint(s.cfg.driftCols)
	type result struct {
		Seconds    float64 `json:"seconds"`
		CPUSeconds float64 `json:"cpu_seconds"`
		PeakRSSMB  float64 `json:"peak_rss_mb"`
		ExtraRSSMB float64 `json:"extra_rss_mb"`
		Drifted    int     `json:"drifted"`
	}
	runOne := func(name string, argv ...string) (result, error) {
		var r result
		var stderr bytes.Buffer
		cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
		cmd.Dir, cmd.Env, cmd.Stderr = s.root, baseEnv(), &stderr
		out, err := cmd.Output()
		if err != nil {
			return r, fmt.Errorf("%s: %w: %s", name, err, stderr.String())
		}
		if err := json.Unmarshal(out, &r); err != nil {
			return r, fmt.Errorf("%s printed %q: %w", name, out, err)
		}
		return r, nil
	}
	var goR, pyR []result
	for run := 0; run < s.cfg.runs; run++ {
		g, err := runOne("testing/drift/benchdrift", s.driftBin, "-rows", rows, "-cols", cols)
		if err != nil {
			return nil, err
		}
		p, err := runOne("testing/drift/compare_scipy.py", s.python, filepath.Join(s.root, "testing", "drift", "compare_scipy.py"), rows, cols)
		if err != nil {
			return nil, err
		}
		if g.Drifted != p.Drifted {
			return nil, fmt.Errorf("drift: Go finds %d drifted columns, scipy %d", g.Drifted, p.Drifted)
		}
		s.log.Info("drift", "run", run+1, "go_s", g.Seconds, "scipy_s", p.Seconds)
		goR, pyR = append(goR, g), append(pyR, p)
	}
	fig := func(rs []result, unit string, pick func(result) float64) Figure {
		var v []float64
		for _, r := range rs {
			v = append(v, pick(r))
		}
		return newFigure(unit, v)
	}
	what := fmt.Sprintf("report over %s rows × %s features", commas(int64(s.cfg.driftRows)), cols)
	const against = againstScipy
	secs := func(r result) float64 { return r.Seconds }
	cpu := func(r result) float64 { return r.CPUSeconds }
	extra := func(r result) float64 { return r.ExtraRSSMB }
	out := []Row{
		compare("drift", what+": wall time", against, fig(goR, "s", secs), fig(pyR, "s", secs), false, 20, "≥ 20×"),
		compare("drift", what+": CPU time", against, fig(goR, "s", cpu), fig(pyR, "s", cpu), false, 0, ""),
		compare("drift", what+": memory added by the computation", against, fig(goR, "MB", extra), fig(pyR, "MB", extra), false, 1, "less"),
	}
	out[0].Note = "KS with p-value, normalised Wasserstein, PSI and Jensen-Shannon per column; modelfn's figure is the whole report"
	return out, nil
}

// benchcmp prints one line per case:
//
//	forest 100x depth 6         1       12.3µs          0          45.6µs    0.27x
var onnxLine = regexp.MustCompile(`^(.+?)\s+(\d+)\s+(\S+)\s+(\d+)\s+(\S+)\s+([0-9.]+)x$`)

func (s *setup) onnxSection(ctx context.Context) ([]Row, error) {
	type key struct{ model, batch string }
	var order []key
	mf, ort, allocs := map[key][]float64{}, map[key][]float64{}, map[key][]float64{}
	for run := 0; run < s.cfg.runs; run++ {
		var stderr bytes.Buffer
		cmd := exec.CommandContext(ctx, s.onnxBin)
		cmd.Dir, cmd.Env, cmd.Stderr = s.root, baseEnv(), &stderr
		out, err := cmd.Output()
		if err != nil {
			return nil, fmt.Errorf("testing/onnx/benchcmp: %w: %s", err, stderr.String())
		}
		n := 0
		for _, line := range strings.Split(string(out), "\n") {
			m := onnxLine.FindStringSubmatch(strings.TrimSpace(line))
			if m == nil {
				continue
			}
			a, err1 := time.ParseDuration(m[3])
			b, err2 := time.ParseDuration(m[5])
			if err1 != nil || err2 != nil {
				return nil, fmt.Errorf("testing/onnx/benchcmp: %q: %v %v", line, err1, err2)
			}
			k := key{m[1], m[2]}
			a2, _ := strconv.ParseFloat(m[4], 64)
			allocs[k] = append(allocs[k], a2)
			if run == 0 {
				order = append(order, k)
			}
			mf[k], ort[k] = append(mf[k], float64(a.Nanoseconds())/1e3), append(ort[k], float64(b.Nanoseconds())/1e3)
			n++
		}
		if n == 0 {
			return nil, fmt.Errorf("testing/onnx/benchcmp: no result lines in:\n%s", out)
		}
		s.log.Info("onnx", "run", run+1, "cases", n)
	}
	var rows []Row
	for _, k := range order {
		if len(mf[k]) != s.cfg.runs {
			return nil, fmt.Errorf("testing/onnx/benchcmp: case %v in %d of %d runs", k, len(mf[k]), s.cfg.runs)
		}
		rows = append(rows, compare("ONNX", fmt.Sprintf("%s, batch %s: time per batch (%s allocations)", k.model, k.batch, num(newFigure("", allocs[k]).Median)), againstORT,
			newFigure("µs", mf[k]), newFigure("µs", ort[k]), false, 1/1.5, "time ≤ 1.5× ORT"))
	}
	return rows, nil
}
