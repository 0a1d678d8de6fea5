package onnx

import (
	"context"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/modelfn/modelfn/runtime"
)

// fixture is a model from testdata/gen.py with scikit-learn's predictions.
type fixture struct {
	Name        string
	Task        string `json:"task"`
	Classes     []string
	Features    []runtime.Feature
	Rows        [][]any
	Predictions [][]float64
	Reference   string
	model       []byte
}

func loadFixtures(t testing.TB) []*fixture {
	t.Helper()
	paths, _ := filepath.Glob("testdata/*.expected.json")
	if len(paths) < 6 {
		t.Fatalf("found %d fixtures; run /usr/bin/python3 testdata/gen.py", len(paths))
	}
	var out []*fixture
	for _, p := range paths {
		f := &fixture{Name: strings.TrimSuffix(filepath.Base(p), ".expected.json")}
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(b, f); err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		if f.model, err = os.ReadFile(filepath.Join("testdata", f.Name+".onnx")); err != nil {
			t.Fatal(err)
		}
		out = append(out, f)
	}
	return out
}

func (f *fixture) schema(t testing.TB) *runtime.Schema {
	t.Helper()
	s, err := runtime.NewSchema(f.Features, false)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// batch builds rows [from, to) of the fixture.
func (f *fixture) batch(t testing.TB, s *runtime.Schema, from, to int) *runtime.Batch {
	t.Helper()
	b := runtime.NewBatch(s, to-from)
	for i := from; i < to; i++ {
		r := b.Begin(i)
		for c, v := range f.Rows[i] {
			var e *runtime.InputError
			switch x := v.(type) {
			case float64:
				e = r.Number(c, x, "")
			case string:
				e = r.String(c, x, true)
			case nil:
				e = r.Missing(c)
			}
			if e != nil {
				t.Fatal(e)
			}
		}
		if e := r.End(); e != nil {
			t.Fatal(e)
		}
	}
	return b
}

// TestMatchesScikitLearn checks every fixture against scikit-learn's own
// predictions to 1e-5 (see testdata/gen.py for why each can match).
func TestMatchesScikitLearn(t *testing.T) {
	for _, f := range loadFixtures(t) {
		t.Run(f.Name, func(t *testing.T) {
			t.Parallel()
			s := f.schema(t)
			m, err := runtime.Open(Format, f.model, runtime.Spec{Schema: s})
			if err != nil {
				t.Fatal(err)
			}
			info := m.Info()
			if string(info.Task) != f.Task {
				t.Errorf("task %q, want %q", info.Task, f.Task)
			}
			if f.Task == "classification" && !slices.Equal(info.Classes, f.Classes) {
				t.Errorf("classes %v, want %v", info.Classes, f.Classes)
			}
			b := f.batch(t, s, 0, len(f.Rows))
			out := make([]float64, b.Rows*info.Outputs)
			if err := m.Predict(context.Background(), b, out); err != nil {
				t.Fatal(err)
			}
			worst := 0.0
			for i, want := range f.Predictions {
				for j, w := range want {
					d := math.Abs(out[i*info.Outputs+j] - w)
					worst = max(worst, d)
					if !(d <= 1e-5) {
						t.Fatalf("row %d output %d: %v, scikit-learn %v", i, j, out[i*info.Outputs+j], w)
					}
				}
			}
			t.Logf("%d rows, worst difference %.2g (%s)", len(f.Rows), worst, f.Reference)
		})
	}
}

// TestRowByRowEqualsBatch: one-row predictions equal the batch's rows.
func TestRowByRowEqualsBatch(t *testing.T) {
	for _, f := range loadFixtures(t) {
		t.Run(f.Name, func(t *testing.T) {
			t.Parallel()
			s := f.schema(t)
			m, err := runtime.Open(Format, f.model, runtime.Spec{Schema: s})
			if err != nil {
				t.Fatal(err)
			}
			k := m.Info().Outputs
			n := min(len(f.Rows), 40)
			all := make([]float64, n*k)
			if err := m.Predict(context.Background(), f.batch(t, s, 0, n), all); err != nil {
				t.Fatal(err)
			}
			one := make([]float64, k)
			for i := 0; i < n; i++ {
				if err := m.Predict(context.Background(), f.batch(t, s, i, i+1), one); err != nil {
					t.Fatal(err)
				}
				if !slices.Equal(one, all[i*k:(i+1)*k]) {
					t.Fatalf("row %d alone %v, in a batch %v", i, one, all[i*k:(i+1)*k])
				}
			}
		})
	}
}

// TestClassOrderAndInference: an empty spec infers task and classes (what
// `modelfn init` does); bundle classes reorder the output; a different set
// of classes is refused at load.
func TestClassOrderAndInference(t *testing.T) {
	var f *fixture
	for _, x := range loadFixtures(t) {
		if x.Name == "pipeline_breast" {
			f = x
		}
	}
	m, err := Open(f.model, runtime.Spec{})
	if err != nil {
		t.Fatal(err)
	}
	if info := m.Info(); info.Task != runtime.Classification || !slices.Equal(info.Classes, []string{"benign", "malignant"}) {
		t.Fatalf("inferred %+v", info)
	}
	if err := m.Predict(context.Background(), f.batch(t, f.schema(t), 0, 1), make([]float64, 2)); err == nil {
		t.Fatal("a schema-less model predicted")
	}
	s := f.schema(t)
	rev, err := Open(f.model, runtime.Spec{Schema: s, Classes: []string{"malignant", "benign"}})
	if err != nil {
		t.Fatal(err)
	}
	b := f.batch(t, s, 0, 5)
	out := make([]float64, 10)
	if err := rev.Predict(context.Background(), b, out); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 5; i++ {
		if math.Abs(out[2*i]-f.Predictions[i][1]) > 1e-5 || math.Abs(out[2*i+1]-f.Predictions[i][0]) > 1e-5 {
			t.Fatalf("row %d reordered %v, want %v reversed", i, out[2*i:2*i+2], f.Predictions[i])
		}
	}
	if _, err := Open(f.model, runtime.Spec{Schema: s, Classes: []string{"benign", "other"}}); err == nil || !strings.Contains(err.Error(), "classes") {
		t.Fatalf("different classes: %v", err)
	}
}

// TestRefusesUnfeedableInputs: an input the schema cannot feed is refused
// at load, naming the input.
func TestRefusesUnfeedableInputs(t *testing.T) {
	var f *fixture
	for _, x := range loadFixtures(t) {
		if x.Name == "pipeline_breast" {
			f = x
		}
	}
	feats := slices.Clone(f.Features)
	feats[0].Name = "renamed"
	s, err := runtime.NewSchema(feats, false)
	if err != nil {
		t.Fatal(err)
	}
	_, err = Open(f.model, runtime.Spec{Schema: s})
	if err == nil || !strings.Contains(err.Error(), `"mean_texture"`) {
		t.Fatalf("missing feature: %v", err)
	}
	feats = slices.Clone(f.Features)
	feats[len(feats)-1] = runtime.Feature{Name: "size", Type: runtime.Numeric}
	s, _ = runtime.NewSchema(feats, false)
	_, err = Open(f.model, runtime.Spec{Schema: s})
	if err == nil || !strings.Contains(err.Error(), `"size"`) {
		t.Fatalf("numeric feature for a string input: %v", err)
	}
}
