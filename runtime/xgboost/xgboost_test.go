package xgboost

import (
	"context"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/modelfn/modelfn/runtime"
)

type expected struct {
	Objective   string       `json:"objective"`
	Features    []string     `json:"features"`
	Rows        [][]*float64 `json:"rows"`
	Predictions [][]float64  `json:"predictions"`
}

// openFixture opens testdata/<name>.model.json with a numeric schema of
// its features, and reads what xgboost predicted for its rows.
func openFixture(t testing.TB, name string) (*expected, *runtime.Schema, runtime.Model) {
	var exp expected
	readJSON(t, filepath.Join("testdata", name+".expected.json"), &exp)
	data, err := os.ReadFile(filepath.Join("testdata", name+".model.json"))
	if err != nil {
		t.Fatal(err)
	}
	s := numericSchema(t, exp.Features)
	m, err := runtime.Open(Format, data, runtime.Spec{Schema: s})
	if err != nil {
		t.Fatal(err)
	}
	return &exp, s, m
}

func numericSchema(t testing.TB, names []string) *runtime.Schema {
	fs := make([]runtime.Feature, len(names))
	for i, n := range names {
		fs[i] = runtime.Feature{Name: n, Type: runtime.Numeric, Nullable: true}
	}
	s, err := runtime.NewSchema(fs, false)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestMatchesXGBoost checks every fixture model against the predictions
// xgboost itself made (testdata/gen.py) to 1e-5.
func TestMatchesXGBoost(t *testing.T) {
	cases, _ := filepath.Glob("testdata/*.expected.json")
	if len(cases) < 8 {
		t.Fatalf("found %d fixtures; run testdata/gen.py", len(cases))
	}
	for _, path := range cases {
		name := strings.TrimSuffix(filepath.Base(path), ".expected.json")
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			exp, s, m := openFixture(t, name)
			b := runtime.NewBatch(s, len(exp.Rows))
			for i, row := range exp.Rows {
				r := b.Begin(i)
				for c, v := range row {
					var e *runtime.InputError
					if v == nil {
						e = r.Missing(c)
					} else {
						e = r.Number(c, *v, "")
					}
					if e != nil {
						t.Fatal(e)
					}
				}
				if e := r.End(); e != nil {
					t.Fatal(e)
				}
			}
			k := m.Info().Outputs
			out := make([]float64, b.Rows*k)
			if err := m.Predict(context.Background(), b, out); err != nil {
				t.Fatal(err)
			}
			worst := 0.0
			for i, want := range exp.Predictions {
				got := out[i*k : (i+1)*k]
				switch {
				case exp.Objective == "multi:softmax": // xgboost answers the class index
					if float64(argmax(got)) != want[0] {
						t.Fatalf("row %d: class %d, xgboost says %v", i, argmax(got), want[0])
					}
				case exp.Objective == "binary:logitraw": // xgboost answers the margin
					worst = max(worst, math.Abs(got[1]-1/(1+math.Exp(-want[0]))))
				case len(want) == 1 && k == 2: // binary: xgboost answers P(class 1)
					worst = max(worst, math.Abs(got[1]-want[0]))
				default:
					for j := range want {
						worst = max(worst, math.Abs(got[j]-want[j]))
					}
				}
			}
			if worst > 1e-5 {
				t.Errorf("largest difference from xgboost %g > 1e-5", worst)
			}
			t.Logf("%d rows, largest difference from xgboost %.2g", len(exp.Rows), worst)
		})
	}
}

func TestRefusesBrokenModels(t *testing.T) {
	good, err := os.ReadFile("testdata/binary_logitraw.model.json")
	if err != nil {
		t.Fatal(err)
	}
	var exp expected
	readJSON(t, "testdata/binary_logitraw.expected.json", &exp)
	s := numericSchema(t, exp.Features)
	for name, tc := range map[string]struct {
		edit func(string) string
		want string
	}{
		"truncated":         {func(s string) string { return s[:len(s)/2] }, "not an XGBoost JSON model"},
		"unknown objective": {func(s string) string { return strings.Replace(s, `"binary:logitraw"`, `"rank:ndcg"`, 1) }, `objective "rank:ndcg"`},
		"gblinear":          {func(s string) string { return strings.Replace(s, `"name":"gbtree"`, `"name":"gblinear"`, 1) }, "booster"},
		"child loop":        {func(s string) string { return strings.Replace(s, `"left_children":[1,`, `"left_children":[0,`, 1) }, "not after their parent"},
		"child outside":     {func(s string) string { return strings.Replace(s, `"left_children":[1,`, `"left_children":[99999,`, 1) }, "outside the tree"},
		"bad base_score":    {func(s string) string { return strings.Replace(s, `"base_score":"3E-1"`, `"base_score":"x"`, 1) }, "base_score"},
		"unknown feature":   {func(s string) string { return strings.Replace(s, `"mean_radius"`, `"nope"`, 1) }, `"nope" is not in the bundle's schema`},
	} {
		t.Run(name, func(t *testing.T) {
			doc := tc.edit(string(good))
			if doc == string(good) {
				t.Fatal("edit did not apply")
			}
			_, err := runtime.Open(Format, []byte(doc), runtime.Spec{Schema: s})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want it to mention %q", err, tc.want)
			}
		})
	}
}

func FuzzOpen(f *testing.F) {
	good, err := os.ReadFile("testdata/binary_logitraw.model.json")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good)
	f.Add([]byte(`{"learner":{}}`))
	var exp expected
	readJSON(f, "testdata/binary_logitraw.expected.json", &exp)
	s := numericSchema(f, exp.Features)
	row := make([]float64, s.Width())
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := runtime.Open(Format, data, runtime.Spec{Schema: s})
		if err != nil {
			return
		}
		// A model that loads must predict without panicking, NaNs included.
		b := runtime.NewBatch(s, 2)
		for _, v := range []float64{math.NaN(), 1e300} {
			r := b.Begin(0)
			for c := range row {
				if v != v {
					r.Missing(c)
				} else {
					r.Number(c, v, "")
				}
			}
			r.End()
		}
		out := make([]float64, 2*m.Info().Outputs)
		_ = m.Predict(context.Background(), b, out)
	})
}

func readJSON(t testing.TB, path string, v any) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, v); err != nil {
		t.Fatal(err)
	}
}

func argmax(v []float64) int {
	best := 0
	for i := range v {
		if v[i] > v[best] {
			best = i
		}
	}
	return best
}
