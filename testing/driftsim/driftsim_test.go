package driftsim

import (
	"bytes"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/modelfn/modelfn/testing/tools"
)

func TestBreastCancer(t *testing.T) {
	t.Parallel()
	d, err := BreastCancer()
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Rows) != 569 || len(d.Features) != 30 || len(d.Labels) != 569 {
		t.Fatalf("got %d rows, %d features, %d labels; want 569, 30, 569", len(d.Rows), len(d.Features), len(d.Labels))
	}
	if d.Features[0] != "mean radius" || d.Rows[0][0] != 17.99 || d.Labels[0] != 0 {
		t.Fatalf("first cell: %q = %v, label %v", d.Features[0], d.Rows[0][0], d.Labels[0])
	}
}

// The committed CSV is what the committed script writes.
func TestDatasetReproducible(t *testing.T) {
	t.Parallel()
	py := tools.Python(t)
	out := filepath.Join(t.TempDir(), "breast_cancer.csv")
	cmd := exec.Command(py, filepath.Join("testdata", "gen_dataset.py"), out)
	if msg, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("gen_dataset.py: %v\n%s", err, msg)
	}
	got, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, []byte(breastCancerCSV)) {
		t.Fatal("testdata/breast_cancer.csv differs from what gen_dataset.py writes now; re-run it and commit")
	}
}

func TestReadCSVErrors(t *testing.T) {
	t.Parallel()
	for name, in := range map[string]string{
		"header only": "a,b\n",
		"not number":  "a,b\n1,x\n",
		"nan":         "a,b\n1,NaN\n",
		"ragged":      "a,b\n1\n",
	} {
		if _, err := ReadCSV(strings.NewReader(in), "b"); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

func TestGenerateDeterministic(t *testing.T) {
	t.Parallel()
	cfg := Config{Seed: 7, Windows: 12, Rows: 50, Drifts: []Drift{{Type: Gradual, Features: []string{"mean area"}, Start: 2, Length: 6}}}
	a, err := Generate(cfg)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := Generate(cfg)
	if !reflect.DeepEqual(a, b) {
		t.Fatal("the same config gave two different streams")
	}
	cfg.Seed = 8
	c, _ := Generate(cfg)
	if reflect.DeepEqual(a.Windows, c.Windows) {
		t.Fatal("seeds 7 and 8 gave the same windows")
	}
}

// A drifted stream minus its control (same seed) is exactly the injected
// shift, on the drifted features only, in the share of rows each window's
// type prescribes.
func TestGenerateInjectsKnownDrift(t *testing.T) {
	t.Parallel()
	data, err := BreastCancer()
	if err != nil {
		t.Fatal(err)
	}
	std := data.std()
	features := []string{"mean texture", "worst area"}
	cols := []int{slices.Index(data.Features, features[0]), slices.Index(data.Features, features[1])}
	const windows, rows = 60, 400
	base := Config{Data: data, Seed: 3, Windows: windows, Rows: rows}
	control, err := Generate(base)
	if err != nil {
		t.Fatal(err)
	}
	if len(control.Truth) != 0 {
		t.Fatalf("control stream has truth %v", control.Truth)
	}
	for _, d := range []Drift{
		{Type: Sudden, Start: 20, Shift: 0.5},
		{Type: Gradual, Start: 10, Length: 30, Shift: 2},
		{Type: Temporary, Start: 15, Length: 10},
		{Type: Periodic, Start: 5, Length: 4, Period: 12, Shift: -1},
	} {
		d.Features = features
		cfg := base
		cfg.Drifts = []Drift{d}
		s, err := Generate(cfg)
		if err != nil {
			t.Fatalf("%s: %v", d.Type, err)
		}
		if !reflect.DeepEqual(s.Reference, control.Reference) {
			t.Fatalf("%s: the reference differs from the control's", d.Type)
		}
		var rampDrifted, rampExpected float64
		for w := range windows {
			drifted := 0
			for i, row := range s.Windows[w].Rows {
				ctl := control.Windows[w].Rows[i]
				shifted := row[cols[0]] != ctl[cols[0]]
				if shifted {
					drifted++
				}
				for j := range row {
					want := ctl[j]
					if k := slices.Index(cols, j); k >= 0 && shifted {
						want += cmpOr(d.Shift, 1) * std[j]
					}
					if math.Abs(row[j]-want) > 1e-9*math.Max(1, math.Abs(want)) {
						t.Fatalf("%s: window %d row %d feature %q = %v, want %v", d.Type, w, i, data.Features[j], row[j], want)
					}
				}
			}
			p := d.Share(w)
			if p == 0 || p == 1 {
				if float64(drifted) != p*rows {
					t.Fatalf("%s: window %d has %d drifted rows, want %v", d.Type, w, drifted, p*rows)
				}
			} else {
				rampDrifted += float64(drifted)
				rampExpected += p * rows
			}
		}
		if d.Type == Gradual {
			// 29 ramp windows x 400 rows: the binomial sd is about 0.6% of the total.
			if math.Abs(rampDrifted-rampExpected) > 0.03*rampExpected {
				t.Fatalf("gradual ramp: %v drifted rows, want about %v", rampDrifted, rampExpected)
			}
		}
		truth := s.Truth[0]
		start := base.Start
		if start.IsZero() {
			start = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
		}
		if !truth.From.Equal(start.Add(time.Duration(d.Start) * time.Hour)) {
			t.Fatalf("%s: truth starts %v", d.Type, truth.From)
		}
		if ongoing := d.Type != Temporary; truth.Ongoing != ongoing {
			t.Fatalf("%s: truth ongoing %v", d.Type, truth.Ongoing)
		}
		if d.Type == Temporary && !truth.End.Equal(start.Add(25*time.Hour)) {
			t.Fatalf("temporary: truth ends %v", truth.End)
		}
	}
}

func TestGenerateRejectsBadDrift(t *testing.T) {
	t.Parallel()
	f := []string{"mean radius"}
	for _, d := range []Drift{
		{Type: "weird", Features: f},
		{Type: Sudden, Features: []string{"nope"}},
		{Type: Sudden},
		{Type: Sudden, Features: f, Start: 96},
		{Type: Gradual, Features: f},
		{Type: Periodic, Features: f, Length: 4, Period: 4},
	} {
		if _, err := Generate(Config{Drifts: []Drift{d}}); err == nil {
			t.Errorf("%+v: no error", d)
		}
	}
}
