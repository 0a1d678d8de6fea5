// Package onnx runs ONNX models (scikit-learn through skl2onnx, XGBoost and
// LightGBM through onnxmltools, small exported networks) in pure Go, as a
// thin tabular layer over the general executor in runtime/onnx/graph.
//
// Open maps the bundle's feature schema onto the graph's inputs — one
// [N, F] numeric input takes every feature in schema order, or one input per
// feature is matched by name (string inputs take the raw categories) — and
// picks the outputs: for a classifier the probabilities (a tensor, or
// ZipMap's seq(map), which carries the class labels), for a regressor the
// value. Everything is checked at load time, including a one-row dry run,
// so no unsupported operator, attribute or type mismatch reaches Predict.
//
// Importing the package registers the format "onnx".
package onnx

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strconv"

	"github.com/modelfn/modelfn/runtime"
	"github.com/modelfn/modelfn/runtime/onnx/graph"
	"github.com/modelfn/modelfn/runtime/onnx/onnxpb"
)

// Format is the registry name.
const Format = "onnx"

func init() { runtime.Register(Format, Open) }

type model struct {
	g    *graph.Graph
	info runtime.Info
	// feeds says how each graph input is filled from a batch.
	feeds []feed
	// perm[j] is the output column holding spec class j's probability.
	perm  []int
	width int // columns of the model's output
}

// feed fills one graph input: all features ([N, F]) or one (col >= 0).
type feed struct {
	name string
	typ  graph.DataType
	col  int  // -1: every feature in schema order
	flat bool // shape [N] rather than [N, 1]
	// cats marks categorical columns feeding a numeric input: their raw
	// text (a category such as "3") is parsed, not their schema position.
	cats []bool
}

// Open loads an ONNX model file for the given schema. With an empty spec
// (no schema) it only reads what the model says about itself, for
// `modelfn init`; such a model refuses to predict.
func Open(data []byte, spec runtime.Spec) (runtime.Model, error) {
	pm, err := onnxpb.DecodeModel(data)
	if err != nil {
		return nil, err
	}
	if pm.Graph == nil {
		return nil, fmt.Errorf("onnx model: no graph")
	}
	out, labels, task, err := pickOutput(pm.Graph, spec.Task)
	if err != nil {
		return nil, fmt.Errorf("onnx model: %w", err)
	}
	g, err := graph.Compile(pm, out)
	if err != nil {
		return nil, err
	}
	m := &model{g: g, info: runtime.Info{Format: Format, Task: task, Outputs: 1}, width: 1}
	if task == runtime.Classification {
		if err := m.setClasses(labels, spec.Classes); err != nil {
			return nil, fmt.Errorf("onnx model: %w", err)
		}
	}
	if spec.Schema == nil {
		return m, nil
	}
	if err := m.mapInputs(spec.Schema); err != nil {
		return nil, fmt.Errorf("onnx model: %w", err)
	}
	if err := m.dryRun(spec.Schema); err != nil {
		return nil, fmt.Errorf("onnx model: does not run on the schema's inputs: %w", err)
	}
	return m, nil
}

func (m *model) Info() runtime.Info { return m.info }

// pickOutput chooses the graph output to compute and, for a classifier,
// the class labels the model records.
func pickOutput(pg *onnxpb.Graph, want runtime.Task) (string, []string, runtime.Task, error) {
	var label, prob, value *onnxpb.ValueInfo
	for _, o := range pg.Outputs {
		t := o.Type
		if t == nil {
			continue
		}
		switch {
		case t.Kind == onnxpb.KindSequence:
			if prob == nil {
				prob = o
			}
		case t.Kind != onnxpb.KindTensor:
		case graph.DataType(t.ElemType) == graph.String || graph.DataType(t.ElemType) == graph.Int64:
			if label == nil {
				label = o
			}
		case graph.DataType(t.ElemType) == graph.Float || graph.DataType(t.ElemType) == graph.Double:
			if value == nil {
				value = o
			}
		}
	}
	if prob == nil {
		prob = value
	}
	task := want
	if task == "" {
		task = runtime.Regression
		if label != nil && prob != nil {
			task = runtime.Classification
		}
	}
	switch task {
	case runtime.Classification:
		if prob == nil {
			return "", nil, "", fmt.Errorf("no probability output (a float tensor or ZipMap's map) for a classifier")
		}
		return prob.Name, classLabels(pg, prob.Name), task, nil
	case runtime.Regression:
		if value == nil {
			return "", nil, "", fmt.Errorf("no float or double output for a regressor")
		}
		return value.Name, nil, task, nil
	}
	return "", nil, "", fmt.Errorf("task %q is not classification or regression", task)
}

// classLabels finds the labels of the probability output: the ZipMap that
// produces it, else the classifier operator in the graph.
func classLabels(pg *onnxpb.Graph, out string) []string {
	for _, n := range pg.Nodes {
		if n.OpType == "ZipMap" && slices.Contains(n.Outputs, out) {
			if l := labelAttr(n); l != nil {
				return l
			}
		}
	}
	for _, n := range pg.Nodes {
		if l := labelAttr(n); l != nil {
			return l
		}
	}
	return nil
}

func labelAttr(n *onnxpb.Node) []string {
	for _, a := range n.Attrs {
		switch a.Name {
		case "classlabels_strings":
			out := make([]string, len(a.Strings))
			for i, s := range a.Strings {
				out[i] = string(s)
			}
			return out
		case "classlabels_int64s", "classlabels_ints":
			out := make([]string, len(a.Ints))
			for i, v := range a.Ints {
				out[i] = strconv.FormatInt(v, 10)
			}
			return out
		}
	}
	return nil
}

// setClasses orders the model's labels as the bundle names them.
func (m *model) setClasses(labels, want []string) error {
	if labels == nil {
		if len(want) == 0 {
			return fmt.Errorf("the model records no class labels and the bundle names none")
		}
		labels = want
	}
	m.width = len(labels)
	m.info.Outputs = len(labels)
	if len(want) == 0 {
		m.info.Classes = labels
		m.perm = make([]int, len(labels))
		for i := range m.perm {
			m.perm[i] = i
		}
		return nil
	}
	if len(want) != len(labels) {
		return fmt.Errorf("the model's classes %v differ from the bundle's %v", labels, want)
	}
	m.perm = make([]int, len(want))
	for j, c := range want {
		i := slices.Index(labels, c)
		if i < 0 {
			return fmt.Errorf("the model's classes %v differ from the bundle's %v", labels, want)
		}
		m.perm[j] = i
	}
	m.info.Classes = want
	return nil
}

// mapInputs decides how each graph input is fed.
func (m *model) mapInputs(s *runtime.Schema) error {
	ins := m.g.Inputs
	if len(ins) == 0 {
		return fmt.Errorf("the graph has no inputs")
	}
	if len(ins) == 1 {
		in := ins[0]
		if len(in.Shape) == 2 && (in.Shape[1] == s.Width() || (in.Shape[1] < 0 && s.Width() > 1)) {
			if _, byName := s.Index(in.Name); !byName || s.Width() > 1 {
				if err := numericOrString(in, s, -1); err != nil {
					return err
				}
				m.feeds = []feed{{name: in.Name, typ: in.Type, col: -1, cats: catColumns(s, -1)}}
				return nil
			}
		}
	}
	for _, in := range ins {
		col, ok := s.Index(in.Name)
		if !ok {
			return fmt.Errorf("input %q matches no feature of the schema (features: %v)", in.Name, s.Names())
		}
		f := feed{name: in.Name, typ: in.Type, col: col, cats: catColumns(s, col)}
		switch len(in.Shape) {
		case 1:
			f.flat = true
		case 2:
			if in.Shape[1] > 1 {
				return fmt.Errorf("input %q has shape %v; one column per feature expected", in.Name, in.Shape)
			}
		case 0:
			if in.Shape != nil {
				return fmt.Errorf("input %q is a scalar", in.Name)
			}
		default:
			return fmt.Errorf("input %q has shape %v; [N, 1] expected", in.Name, in.Shape)
		}
		if err := numericOrString(in, s, col); err != nil {
			return err
		}
		m.feeds = append(m.feeds, f)
	}
	return nil
}

// catColumns marks the categorical features among those a feed takes.
func catColumns(s *runtime.Schema, col int) []bool {
	var out []bool
	for i, f := range s.Features {
		if col < 0 || i == col {
			out = append(out, f.Type == runtime.Categorical)
		}
	}
	return out
}

// numericOrString checks an input's element type against the features it
// takes (col -1: all).
func numericOrString(in graph.Value, s *runtime.Schema, col int) error {
	switch in.Type {
	case graph.Float, graph.Double, graph.Int64, graph.Int32:
		return nil
	case graph.String:
		for i, f := range s.Features {
			if (col < 0 || i == col) && f.Type != runtime.Categorical {
				return fmt.Errorf("input %q is a string tensor but feature %q is numeric", in.Name, f.Name)
			}
		}
		return nil
	case graph.Undefined:
		return fmt.Errorf("input %q has no declared type", in.Name)
	}
	return fmt.Errorf("input %q has element type %v, which the schema cannot feed", in.Name, in.Type)
}

// dryRun predicts one row of zeros (first categories) so type and shape
// errors surface at load time.
func (m *model) dryRun(s *runtime.Schema) error {
	b := runtime.NewBatch(s, 1)
	r := b.Begin(0)
	for i, f := range s.Features {
		var e *runtime.InputError
		if f.Type == runtime.Categorical {
			c := ""
			if len(f.Categories) > 0 {
				c = f.Categories[0]
			}
			e = r.String(i, c, true)
		} else {
			v := 0.0
			if f.Min != nil {
				v = *f.Min
			}
			e = r.Number(i, v, "")
		}
		if e != nil {
			return e
		}
	}
	if e := r.End(); e != nil {
		return e
	}
	return m.Predict(context.Background(), b, make([]float64, m.info.Outputs))
}

// Predict fills the graph's inputs from the batch, runs it, and writes
// probabilities in class order (or the value) for every row.
func (m *model) Predict(ctx context.Context, in *runtime.Batch, out []float64) error {
	if m.feeds == nil {
		return fmt.Errorf("onnx: model opened without a schema cannot predict")
	}
	k := m.info.Outputs
	if len(out) < in.Rows*k {
		return fmt.Errorf("onnx: output has room for %d values, need %d", len(out), in.Rows*k)
	}
	if in.Rows == 0 {
		return nil
	}
	f := m.g.Acquire()
	defer m.g.Release(f)
	for i, fd := range m.feeds {
		if err := fill(m.g.Input(f, i), fd, in); err != nil {
			return fmt.Errorf("onnx: input %q: %w", fd.name, err)
		}
	}
	if err := m.g.Exec(ctx, f); err != nil {
		return fmt.Errorf("onnx: %w", err)
	}
	return m.read(m.g.Output(f, 0), in.Rows, out)
}

func fill(t *graph.Tensor, fd feed, b *runtime.Batch) error {
	w := b.Width()
	cols := 1
	if fd.col < 0 {
		cols = w
	}
	var err error
	if fd.flat {
		err = t.Resize(fd.typ, b.Rows)
	} else {
		err = t.Resize(fd.typ, b.Rows, cols)
	}
	if err != nil {
		return err
	}
	if fd.col < 0 && fd.typ == graph.Float && !slices.Contains(fd.cats, true) {
		toFloat32(t.F32, b.X[:b.Rows*w])
		return nil
	}
	for r := 0; r < b.Rows; r++ {
		for c := 0; c < cols; c++ {
			src := r*w + c
			if fd.col >= 0 {
				src = r*w + fd.col
			}
			dst := r*cols + c
			v := b.X[src]
			if fd.typ != graph.String && fd.cats[c] {
				// A category written as a number ("3") feeds its value.
				x, err := strconv.ParseFloat(b.S[src], 64)
				if b.S[src] == "" {
					x, err = math.NaN(), nil // missing
				}
				if err != nil {
					return fmt.Errorf("row %d: category %q is not a number, as the %v input needs", r, b.S[src], fd.typ)
				}
				v = x
			}
			switch fd.typ {
			case graph.Float:
				t.F32[dst] = float32(v)
			case graph.Double:
				t.F64[dst] = v
			case graph.Int64:
				if v != v {
					return fmt.Errorf("row %d: a missing value cannot be fed to an int64 input", r)
				}
				t.I64[dst] = int64(v)
			case graph.Int32:
				if v != v {
					return fmt.Errorf("row %d: a missing value cannot be fed to an int32 input", r)
				}
				t.I32[dst] = int32(v)
			case graph.String:
				t.Str[dst] = b.S[src]
			}
		}
	}
	return nil
}

// read copies the output tensor into out, reordering class columns.
func (m *model) read(t *graph.Tensor, rows int, out []float64) error {
	n := t.Len()
	if n != rows*m.width {
		return fmt.Errorf("onnx: output has shape %v, expected %d rows of %d", t.Shape, rows, m.width)
	}
	k := m.info.Outputs
	switch t.Type {
	case graph.Float, graph.SeqMapString, graph.SeqMapInt64:
		v := t.F32[:n]
		if m.perm == nil {
			for i, x := range v {
				out[i] = float64(x)
			}
			return nil
		}
		for r := 0; r < rows; r++ {
			for j, p := range m.perm {
				out[r*k+j] = float64(v[r*m.width+p])
			}
		}
	case graph.Double:
		v := t.F64[:n]
		if m.perm == nil {
			copy(out, v)
			return nil
		}
		for r := 0; r < rows; r++ {
			for j, p := range m.perm {
				out[r*k+j] = v[r*m.width+p]
			}
		}
	default:
		return fmt.Errorf("onnx: output is %v, not float or double", t.Type)
	}
	return nil
}

// toFloat32 converts src into dst four values at a time: a conversion
// writes only the low lanes of its register, so one at a time each waits
// for the last, and four independent ones run about four times faster.
func toFloat32(dst []float32, src []float64) {
	dst = dst[:len(src)]
	i := 0
	for ; i+4 <= len(src); i += 4 {
		s := src[i : i+4 : i+4]
		a, b, c, d := float32(s[0]), float32(s[1]), float32(s[2]), float32(s[3])
		o := dst[i : i+4 : i+4]
		o[0], o[1], o[2], o[3] = a, b, c, d
	}
	for ; i < len(src); i++ {
		dst[i] = float32(src[i])
	}
}
