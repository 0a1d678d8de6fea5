// Package example gives tests the example bundle (an XGBoost classifier on
// scikit-learn's breast-cancer data, examples/breast-cancer) and
// xgboost's own answers for its held-out rows.
package example

import (
	"encoding/csv"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/modelfn/modelfn/runtime"
	"github.com/modelfn/modelfn/runtime/bundle"
	_ "github.com/modelfn/modelfn/runtime/formats"
	"github.com/modelfn/modelfn/testing/tools"
)

// Dir is examples/breast-cancer.
var Dir = filepath.Join(tools.Root(), "examples", "breast-cancer")

// Bundle is the example bundle's folder.
var Bundle = filepath.Join(Dir, "bundle")

// Model loads the bundle's model and schema.
func Model(t testing.TB) (runtime.Model, *runtime.Schema) {
	t.Helper()
	b, err := bundle.Load(Bundle)
	if err != nil {
		t.Fatal(err)
	}
	m, err := b.Model()
	if err != nil {
		t.Fatal(err)
	}
	return m, b.Schema
}

// Holdout returns the held-out rows (feature name to value, no target) and
// the class probabilities xgboost computed for them (malignant, benign).
func Holdout(t testing.TB) ([]map[string]float64, [][2]float64) {
	t.Helper()
	f, err := os.Open(filepath.Join(Dir, "holdout.csv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	var rows []map[string]float64
	for _, rec := range recs[1:] {
		row := map[string]float64{}
		for i, h := range recs[0] {
			if h == "target" {
				continue
			}
			v, err := strconv.ParseFloat(rec[i], 64)
			if err != nil {
				t.Fatal(err)
			}
			row[h] = v
		}
		rows = append(rows, row)
	}
	var exp struct{ Probabilities [][2]float64 }
	data, err := os.ReadFile(filepath.Join(Dir, "expected.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &exp); err != nil {
		t.Fatal(err)
	}
	return rows, exp.Probabilities
}
