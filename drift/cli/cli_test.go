package cli

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/modelfn/modelfn/drift"
	"github.com/modelfn/modelfn/testing/tools"
)

func write(t *testing.T, path, text string) string {
	t.Helper()
	if strings.HasSuffix(path, ".gz") {
		var b bytes.Buffer
		zw := gzip.NewWriter(&b)
		zw.Write([]byte(text))
		zw.Close()
		text = b.String()
	}
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// tables writes a reference CSV and a current gzipped JSON Lines file with
// a shifted feature, a text value in a numeric column, an unseen
// category, a label and a score.
func tables(t *testing.T) (string, string) {
	dir := t.TempDir()
	var ref, cur strings.Builder
	ref.WriteString("x,plan,label,score\n")
	for i := 0; i < 400; i++ {
		x := math.Sin(float64(i)*1.7) * 10
		label := i % 2
		score := 0.25 + 0.5*float64(label) + 0.2*math.Sin(float64(i))
		fmt.Fprintf(&ref, "%g,%s,%d,%g\n", x, []string{"a", "b", "c"}[i%3], label, score)
	}
	for i := 0; i < 300; i++ {
		x := any(math.Sin(float64(i)*1.3)*10 + 6)
		if i == 7 {
			x = "oops"
		}
		label := i % 2
		score := 0.4 + 0.2*float64(label) + 0.3*math.Sin(float64(i))
		plan := []string{"a", "b", "c", "z"}[i%4]
		b, _ := json.Marshal(map[string]any{"x": x, "plan": plan, "label": label, "score": score, "extra": true})
		cur.Write(append(b, '\n'))
	}
	return write(t, filepath.Join(dir, "ref.csv"), ref.String()), write(t, filepath.Join(dir, "cur.jsonl.gz"), cur.String())
}

func TestReportFromFiles(t *testing.T) {
	t.Parallel()
	ref, cur := tables(t)
	rep, err := Report(context.Background(), Options{Reference: ref, Current: cur, Target: "label", Prediction: "score"})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Columns) != 2 || len(rep.PredictionDrift) != 1 || len(rep.TargetDrift) != 1 {
		t.Fatalf("columns %d, prediction %d, target %d", len(rep.Columns), len(rep.PredictionDrift), len(rep.TargetDrift))
	}
	x := rep.Columns[0]
	if x.Name != "x" || x.Method != drift.MethodKS || !x.Drifted || x.CurrentRows != 299 {
		t.Errorf("x: %+v", x)
	}
	q := rep.Quality
	if q.Columns[0].TypeErrors != 1 || q.Columns[0].Missing != 0 {
		t.Errorf("x quality: %+v", q.Columns[0])
	}
	if len(q.ExtraColumns) != 1 || q.ExtraColumns[0] != "extra" || q.Columns[1].UnseenCategories != 75 {
		t.Errorf("quality: %+v", q)
	}
	p := rep.Performance
	if p == nil || p.Task != "classification" || p.Primary != "roc_auc" || p.Status != drift.StatusOK || !p.Degraded {
		t.Fatalf("performance: %+v", p)
	}
	if p.Reference["roc_auc"] != 1 || p.Current["roc_auc"] >= 0.9 {
		t.Errorf("roc_auc %v -> %v", p.Reference["roc_auc"], p.Current["roc_auc"])
	}
}

func TestRunFormatsAndOptions(t *testing.T) {
	t.Parallel()
	ref, cur := tables(t)
	for _, format := range []string{"json", "text", "html"} {
		var b bytes.Buffer
		if err := Run(context.Background(), Options{Reference: ref, Current: cur, Format: format, Method: "psi", Columns: []string{"x"}}, &b); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(b.String(), "psi") {
			t.Errorf("%s output lacks the forced method", format)
		}
	}
	out := filepath.Join(t.TempDir(), "r.json")
	if err := Run(context.Background(), Options{Reference: ref, Current: cur, Out: out, Threshold: 0.5, Method: "wasserstein"}, nil); err != nil {
		t.Fatal(err)
	}
	var rep drift.Report
	b, _ := os.ReadFile(out)
	if err := json.Unmarshal(b, &rep); err != nil {
		t.Fatal(err)
	}
	if rep.Columns[0].Threshold != 0.5 || rep.Columns[0].Method != "wasserstein" {
		t.Errorf("threshold/method not applied: %+v", rep.Columns[0])
	}
	for _, bad := range []Options{
		{Reference: ref, Current: cur, Format: "pdf"},
		{Reference: ref, Current: cur, Method: "nope"},
		{Reference: ref, Current: cur, Columns: []string{"missing"}},
		{Reference: ref + ".txt", Current: cur},
		{Reference: ref},
	} {
		if err := Run(context.Background(), bad, &bytes.Buffer{}); err == nil {
			t.Errorf("%+v: no error", bad)
		}
	}
}

// The repository's example: breast-cancer reference vs its drifted copy.
func TestExampleBreastCancer(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(tools.Root(), "examples", "breast-cancer")
	rep, err := Report(context.Background(), Options{Reference: filepath.Join(dir, "reference.csv"),
		Current: filepath.Join(dir, "drifted.csv"), Target: "target"})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Columns) != 30 || len(rep.TargetDrift) != 1 || rep.Dataset.Status != drift.StatusOK {
		t.Fatalf("columns %d target %d dataset %+v", len(rep.Columns), len(rep.TargetDrift), rep.Dataset)
	}
	t.Logf("drifted.csv: %d of %d features drifted", rep.Dataset.DriftedColumns, rep.Dataset.Columns)
	if rep.Dataset.DriftedColumns == 0 {
		t.Error("the drifted example shows no drift")
	}
}
