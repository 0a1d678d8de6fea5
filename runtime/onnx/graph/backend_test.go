package graph

import (
	"context"
	"flag"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/modelfn/modelfn/runtime/onnx/onnxpb"
	"github.com/modelfn/modelfn/testing/tools"
)

// The ONNX backend node tests, from Debian's libonnx-testdata (onnx 1.12):
// each test_*/ holds model.onnx and test_data_set_*/{input,output}_*.pb.
const backendDir = "/usr/share/libonnx-testdata/data/node"

var update = flag.Bool("update", false, "rewrite testdata/backend-skips.txt")

// TestBackendNode runs every backend node test whose model loads, and
// checks that the ones that do not load are exactly those listed, with
// their reasons, in testdata/backend-skips.txt. A test of a supported
// operator may only be skipped for a stated "not supported" reason (an
// element type, attribute or companion operator this package lacks); any
// other load error, and any wrong output, fails.
func TestBackendNode(t *testing.T) {
	dirs, _ := filepath.Glob(filepath.Join(backendDir, "test_*"))
	if len(dirs) == 0 {
		tools.Missing(t, backendDir+" is empty (make tools-apt installs libonnx-testdata)")
	}
	var skips []string
	ran := 0
	for _, dir := range dirs {
		name := filepath.Base(dir)
		data, err := os.ReadFile(filepath.Join(dir, "model.onnx"))
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		g, err := Load(data)
		if err != nil {
			if !strings.Contains(err.Error(), "not supported") {
				t.Errorf("%s: load: %v", name, err)
				continue
			}
			skips = append(skips, name+": "+reason(err))
			continue
		}
		ran++
		t.Run(name, func(t *testing.T) {
			sets, _ := filepath.Glob(filepath.Join(dir, "test_data_set_*"))
			for _, set := range sets {
				runBackendSet(t, g, set)
			}
		})
	}
	sort.Strings(skips)
	got := strings.Join(skips, "\n") + "\n"
	const file = "testdata/backend-skips.txt"
	if *update {
		if err := os.WriteFile(file, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, _ := os.ReadFile(file)
	if string(want) != got {
		t.Errorf("skipped tests differ from %s (rerun with -update to accept):\n%s", file, diffLines(string(want), got))
	}
	t.Logf("%d backend tests ran, %d skipped (listed in %s)", ran, len(skips), file)
}

// reason keeps the informative tail of a load error.
func reason(err error) string {
	s := err.Error()
	s = strings.TrimPrefix(s, "onnx model: ")
	return s
}

func diffLines(a, b string) string {
	in := func(s string) map[string]bool {
		m := map[string]bool{}
		for _, l := range strings.Split(s, "\n") {
			m[l] = true
		}
		return m
	}
	ma, mb := in(a), in(b)
	var out []string
	for _, l := range strings.Split(a, "\n") {
		if !mb[l] {
			out = append(out, "- "+l)
		}
	}
	for _, l := range strings.Split(b, "\n") {
		if !ma[l] {
			out = append(out, "+ "+l)
		}
	}
	return strings.Join(out, "\n")
}

func readPB(t *testing.T, path string) *Tensor {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	p, err := onnxpb.DecodeTensor(b)
	if err != nil {
		t.Fatal(err)
	}
	x, err := FromProto(p)
	if err != nil {
		t.Skipf("%s: %v", filepath.Base(path), err)
	}
	return x
}

func runBackendSet(t *testing.T, g *Graph, set string) {
	t.Helper()
	feeds := map[string]*Tensor{}
	for i, in := range g.Inputs {
		feeds[in.Name] = readPB(t, filepath.Join(set, fmt.Sprintf("input_%d.pb", i)))
	}
	got, err := g.Run(context.Background(), feeds)
	if err != nil {
		t.Fatalf("%s: run: %v", filepath.Base(set), err)
	}
	for i, o := range g.Outputs {
		want := readPB(t, filepath.Join(set, fmt.Sprintf("output_%d.pb", i)))
		if err := closeTo(got[o.Name], want, 1e-3, 1e-7); err != nil {
			t.Errorf("%s: output %q: %v", filepath.Base(set), o.Name, err)
		}
	}
}

// closeTo compares as numpy.testing.assert_allclose does (the backend
// tests' own rtol 1e-3, atol 1e-7), NaN equal to NaN.
func closeTo(got, want *Tensor, rtol, atol float64) error {
	if got.Type != want.Type {
		return fmt.Errorf("type %v, want %v", got.Type, want.Type)
	}
	if fmt.Sprint(got.Shape) != fmt.Sprint(want.Shape) {
		return fmt.Errorf("shape %v, want %v", got.Shape, want.Shape)
	}
	if got.Type == String {
		for i := range want.Str {
			if got.Str[i] != want.Str[i] {
				return fmt.Errorf("element %d: %q, want %q", i, got.Str[i], want.Str[i])
			}
		}
		return nil
	}
	g, err := got.Float64s()
	if err != nil {
		return err
	}
	w, _ := want.Float64s()
	for i := range w {
		a, b := g[i], w[i]
		if math.IsNaN(a) && math.IsNaN(b) || a == b {
			continue
		}
		if !(math.Abs(a-b) <= atol+rtol*math.Abs(b)) {
			return fmt.Errorf("element %d: %v, want %v", i, a, b)
		}
	}
	return nil
}
