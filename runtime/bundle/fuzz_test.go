package bundle_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/modelfn/modelfn/runtime/bundle"
)

// FuzzLoad loads arbitrary modelfn.yaml files beside the example's model:
// never a panic; a bundle that loads has a schema, and its model either
// loads or is refused with an error.
func FuzzLoad(f *testing.F) {
	dir := copyBundle(f)
	good, err := os.ReadFile(filepath.Join(dir, bundle.FileName))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good)
	f.Add([]byte("name: x\nmodel: {file: ../../etc/passwd, format: xgboost-json, sha256: 00}\n"))
	f.Add([]byte("a: &a [x, x]\nb: &b [*a, *a]\nc: &c [*b, *b]\nd: [*c, *c]\n"))
	f.Add([]byte("features:\n  - {name: a, type: categorical, categories: [x, x]}\n"))
	path := filepath.Join(dir, bundle.FileName)
	f.Fuzz(func(t *testing.T, yaml []byte) {
		if err := os.WriteFile(path, yaml, 0o644); err != nil {
			t.Fatal(err)
		}
		b, err := bundle.Load(dir)
		if err != nil {
			return
		}
		if b.Schema == nil {
			t.Fatal("loaded without a schema")
		}
		b.Model()
	})
}
