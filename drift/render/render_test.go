package render

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/modelfn/modelfn/drift"
	"github.com/modelfn/modelfn/drift/perf"
	"github.com/modelfn/modelfn/testing/tools"
)

// sampleReport compares n rows per side of a few columns with drift in some.
func sampleReport(n int) *drift.Report {
	rng := rand.New(rand.NewPCG(uint64(n), 3))
	cols := []drift.Column{
		{Name: "income", Kind: drift.Numeric},
		{Name: "age", Kind: drift.Numeric},
		{Name: "plan <b>&", Kind: drift.Categorical},
		{Name: "score", Kind: drift.Numeric, Role: drift.Prediction},
	}
	mk := func(shift float64) *drift.Data {
		d := &drift.Data{Columns: cols, Nums: make([][]float64, 4), Strs: make([][]string, 4)}
		plans := []string{"basic", "pro", "team", "enterprise"}
		for i := 0; i < n; i++ {
			d.Nums[0] = append(d.Nums[0], math.Exp(rng.NormFloat64()+shift))
			d.Nums[1] = append(d.Nums[1], math.Floor(18+rng.Float64()*60))
			d.Strs[2] = append(d.Strs[2], plans[min(3, int(math.Abs(rng.NormFloat64()+shift)*1.3))])
			d.Nums[3] = append(d.Nums[3], 1/(1+math.Exp(-rng.NormFloat64()-shift)))
		}
		return d
	}
	r := drift.CompareData(mk(0), mk(0.4), drift.Config{})
	acc := perf.NewClassification("1")
	for i := 0; i < 500; i++ {
		s := rng.Float64()
		truth := "0"
		if rng.Float64() < s*0.8 {
			truth = "1"
		}
		pred := "0"
		if s >= 0.5 {
			pred = "1"
		}
		acc.Add(truth, pred, s)
	}
	r.Performance = drift.ComparePerformance(perf.Metrics{"roc_auc": 0.9, "accuracy": 0.85}, acc, drift.PerformanceConfig{})
	t0 := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	r.Episodes = []drift.Episode{
		{Type: "sudden", Start: t0.Add(10 * time.Hour), End: t0.Add(30 * time.Hour), Features: []string{"income"}, Score: 0.8},
		{Type: "gradual", Start: t0.Add(40 * time.Hour), End: t0.Add(90 * time.Hour), Features: []string{"age", "plan"}, Score: 0.4},
	}
	return r
}

func TestTextAndJSON(t *testing.T) {
	t.Parallel()
	r := sampleReport(3000)
	var b bytes.Buffer
	if err := Text(&b, r); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{"COLUMN", "income", "wasserstein", "DRIFT", "Performance (classification", "Drift episodes", "sudden"} {
		if !strings.Contains(out, want) {
			t.Errorf("text report lacks %q:\n%s", want, out)
		}
	}
	b.Reset()
	if err := JSON(&b, r); err != nil {
		t.Fatal(err)
	}
	var back map[string]any
	if err := json.Unmarshal(b.Bytes(), &back); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"schema_version", "columns", "prediction_drift", "dataset", "data_quality", "performance", "episodes"} {
		if _, ok := back[k]; !ok {
			t.Errorf("JSON lacks %q", k)
		}
	}
}

var consoleLine = regexp.MustCompile(`(?m)^.*:CONSOLE[:(].*$`)

// openInChromium loads a page in headless Chromium and returns the DOM
// after scripts ran; any console message (an uncaught error, a log, a
// failed load) is an error.
func openInChromium(t *testing.T, path string) (string, error) {
	t.Helper()
	bin := tools.Need(t, "chromium", "make tools-apt")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
		"--disable-component-update", "--disable-sync", "--no-first-run", "--user-data-dir="+t.TempDir(),
		"--enable-logging=stderr", "--v=0", "--dump-dom", "file://"+path)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("chromium: %v\n%s", err, stderr.String())
	}
	if msgs := consoleLine.FindAllString(stderr.String(), -1); len(msgs) > 0 {
		return stdout.String(), fmt.Errorf("console messages:\n%s", strings.Join(msgs, "\n"))
	}
	dom := stdout.String()
	if !strings.Contains(dom, `data-ready="true"`) {
		return dom, fmt.Errorf("the page's script did not finish (no data-ready in the DOM)")
	}
	return dom, nil
}

func TestHTMLRendersInChromium(t *testing.T) {
	t.Parallel()
	var b bytes.Buffer
	if err := HTML(&b, sampleReport(3000)); err != nil {
		t.Fatal(err)
	}
	page := b.String()
	for _, banned := range []string{"http://", "https://", " src=", "@import", "url("} {
		if strings.Contains(page, banned) {
			t.Errorf("page refers outside itself: %q", banned)
		}
	}
	dir := t.TempDir()
	good := filepath.Join(dir, "report.html")
	if err := os.WriteFile(good, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	dom, err := openInChromium(t, good)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"<svg", "drift-table", "income", "plan &lt;b&gt;&amp;", "sudden", "Performance"} {
		if !strings.Contains(dom, want) {
			t.Errorf("rendered DOM lacks %q", want)
		}
	}
	// The check is real: the same page with a script error fails it.
	broken := filepath.Join(dir, "broken.html")
	bad := strings.Replace(page, `document.body.dataset.ready = "true";`, `document.body.dataset.ready = "true"; notDefinedAnywhere();`, 1)
	if err := os.WriteFile(broken, []byte(bad), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := openInChromium(t, broken); err == nil {
		t.Fatal("a page with a script error passed the check")
	} else {
		t.Logf("broken page rejected: %v", err)
	}
}

// The page is built from aggregates: a million rows give about the size
// ten thousand do.
func TestHTMLSizeBoundedByAggregates(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("short")
	}
	size := func(n int) int {
		var b bytes.Buffer
		if err := HTML(&b, sampleReport(n)); err != nil {
			t.Fatal(err)
		}
		return b.Len()
	}
	small, large := size(10000), size(1000000)
	t.Logf("page: %d bytes at 10k rows, %d at 1M", small, large)
	if float64(large) > 1.35*float64(small) || large > 200000 {
		t.Fatalf("page grows with rows: %d bytes at 10k rows, %d at 1M", small, large)
	}
}
