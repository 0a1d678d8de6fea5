// Package cli is the logic behind `modelfn drift`: read a reference and a
// current table (CSV or JSON Lines, optionally gzipped), compare them with
// drift.CompareData, add performance when a target and a prediction column
// are named, and write the report as JSON, text or HTML.
package cli

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
	"sort"
	"strconv"

	"github.com/modelfn/modelfn/drift"
	"github.com/modelfn/modelfn/drift/dataset"
	"github.com/modelfn/modelfn/drift/perf"
	"github.com/modelfn/modelfn/drift/render"
)

// Options are the command's flags.
type Options struct {
	Reference, Current string
	Format             string   // json (default), text or html
	Method             string   // "" or auto: per column
	Threshold          float64  // 0: the method's default
	Columns            []string // compare only these (target and prediction are added)
	Target             string   // label column: target drift, and performance with Prediction
	Prediction         string   // the model's output column: prediction drift
	DriftShare         float64  // 0: 0.5
	Out                string   // "" or "-": stdout
}

// Run executes the command, writing the report to Out or stdout.
func Run(ctx context.Context, o Options, stdout io.Writer) error {
	if o.Reference == "" || o.Current == "" {
		return fmt.Errorf("drift: --reference and --current are both required")
	}
	write, err := renderer(o.Format)
	if err != nil {
		return err
	}
	rep, err := Report(ctx, o)
	if err != nil {
		return err
	}
	if o.Out == "" || o.Out == "-" {
		return write(stdout, rep)
	}
	var buf bytes.Buffer
	if err := write(&buf, rep); err != nil {
		return err
	}
	if err := os.WriteFile(o.Out, buf.Bytes(), 0o644); err != nil {
		return fmt.Errorf("drift: write report: %w", err)
	}
	return nil
}

func renderer(format string) (func(io.Writer, *drift.Report) error, error) {
	switch format {
	case "", "json":
		return render.JSON, nil
	case "text":
		return render.Text, nil
	case "html":
		return render.HTML, nil
	}
	return nil, fmt.Errorf("drift: --format %q: want json, text or html", format)
}

// Report reads both tables and builds the report.
func Report(ctx context.Context, o Options) (*drift.Report, error) {
	cfg := drift.Config{Method: o.Method, Threshold: o.Threshold, DriftShare: o.DriftShare}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	refCols, err := dataset.Infer(o.Reference)
	if err != nil {
		return nil, err
	}
	curCols, err := dataset.Infer(o.Current)
	if err != nil {
		return nil, err
	}
	for _, name := range append(slices.Clone(o.Columns), o.Target, o.Prediction) {
		if name != "" && !slices.ContainsFunc(refCols, func(c drift.Column) bool { return c.Name == name }) {
			return nil, fmt.Errorf("drift: column %q is not in %s", name, o.Reference)
		}
	}
	if len(o.Columns) > 0 {
		cfg.Only = append(slices.Clone(o.Columns), o.Target, o.Prediction)
	}
	// The current table is read with the reference's kinds (text in a
	// numeric column is a type error); its own extra columns keep theirs.
	byName := map[string]drift.Column{}
	for i := range refCols {
		switch refCols[i].Name {
		case o.Target:
			refCols[i].Role = drift.Target
		case o.Prediction:
			refCols[i].Role = drift.Prediction
		}
		byName[refCols[i].Name] = refCols[i]
	}
	for i, c := range curCols {
		if rc, ok := byName[c.Name]; ok {
			curCols[i] = rc
		}
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	ref, err := dataset.Load(o.Reference, refCols)
	if err != nil {
		return nil, err
	}
	cur, err := dataset.Load(o.Current, curCols)
	if err != nil {
		return nil, err
	}
	var refPerf, curPerf perf.Accumulator
	if o.Target != "" && o.Prediction != "" {
		refPerf, curPerf, err = performance(ref, cur, o.Target, o.Prediction)
		if err != nil {
			return nil, err
		}
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	rep := drift.CompareData(ref, cur, cfg) // sorts numeric columns in place: performance was taken first
	if curPerf != nil {
		rep.Performance = drift.ComparePerformance(refPerf.Metrics(), curPerf, cfg.Performance)
	}
	return rep, nil
}

func column(d *drift.Data, name string) int {
	for i, c := range d.Columns {
		if c.Name == name {
			return i
		}
	}
	return -1
}

// cells returns a column as text labels and as numbers (NaN where not a number).
func cells(d *drift.Data, i int) ([]string, []float64) {
	if d.Nums[i] != nil {
		labels := make([]string, len(d.Nums[i]))
		for k, v := range d.Nums[i] {
			if !math.IsNaN(v) {
				labels[k] = strconv.FormatFloat(v, 'g', -1, 64)
			}
		}
		return labels, d.Nums[i]
	}
	nums := make([]float64, len(d.Strs[i]))
	for k, s := range d.Strs[i] {
		v, err := strconv.ParseFloat(s, 64)
		if err != nil {
			v = math.NaN()
		}
		nums[k] = v
	}
	return d.Strs[i], nums
}

// performance builds reference and current accumulators from the target
// and prediction columns. The task is classification when the target is
// categorical or has at most 20 distinct integer values in the reference,
// regression otherwise. For a binary target (positive class: the larger
// label) and a prediction in [0, 1], the prediction is the positive
// class's probability and the predicted label is score >= 0.5.
func performance(ref, cur *drift.Data, target, prediction string) (perf.Accumulator, perf.Accumulator, error) {
	rt, rp, ct, cp := column(ref, target), column(ref, prediction), column(cur, target), column(cur, prediction)
	if rt < 0 || rp < 0 || ct < 0 || cp < 0 {
		return nil, nil, fmt.Errorf("drift: performance needs %q and %q in both tables", target, prediction)
	}
	rtl, rtn := cells(ref, rt)
	classes := map[string]bool{}
	classification := ref.Columns[rt].Kind == drift.Categorical
	if !classification {
		classification = true
		for _, v := range rtn {
			if math.IsNaN(v) {
				continue
			}
			if v != math.Trunc(v) {
				classification = false
				break
			}
			classes[strconv.FormatFloat(v, 'g', -1, 64)] = true
			if len(classes) > 20 {
				classification = false
				break
			}
		}
	} else {
		for _, l := range rtl {
			if l != "" {
				classes[l] = true
			}
		}
	}
	if !classification {
		build := func(d *drift.Data, t, p int) perf.Accumulator {
			_, tn := cells(d, t)
			_, pn := cells(d, p)
			r := perf.NewRegression()
			for i := range tn {
				r.Add(tn[i], pn[i])
			}
			return r
		}
		return build(ref, rt, rp), build(cur, ct, cp), nil
	}
	names := make([]string, 0, len(classes))
	for c := range classes {
		names = append(names, c)
	}
	sort.Slice(names, func(a, b int) bool { return labelLess(names[a], names[b]) })
	positive, negative := "", ""
	if len(names) == 2 {
		negative, positive = names[0], names[1]
	}
	build := func(d *drift.Data, t, p int) perf.Accumulator {
		tl, _ := cells(d, t)
		pl, pn := cells(d, p)
		scored := positive != "" && d.Columns[p].Kind == drift.Numeric && inUnit(pn)
		c := perf.NewClassification(positive)
		for i := range tl {
			if tl[i] == "" {
				continue
			}
			if scored {
				if math.IsNaN(pn[i]) {
					continue
				}
				label := negative
				if pn[i] >= 0.5 {
					label = positive
				}
				c.Add(tl[i], label, pn[i])
				continue
			}
			c.Add(tl[i], pl[i], math.NaN())
		}
		return c
	}
	return build(ref, rt, rp), build(cur, ct, cp), nil
}

// labelLess orders labels numerically when both are numbers.
func labelLess(a, b string) bool {
	x, errA := strconv.ParseFloat(a, 64)
	y, errB := strconv.ParseFloat(b, 64)
	if errA == nil && errB == nil {
		return x < y
	}
	return a < b
}

// inUnit reports whether every number is a probability and some are not
// 0 or 1 (a column of labels 0/1 is not a score).
func inUnit(x []float64) bool {
	fractional := false
	for _, v := range x {
		if math.IsNaN(v) {
			continue
		}
		if v < 0 || v > 1 {
			return false
		}
		if v != 0 && v != 1 {
			fractional = true
		}
	}
	return fractional
}
