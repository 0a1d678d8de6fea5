// Package render writes a drift.Report for machines (JSON), terminals
// (Text, an aligned table) and people (HTML: one self-contained page with
// inline CSS, inline SVG plots and a few lines of inline script, fetching
// nothing). Every rendering is built from the report's aggregates, so its
// size depends on the number of columns and bins, never on rows.
package render

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"strings"
	"text/tabwriter"

	"github.com/modelfn/modelfn/drift"
)

// JSON writes the report as indented JSON (schema in drift.Report).
func JSON(w io.Writer, r *drift.Report) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(r); err != nil {
		return fmt.Errorf("render: json: %w", err)
	}
	return nil
}

func num(v drift.Num) string {
	f := float64(v)
	switch {
	case math.IsNaN(f):
		return "-"
	case math.IsInf(f, 1):
		return "inf"
	case f != 0 && (math.Abs(f) < 1e-4 || math.Abs(f) >= 1e6):
		return fmt.Sprintf("%.3e", f)
	}
	return fmt.Sprintf("%.4f", f)
}

func verdict(c drift.ColumnResult) string {
	switch {
	case c.Status != drift.StatusOK:
		return "n/a"
	case c.Drifted:
		return "DRIFT"
	}
	return "ok"
}

// Text writes the report as a terminal table followed by data quality and
// performance.
func Text(w io.Writer, r *drift.Report) error {
	var b strings.Builder
	d := r.Dataset
	fmt.Fprintf(&b, "Reference rows: %d   Current rows: %d\n", r.ReferenceRows, r.CurrentRows)
	if d.Status == drift.StatusOK {
		state := "no dataset drift"
		if d.Drifted {
			state = "DATASET DRIFT"
		}
		fmt.Fprintf(&b, "%s: %d of %d features drifted (share %.3f, threshold %.3f)\n\n", state, d.DriftedColumns, d.Columns, d.Share, d.Threshold)
	} else {
		fmt.Fprintf(&b, "dataset drift: not enough data\n\n")
	}
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "COLUMN\tROLE\tTYPE\tMETHOD\tSTATISTIC\tP-VALUE\tTHRESHOLD\tDRIFT\tSOURCE\tNOTE")
	for _, c := range r.All() {
		note := c.Reason
		if note == "" {
			note = c.Note
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%g\t%s\t%s\t%s\n", c.Name, c.Role, c.Type, c.Method,
			num(c.Statistic), num(c.PValue), c.Threshold, verdict(c), c.Source, note)
	}
	tw.Flush()
	q := r.Quality
	fmt.Fprintf(&b, "\nData quality: %d violation(s)\n", len(q.Violations))
	for _, v := range q.Violations {
		fmt.Fprintf(&b, "  %-24s %-26s %s\n", v.Feature, v.Check, v.Description)
	}
	if p := r.Performance; p != nil {
		fmt.Fprintf(&b, "\nPerformance (%s, %d rows): primary %s", p.Task, p.Rows, p.Primary)
		if p.Status == drift.StatusOK {
			state := "ok"
			if p.Degraded {
				state = "DEGRADED"
			}
			fmt.Fprintf(&b, " %.4f -> %.4f, drop %.2f%% (threshold %.2f%%): %s\n", p.Reference[p.Primary], p.Current[p.Primary], 100*float64(p.Drop), 100*p.Threshold, state)
		} else {
			fmt.Fprintf(&b, ": %s\n", p.Note)
		}
		for _, name := range metricNames(p.Current) {
			fmt.Fprintf(&b, "  %-20s reference %-10s current %.4f\n", name, refMetric(p.Reference, name), p.Current[name])
		}
	}
	if len(r.Episodes) > 0 {
		fmt.Fprintf(&b, "\nDrift episodes:\n")
		for _, e := range r.Episodes {
			fmt.Fprintf(&b, "  %-9s %s .. %s  score %.3f  %s\n", e.Type, e.Start.Format("2006-01-02 15:04"), e.End.Format("2006-01-02 15:04"), e.Score, strings.Join(e.Features, ", "))
		}
	}
	_, err := io.WriteString(w, b.String())
	if err != nil {
		return fmt.Errorf("render: text: %w", err)
	}
	return nil
}

func refMetric(m map[string]float64, name string) string {
	if v, ok := m[name]; ok {
		return fmt.Sprintf("%.4f", v)
	}
	return "-"
}

var metricOrder = []string{"roc_auc", "accuracy", "precision", "recall", "f1", "log_loss", "roc_auc_error_bound", "r2", "mae", "rmse"}

func metricNames(m map[string]float64) []string {
	var out []string
	for _, n := range metricOrder {
		if _, ok := m[n]; ok {
			out = append(out, n)
		}
	}
	return out
}
