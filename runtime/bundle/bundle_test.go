package bundle_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/modelfn/modelfn/runtime/bundle"
	_ "github.com/modelfn/modelfn/runtime/xgboost"
	"github.com/modelfn/modelfn/testing/tools"
)

var example = filepath.Join(tools.Root(), "examples", "breast-cancer", "bundle")

// copyBundle copies the example bundle so a test can break it.
func copyBundle(t testing.TB) string {
	dir := t.TempDir()
	entries, err := os.ReadDir(example)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		data, err := os.ReadFile(filepath.Join(example, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		os.WriteFile(filepath.Join(dir, e.Name()), data, 0o644)
	}
	return dir
}

func edit(t *testing.T, path, old, new string) {
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(data), old) {
		t.Fatalf("%s has no %q", path, old)
	}
	os.WriteFile(path, []byte(strings.Replace(string(data), old, new, 1)), 0o644)
}

func TestLoadExample(t *testing.T) {
	b, err := bundle.Load(example)
	if err != nil {
		t.Fatal(err)
	}
	if b.Config.Name != "breast-cancer" || b.Schema.Width() != 30 || b.Config.Monitoring.Window.Hours() != 24 {
		t.Fatalf("%+v", b.Config)
	}
	m, err := b.Model()
	if err != nil {
		t.Fatal(err)
	}
	if got := m.Info().Classes; len(got) != 2 || got[0] != "malignant" {
		t.Fatalf("classes %v", got)
	}
	if r := b.Config.Log.Rate(); r != 1 {
		t.Fatalf("unset sample_rate logs %v of predictions, want all", r)
	}
}

func TestSampleRate(t *testing.T) {
	dir := copyBundle(t)
	edit(t, filepath.Join(dir, bundle.FileName), "\nprediction_log:\n", "\nprediction_log:\n  sample_rate: 0.25\n")
	b, err := bundle.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if r := b.Config.Log.Rate(); r != 0.25 {
		t.Fatalf("rate %v, want 0.25", r)
	}
}

// TestBrokenBundles: every way a bundle can be wrong is a clear error
// naming the file (and the line, for the manifest).
func TestBrokenBundles(t *testing.T) {
	for _, tc := range []struct {
		name   string
		damage func(t *testing.T, dir string)
		model  bool // the error shows when the model is opened
		want   []string
	}{
		{"sha256 mismatch", func(t *testing.T, dir string) {
			edit(t, filepath.Join(dir, "model.json"), `"base_score":"5E-1"`, `"base_score":"4E-1"`)
		}, true, []string{"model.json", "sha256 mismatch"}},
		{"missing model", func(t *testing.T, dir string) { os.Remove(filepath.Join(dir, "model.json")) }, true, []string{"model.json", "no such file"}},
		{"unknown format", func(t *testing.T, dir string) {
			edit(t, filepath.Join(dir, bundle.FileName), "format: xgboost-json", "format: pickle")
		}, true, []string{"model.json", `unknown model format "pickle"`}},
		{"misspelt setting", func(t *testing.T, dir string) {
			edit(t, filepath.Join(dir, bundle.FileName), "min_rows:", "min_row:")
		}, false, []string{bundle.FileName, "line", "min_row"}},
		{"bad name", func(t *testing.T, dir string) {
			edit(t, filepath.Join(dir, bundle.FileName), "name: breast-cancer", "name: Breast Cancer")
		}, false, []string{bundle.FileName, "name", "lowercase"}},
		{"bad type", func(t *testing.T, dir string) {
			edit(t, filepath.Join(dir, bundle.FileName), "type: numeric", "type: number")
		}, false, []string{bundle.FileName, `"number" is not numeric or categorical`}},
		{"path outside the bundle", func(t *testing.T, dir string) {
			edit(t, filepath.Join(dir, bundle.FileName), "file: model.json", "file: ../model.json")
		}, false, []string{"inside the bundle"}},
		{"sample rate 0", func(t *testing.T, dir string) {
			edit(t, filepath.Join(dir, bundle.FileName), "\nprediction_log:\n", "\nprediction_log:\n  sample_rate: 0\n")
		}, false, []string{bundle.FileName, "prediction_log.sample_rate", "(0, 1]", "disabled: true"}},
		{"sample rate above 1", func(t *testing.T, dir string) {
			edit(t, filepath.Join(dir, bundle.FileName), "\nprediction_log:\n", "\nprediction_log:\n  sample_rate: 10\n")
		}, false, []string{"prediction_log.sample_rate", "10 must be"}},
		{"no manifest", func(t *testing.T, dir string) { os.Remove(filepath.Join(dir, bundle.FileName)) }, false, []string{bundle.FileName}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := copyBundle(t)
			tc.damage(t, dir)
			b, err := bundle.Load(dir)
			if err == nil && tc.model {
				_, err = b.Model()
			}
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
}

func TestInferFeatures(t *testing.T) {
	csv := "age,plan,score,id,label\n" +
		"31,pro,0.5,a1,yes\n" +
		"40,basic,,a2,no\n" +
		"NA,pro,1.5,a3,yes\n"
	feats, rows, err := bundle.InferFeatures(strings.NewReader(csv), "train.csv", "label", "id")
	if err != nil {
		t.Fatal(err)
	}
	if rows != 3 || len(feats) != 3 {
		t.Fatalf("%d rows, %d features", rows, len(feats))
	}
	age, plan, score := feats[0], feats[1], feats[2]
	if age.Type != "numeric" || *age.Min != 31 || *age.Max != 40 || !age.Nullable {
		t.Errorf("age %+v", age)
	}
	if plan.Type != "categorical" || strings.Join(plan.Categories, ",") != "basic,pro" || plan.Nullable {
		t.Errorf("plan %+v", plan)
	}
	if score.Type != "numeric" || !score.Nullable {
		t.Errorf("score %+v", score)
	}
	for input, want := range map[string]string{
		"":                         "empty file",
		"a,b\n":                    "no data rows",
		"a,b\n1,2\n3\n":            "line 3",
		"a,b\n1,\n2,\n":            `column "b" is empty`,
		"a,label\n1,2\n":           `"missing"`,
		"x\n" + manyDistinct(1100): "--exclude",
	} {
		skip := "label"
		if strings.HasPrefix(input, "a,label") {
			skip = "missing"
		}
		_, _, err := bundle.InferFeatures(strings.NewReader(input), "train.csv", skip)
		if err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), "train.csv") {
			t.Errorf("%.20q: error %v, want it to name the file and say %q", input, err, want)
		}
	}
}

func manyDistinct(n int) string {
	var b strings.Builder
	for i := 0; i < n; i++ {
		b.WriteString("id-")
		b.WriteString(strings.Repeat("x", i%7))
		b.WriteString(string(rune('a' + i%26)))
		b.WriteString(strings.Repeat("y", i/26))
		b.WriteString("\n")
	}
	return b.String()
}
