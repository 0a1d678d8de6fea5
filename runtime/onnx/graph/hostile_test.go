package graph

import (
	"context"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"google.golang.org/protobuf/encoding/protowire"
)

// A tiny ONNX writer for crafting hostile files.

type pb []byte

func (b pb) str(num protowire.Number, s string) pb {
	b = protowire.AppendTag(b, num, protowire.BytesType)
	return protowire.AppendString(b, s)
}

func (b pb) msg(num protowire.Number, m pb) pb {
	b = protowire.AppendTag(b, num, protowire.BytesType)
	return protowire.AppendBytes(b, m)
}

func (b pb) varint(num protowire.Number, v int64) pb {
	b = protowire.AppendTag(b, num, protowire.VarintType)
	return protowire.AppendVarint(b, uint64(v))
}

func (b pb) float(num protowire.Number, v float32) pb {
	b = protowire.AppendTag(b, num, protowire.Fixed32Type)
	return protowire.AppendFixed32(b, math.Float32bits(v))
}

func nodePB(op, domain string, ins, outs []string, attrs ...pb) pb {
	var n pb
	for _, i := range ins {
		n = n.str(1, i)
	}
	for _, o := range outs {
		n = n.str(2, o)
	}
	n = n.str(4, op)
	if domain != "" {
		n = n.str(7, domain)
	}
	for _, a := range attrs {
		n = n.msg(5, a)
	}
	return n
}

func intsAttr(name string, v ...int64) pb {
	a := pb{}.str(1, name).varint(20, 7)
	for _, x := range v {
		a = a.varint(8, x)
	}
	return a
}

func floatsAttr(name string, v ...float32) pb {
	a := pb{}.str(1, name).varint(20, 6)
	for _, x := range v {
		a = a.float(7, x)
	}
	return a
}

func stringsAttr(name string, v ...string) pb {
	a := pb{}.str(1, name).varint(20, 8)
	for _, x := range v {
		a = a.str(9, x)
	}
	return a
}

func intAttr(name string, v int64) pb { return pb{}.str(1, name).varint(20, 2).varint(3, v) }

func valueInfo(name string, elem int64, dims ...int64) pb {
	var shape pb
	for _, d := range dims {
		shape = shape.msg(1, pb{}.varint(1, d))
	}
	tt := pb{}.varint(1, elem).msg(2, shape)
	return pb{}.str(1, name).msg(2, pb{}.msg(1, tt))
}

func modelPB(nodes []pb, inits []pb, inputs, outputs []pb) []byte {
	var g pb
	for _, n := range nodes {
		g = g.msg(1, n)
	}
	g = g.str(2, "g")
	for _, t := range inits {
		g = g.msg(5, t)
	}
	for _, i := range inputs {
		g = g.msg(11, i)
	}
	for _, o := range outputs {
		g = g.msg(12, o)
	}
	m := pb{}.varint(1, 8).msg(8, pb{}.varint(2, 15)).msg(8, pb{}.str(1, "ai.onnx.ml").varint(2, 3)).msg(7, g)
	return m
}

// treeRegressor builds a TreeEnsembleRegressor over a [N,2] float input.
func treeRegressor(trueIDs, falseIDs []int64, targetIDs []int64) []byte {
	n := nodePB("TreeEnsembleRegressor", "ai.onnx.ml", []string{"X"}, []string{"Y"},
		intsAttr("nodes_treeids", 0, 0, 0),
		intsAttr("nodes_nodeids", 0, 1, 2),
		intsAttr("nodes_featureids", 0, 0, 0),
		stringsAttr("nodes_modes", "BRANCH_LEQ", "LEAF", "LEAF"),
		floatsAttr("nodes_values", 0.5, 0, 0),
		intsAttr("nodes_truenodeids", trueIDs...),
		intsAttr("nodes_falsenodeids", falseIDs...),
		intsAttr("target_treeids", 0, 0),
		intsAttr("target_nodeids", 1, 2),
		intsAttr("target_ids", targetIDs...),
		floatsAttr("target_weights", 1, 2),
		intAttr("n_targets", 1))
	return modelPB([]pb{n}, nil, []pb{valueInfo("X", 1, -1, 2)}, []pb{valueInfo("Y", 1, -1, 1)})
}

// TestHostileModels: malformed and hostile files are refused with a clear
// error, never a panic or an unbounded allocation.
func TestHostileModels(t *testing.T) {
	relu := nodePB("Relu", "", []string{"x"}, []string{"y"})
	ok := modelPB([]pb{relu}, nil, []pb{valueInfo("x", 1, 2)}, []pb{valueInfo("y", 1, 2)})
	if _, err := Load(ok); err != nil {
		t.Fatalf("the well-formed base model: %v", err)
	}
	hugeLen := protowire.AppendVarint(protowire.AppendTag(nil, 7, protowire.BytesType), 1<<60)
	cases := []struct {
		name, want string
		data       []byte
	}{
		{"empty", "no graph", nil},
		{"garbage", "", []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}},
		{"huge declared length", "truncated", hugeLen},
		{"graph as a varint", "wire type", pb{}.varint(7, 3)},
		{"cycle", "cycle", modelPB([]pb{
			nodePB("Relu", "", []string{"b"}, []string{"a"}),
			nodePB("Relu", "", []string{"a"}, []string{"b"}),
		}, nil, nil, []pb{valueInfo("a", 1, 2)})},
		{"self loop", "cycle", modelPB([]pb{nodePB("Add", "", []string{"x", "a"}, []string{"a"})}, nil,
			[]pb{valueInfo("x", 1, 2)}, []pb{valueInfo("a", 1, 2)})},
		{"undefined input", "not a graph input", modelPB([]pb{nodePB("Relu", "", []string{"nope"}, []string{"y"})}, nil,
			nil, []pb{valueInfo("y", 1, 2)})},
		{"value defined twice", "two nodes", modelPB([]pb{relu, relu}, nil, []pb{valueInfo("x", 1, 2)}, []pb{valueInfo("y", 1, 2)})},
		{"unknown operator", "operator Frobnicate is not supported", modelPB([]pb{nodePB("Frobnicate", "", []string{"x"}, []string{"y"})}, nil,
			[]pb{valueInfo("x", 1, 2)}, []pb{valueInfo("y", 1, 2)})},
		{"unknown attribute", `attribute "colour" is not supported`, modelPB([]pb{nodePB("Relu", "", []string{"x"}, []string{"y"}, intAttr("colour", 1))}, nil,
			[]pb{valueInfo("x", 1, 2)}, []pb{valueInfo("y", 1, 2)})},
		{"wrong attribute type", "is INTS, INT expected", modelPB([]pb{nodePB("Flatten", "", []string{"x"}, []string{"y"}, intsAttr("axis", 1))}, nil,
			[]pb{valueInfo("x", 1, 2)}, []pb{valueInfo("y", 1, 2)})},
		{"absurd initializer dims", "elements", modelPB([]pb{relu}, []pb{pb{}.varint(1, 1<<20).varint(1, 1<<20).varint(1, 1<<20).varint(2, 1).str(8, "w")},
			[]pb{valueInfo("x", 1, 2)}, []pb{valueInfo("y", 1, 2)})},
		{"negative dim", "dimension", modelPB([]pb{relu}, []pb{pb{}.varint(1, -5).varint(2, 1).str(8, "w")},
			[]pb{valueInfo("x", 1, 2)}, []pb{valueInfo("y", 1, 2)})},
		{"data shorter than dims", "needs", modelPB([]pb{relu}, []pb{pb{}.varint(1, 1000).varint(2, 1).str(8, "w").str(9, "abcd")},
			[]pb{valueInfo("x", 1, 2)}, []pb{valueInfo("y", 1, 2)})},
		{"ConstantOfShape absurd", "dimension", modelPB([]pb{
			nodePB("ConstantOfShape", "", []string{"s"}, []string{"y"}),
		}, []pb{pb{}.varint(1, 2).varint(2, 7).str(8, "s").varint(7, 1<<30).varint(7, 1<<30)}, nil, []pb{valueInfo("y", 1, -1, -1)})},
		{"tree child out of range", "not in the tree", treeRegressor([]int64{99, 0, 0}, []int64{2, 0, 0}, []int64{0, 0})},
		{"tree child is itself", "points to itself", treeRegressor([]int64{0, 0, 0}, []int64{2, 0, 0}, []int64{0, 0})},
		{"tree target out of range", "outside", treeRegressor([]int64{1, 0, 0}, []int64{2, 0, 0}, []int64{0, 7})},
		{"unknown opset version", "version", append(pb{}.msg(8, pb{}.varint(2, 999)), modelPB([]pb{relu}, nil, []pb{valueInfo("x", 1, 2)}, []pb{valueInfo("y", 1, 2)})...)},
	}
	if *update {
		writeSeeds(t, cases)
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Load(c.data)
			if err == nil {
				t.Fatal("loaded")
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %q does not say %q", err, c.want)
			}
		})
	}
}

// writeSeeds stores the hostile cases as FuzzLoad's committed corpus.
func writeSeeds(t *testing.T, cases []struct {
	name, want string
	data       []byte
}) {
	dir := filepath.Join("testdata", "fuzz", "FuzzLoad")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, c := range cases {
		name := strings.ReplaceAll(c.name, " ", "_")
		body := "go test fuzz v1\n[]byte(" + strconv.Quote(string(c.data)) + ")\n"
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// TestTruncatedModels: every prefix of a real model is refused or loads,
// never panics.
func TestTruncatedModels(t *testing.T) {
	data, err := os.ReadFile("../testdata/pipeline_breast.onnx")
	if err != nil {
		t.Fatal(err)
	}
	refused := 0
	for n := 0; n < len(data); n++ {
		if _, err := Load(data[:n]); err != nil {
			refused++
		}
	}
	if refused < len(data)*9/10 {
		t.Fatalf("only %d of %d truncations refused", refused, len(data))
	}
}

// TestHostileRuntimeInputs: runtime shapes that would allocate absurdly
// or index out of range give errors.
func TestHostileRuntimeInputs(t *testing.T) {
	expand := modelPB([]pb{nodePB("Expand", "", []string{"x", "s"}, []string{"y"})}, nil,
		[]pb{valueInfo("x", 1, 1), valueInfo("s", 7, 2)}, []pb{valueInfo("y", 1, -1, -1)})
	g, err := Load(expand)
	if err != nil {
		t.Fatal(err)
	}
	_, err = g.Run(context.Background(), map[string]*Tensor{
		"x": NewFloat([]int{1}, []float32{1}),
		"s": NewInt64([]int{2}, []int64{1 << 30, 1 << 30}),
	})
	if err == nil || !strings.Contains(err.Error(), "dimension") {
		t.Fatalf("absurd Expand: %v", err)
	}
	g, err = Load(treeRegressor([]int64{1, 0, 0}, []int64{2, 0, 0}, []int64{0, 0}))
	if err != nil {
		t.Fatal(err)
	}
	if _, err = g.Run(context.Background(), map[string]*Tensor{"X": NewFloat([]int{2, 0}, nil)}); err == nil {
		t.Fatal("a tree read a feature the input lacks")
	}
}

// FuzzLoad: no input makes Load (or running a loaded graph on small
// inputs) panic. The seed corpus is testdata/fuzz/FuzzLoad plus the
// fixture models.
func FuzzLoad(f *testing.F) {
	paths, _ := filepath.Glob("../testdata/mlops/*.onnx")
	for _, p := range paths[:min(len(paths), 12)] {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b)
		}
	}
	f.Add(treeRegressor([]int64{1, 0, 0}, []int64{2, 0, 0}, []int64{0, 0}))
	f.Fuzz(func(t *testing.T, data []byte) {
		g, err := Load(data)
		if err != nil {
			return
		}
		feeds := map[string]*Tensor{}
		for _, in := range g.Inputs {
			shape := []int{}
			for _, d := range in.Shape {
				shape = append(shape, max(1, min(d, 4)))
			}
			x := &Tensor{}
			dt := in.Type
			if !dt.Supported() || dt < 0 {
				return
			}
			if err := x.Resize(dt, shape...); err != nil {
				return
			}
			feeds[in.Name] = x
		}
		_, _ = g.Run(context.Background(), feeds)
	})
}
