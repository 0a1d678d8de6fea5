package dataset

import (
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/modelfn/modelfn/drift"
)

func TestInferAndLoadJSONLines(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "t.ndjson")
	text := `{"a": 1, "b": "x", "c": true}
{"a": 2.5, "b": "3", "c": false}

{"a": null, "b": "y", "d": "1e3"}
{"a": "NaN", "b": "z", "d": "-inf"}
`
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	cols, err := Infer(path)
	if err != nil {
		t.Fatal(err)
	}
	kinds := map[string]drift.ColumnKind{}
	for _, c := range cols {
		kinds[c.Name] = c.Kind
	}
	if len(cols) != 4 || kinds["a"] != drift.Numeric || kinds["b"] != drift.Categorical || kinds["c"] != drift.Categorical || kinds["d"] != drift.Numeric {
		t.Fatalf("kinds: %+v", cols)
	}
	d, err := Load(path, cols)
	if err != nil {
		t.Fatal(err)
	}
	if d.Rows() != 4 {
		t.Fatalf("rows %d", d.Rows())
	}
	a, dd := d.Nums[0], d.Nums[3]
	if a[0] != 1 || a[1] != 2.5 || !math.IsNaN(a[2]) || !math.IsNaN(a[3]) {
		t.Errorf("a: %v", a)
	}
	if !math.IsNaN(dd[0]) || !math.IsNaN(dd[1]) || dd[2] != 1000 || !math.IsInf(dd[3], -1) {
		t.Errorf("d (appears on line 4): %v", dd)
	}
	if d.Strs[2][0] != "true" || d.Strs[2][2] != "" {
		t.Errorf("c: %q", d.Strs[2])
	}
	// Read with a schema that says b is numeric: text there is a type error.
	cols[1].Kind = drift.Numeric
	d, err = Load(path, cols)
	if err != nil {
		t.Fatal(err)
	}
	if d.TypeErrors[1] != 3 || d.Nums[1][1] != 3 {
		t.Errorf("b as numeric: %v, %d type errors", d.Nums[1], d.TypeErrors[1])
	}
}

func TestErrors(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	for name, text := range map[string]string{
		"short.csv":  "a,b\n1,2\n3\n",
		"bad.jsonl":  "{\"a\": 1}\nnot json\n",
		"nest.jsonl": "{\"a\": [1, 2]}\n",
		"x.parquet":  "",
	} {
		p := filepath.Join(dir, name)
		os.WriteFile(p, []byte(text), 0o644)
		if _, err := Infer(p); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
	if _, err := Infer(filepath.Join(dir, "missing.csv")); err == nil {
		t.Error("missing file: no error")
	}
}
