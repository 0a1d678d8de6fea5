package onnx

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"testing"

	"github.com/modelfn/modelfn/runtime/onnx/graph"
	"github.com/modelfn/modelfn/runtime/onnx/onnxpb"
	"github.com/modelfn/modelfn/testing/tools"
)

// jsonTensor is a tensor as testing/onnx/ortrun.js reads and writes it.
type jsonTensor struct {
	Type string `json:"type"`
	Dims []int  `json:"dims"`
	Data []any  `json:"data"`
}

type ortCase struct {
	Model string                `json:"model"`
	Feeds map[string]jsonTensor `json:"feeds"`
}

// ortRunner finds node and onnxruntime-node, or skips (fails under make
// test) with the reason.
func ortRunner(t testing.TB) (node, script string) {
	t.Helper()
	node = tools.Path("node")
	if node == "" {
		tools.Missing(t, "node is not installed, so onnxruntime cannot be run as the reference (apt-get install nodejs)")
	}
	root := tools.Root()
	if _, err := os.Stat(filepath.Join(root, ".tools", "node_modules", "onnxruntime-node", "package.json")); err != nil {
		tools.Missing(t, "onnxruntime-node is not installed (make tools-onnx)")
	}
	return node, filepath.Join(root, "testing", "onnx", "ortrun.js")
}

// runORT runs the cases through onnxruntime and returns, per case, its
// outputs or an error message.
func runORT(t testing.TB, cases []ortCase, args ...string) []map[string]json.RawMessage {
	t.Helper()
	node, script := ortRunner(t)
	in, err := json.Marshal(cases)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(node, append([]string{script}, args...)...)
	cmd.Stdin = bytes.NewReader(in)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("ortrun.js: %v\n%s", err, stderr.String())
	}
	var res []map[string]json.RawMessage
	if err := json.Unmarshal(out, &res); err != nil {
		t.Fatalf("ortrun.js output: %v", err)
	}
	if len(res) != len(cases) {
		t.Fatalf("ortrun.js answered %d cases of %d", len(res), len(cases))
	}
	return res
}

var jsonTypes = map[string]graph.DataType{"float32": graph.Float, "float64": graph.Double, "int64": graph.Int64,
	"int32": graph.Int32, "string": graph.String, "bool": graph.Bool}

func jsonNumber(v any) float64 {
	switch x := v.(type) {
	case float64:
		return x
	case string:
		switch x {
		case "NaN":
			return math.NaN()
		case "Infinity":
			return math.Inf(1)
		case "-Infinity":
			return math.Inf(-1)
		}
	case bool:
		if x {
			return 1
		}
	}
	return math.NaN()
}

func fromJSON(j jsonTensor) (*graph.Tensor, error) {
	dt, ok := jsonTypes[j.Type]
	if !ok {
		return nil, fmt.Errorf("type %q", j.Type)
	}
	t := &graph.Tensor{}
	if err := t.Resize(dt, j.Dims...); err != nil {
		return nil, err
	}
	for i, v := range j.Data {
		switch dt {
		case graph.Float:
			t.F32[i] = float32(jsonNumber(v))
		case graph.Double:
			t.F64[i] = jsonNumber(v)
		case graph.Int64:
			t.I64[i] = int64(jsonNumber(v))
		case graph.Int32:
			t.I32[i] = int32(jsonNumber(v))
		case graph.String:
			t.Str[i], _ = v.(string)
		case graph.Bool:
			t.Bool[i] = jsonNumber(v) != 0
		}
	}
	return t, nil
}

// compareORT checks one of our outputs against onnxruntime's, to 1e-5.
func compareORT(got *graph.Tensor, ort jsonTensor) (float64, error) {
	want, err := fromJSON(ort)
	if err != nil {
		return 0, err
	}
	gt := got.Type
	if gt == graph.SeqMapString || gt == graph.SeqMapInt64 {
		gt = graph.Float
	}
	if gt != want.Type {
		return 0, fmt.Errorf("type %v, onnxruntime %v", got.Type, want.Type)
	}
	if fmt.Sprint(got.Shape) != fmt.Sprint(want.Shape) {
		return 0, fmt.Errorf("shape %v, onnxruntime %v", got.Shape, want.Shape)
	}
	if want.Type == graph.String {
		for i := range want.Str {
			if got.Str[i] != want.Str[i] {
				return 0, fmt.Errorf("element %d: %q, onnxruntime %q", i, got.Str[i], want.Str[i])
			}
		}
		return 0, nil
	}
	g, err := got.Float64s()
	if err != nil {
		return 0, err
	}
	w, _ := want.Float64s()
	worst := 0.0
	for i := range w {
		if math.IsNaN(g[i]) && math.IsNaN(w[i]) || g[i] == w[i] {
			continue
		}
		d := math.Abs(g[i] - w[i])
		if !(d <= 1e-5) {
			return d, fmt.Errorf("element %d: %v, onnxruntime %v", i, g[i], w[i])
		}
		worst = max(worst, d)
	}
	return worst, nil
}

// TestMLOperatorsMatchORT runs every small ai.onnx.ml graph of
// testdata/mlops through our executor and through onnxruntime and compares
// every output.
func TestMLOperatorsMatchORT(t *testing.T) {
	var cases map[string]ortCase
	b, err := os.ReadFile("testdata/mlops/cases.json")
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &cases); err != nil {
		t.Fatal(err)
	}
	names := make([]string, 0, len(cases))
	for n := range cases {
		names = append(names, n)
	}
	sort.Strings(names)
	list := make([]ortCase, len(names))
	for i, n := range names {
		c := cases[n]
		c.Model, _ = filepath.Abs(filepath.Join("testdata", "mlops", c.Model))
		list[i] = c
	}
	res := runORT(t, list)
	for i, name := range names {
		c, r := list[i], res[i]
		t.Run(name, func(t *testing.T) {
			if e, ok := r["error"]; ok {
				t.Fatalf("onnxruntime: %s", e)
			}
			data, err := os.ReadFile(c.Model)
			if err != nil {
				t.Fatal(err)
			}
			g, err := graph.Load(data)
			if err != nil {
				t.Fatal(err)
			}
			feeds := map[string]*graph.Tensor{}
			for n, f := range c.Feeds {
				if feeds[n], err = fromJSON(f); err != nil {
					t.Fatal(err)
				}
			}
			got, err := g.Run(context.Background(), feeds)
			if err != nil {
				t.Fatal(err)
			}
			for n, raw := range r {
				var want jsonTensor
				if err := json.Unmarshal(raw, &want); err != nil {
					t.Fatal(err)
				}
				if _, err := compareORT(got[n], want); err != nil {
					t.Errorf("output %q: %v", n, err)
				}
			}
		})
	}
}

// TestFixturesMatchORT runs the scikit-learn fixtures through onnxruntime
// on the same rows and compares every output: labels exactly,
// probabilities and values to 1e-5. onnxruntime-node cannot return
// ZipMap's seq(map), so it runs each model's twin (testdata/*.ort.onnx)
// that outputs the tensor ZipMap relabels, and our ZipMap output is
// compared to that tensor.
func TestFixturesMatchORT(t *testing.T) {
	fixtures := loadFixtures(t)
	var cases []ortCase
	var feeds []map[string]*graph.Tensor
	for _, f := range fixtures {
		g, err := graph.Load(f.model)
		if err != nil {
			t.Fatal(err)
		}
		fd := fixtureFeeds(t, f, g)
		feeds = append(feeds, fd)
		model := filepath.Join("testdata", f.Name+".ort.onnx")
		if _, err := os.Stat(model); err != nil {
			model = filepath.Join("testdata", f.Name+".onnx")
		}
		model, _ = filepath.Abs(model)
		c := ortCase{Model: model, Feeds: map[string]jsonTensor{}}
		for n, x := range fd {
			c.Feeds[n] = toJSON(x)
		}
		cases = append(cases, c)
	}
	res := runORT(t, cases)
	for i, f := range fixtures {
		r := res[i]
		t.Run(f.Name, func(t *testing.T) {
			if e, ok := r["error"]; ok {
				t.Fatalf("onnxruntime: %s", e)
			}
			g, _ := graph.Load(f.model)
			got, err := g.Run(context.Background(), feeds[i])
			if err != nil {
				t.Fatal(err)
			}
			zipIn := zipMapInputs(t, f.model)
			compared := 0
			for name, out := range got {
				ortName := name
				if in, ok := zipIn[name]; ok {
					ortName = in
				}
				raw, ok := r[ortName]
				if !ok {
					t.Fatalf("onnxruntime gave no %q", ortName)
				}
				var want jsonTensor
				if err := json.Unmarshal(raw, &want); err != nil {
					t.Fatal(err)
				}
				worst, err := compareORT(out, want)
				if err != nil {
					t.Errorf("output %q: %v", name, err)
				}
				compared++
				t.Logf("output %q: worst difference from onnxruntime %.2g", name, worst)
			}
			if compared != len(got) || compared == 0 {
				t.Errorf("compared %d of %d outputs", compared, len(got))
			}
		})
	}
}

// zipMapInputs maps each ZipMap output to the tensor it relabels.
func zipMapInputs(t testing.TB, data []byte) map[string]string {
	m, err := onnxpb.DecodeModel(data)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, n := range m.Graph.Nodes {
		if n.OpType == "ZipMap" {
			out[n.Outputs[0]] = n.Inputs[0]
		}
	}
	return out
}

// fixtureFeeds builds the graph inputs from a fixture's rows: one [N, F]
// input, or one [N, 1] input per column, typed as the graph declares.
func fixtureFeeds(t testing.TB, f *fixture, g *graph.Graph) map[string]*graph.Tensor {
	t.Helper()
	feeds := map[string]*graph.Tensor{}
	rows := len(f.Rows)
	for _, in := range g.Inputs {
		cols := []int{}
		if len(g.Inputs) == 1 {
			for c := range f.Features {
				cols = append(cols, c)
			}
		} else {
			for c, ft := range f.Features {
				if ft.Name == in.Name {
					cols = append(cols, c)
				}
			}
		}
		x := &graph.Tensor{}
		if err := x.Resize(in.Type, rows, len(cols)); err != nil {
			t.Fatal(err)
		}
		for r := 0; r < rows; r++ {
			for j, c := range cols {
				v := f.Rows[r][c]
				k := r*len(cols) + j
				switch in.Type {
				case graph.Float:
					x.F32[k] = float32(v.(float64))
				case graph.Double:
					x.F64[k] = v.(float64)
				case graph.String:
					x.Str[k] = v.(string)
				default:
					t.Fatalf("input %q of type %v", in.Name, in.Type)
				}
			}
		}
		feeds[in.Name] = x
	}
	return feeds
}

func toJSON(x *graph.Tensor) jsonTensor {
	j := jsonTensor{Dims: x.Shape}
	for k, v := range jsonTypes {
		if v == x.Type {
			j.Type = k
		}
	}
	n := x.Len()
	for i := 0; i < n; i++ {
		switch x.Type {
		case graph.Float:
			j.Data = append(j.Data, float64(x.F32[i]))
		case graph.Double:
			j.Data = append(j.Data, x.F64[i])
		case graph.Int64:
			j.Data = append(j.Data, x.I64[i])
		case graph.String:
			j.Data = append(j.Data, x.Str[i])
		}
	}
	return j
}
