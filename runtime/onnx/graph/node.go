package graph

import (
	"fmt"
	"math"

	"github.com/modelfn/modelfn/runtime/onnx/onnxpb"
)

// opKey names an operator.
type opKey struct{ domain, op string }

// opSpec is how to build an operator's kernel.
type opSpec struct {
	minIn, maxIn   int // maxIn -1: variadic
	minOut, maxOut int
	build          func(n *node) (kernel, error)
	// nondeterministic operators are never folded at load time.
	nondeterministic bool
}

var registry = map[opKey]opSpec{}

func register(domain, op string, minIn, maxIn, minOut, maxOut int, build func(n *node) (kernel, error)) {
	registry[opKey{domain, op}] = opSpec{minIn: minIn, maxIn: maxIn, minOut: minOut, maxOut: maxOut, build: build}
}

// Supported lists the operators this package implements, as
// "domain:OpType" ("" for ai.onnx).
func Supported() []string {
	out := make([]string, 0, len(registry))
	for k := range registry {
		out = append(out, k.domain+":"+k.op)
	}
	return out
}

// IsSupported reports whether an operator is implemented.
func IsSupported(domain, op string) bool {
	if domain == "ai.onnx" {
		domain = ""
	}
	_, ok := registry[opKey{domain, op}]
	return ok
}

// node is what a kernel builder sees: the node, its opset version, its
// attributes (each read marks it used; unread ones refuse the model), and
// the values of its constant inputs.
type node struct {
	*onnxpb.Node
	version int64
	name    string
	attrs   map[string]*onnxpb.Attribute
	used    map[string]bool
	consts  []*Tensor // per input; nil when computed or absent
	nout    int
}

func (n *node) arity(s opSpec) error {
	nin := len(n.consts)
	if nin < s.minIn || (s.maxIn >= 0 && nin > s.maxIn) {
		return fmt.Errorf("operator %s: %d inputs given, %d to %d expected", n.name, nin, s.minIn, s.maxIn)
	}
	if n.nout < s.minOut || (s.maxOut >= 0 && n.nout > s.maxOut) {
		return fmt.Errorf("operator %s: %d outputs given, %d to %d expected", n.name, n.nout, s.minOut, s.maxOut)
	}
	return nil
}

// hasInput reports whether optional input i is given.
func (n *node) hasInput(i int) bool {
	return i < len(n.Inputs) && n.Inputs[i] != "" && i < len(n.consts)
}

// constInput is input i's value when it is a constant.
func (n *node) constInput(i int) *Tensor {
	if i < len(n.consts) {
		return n.consts[i]
	}
	return nil
}

func (n *node) attr(name string, want onnxpb.AttrType) (*onnxpb.Attribute, error) {
	a, ok := n.attrs[name]
	if !ok {
		return nil, nil
	}
	n.used[name] = true
	if a.Type != want {
		return nil, fmt.Errorf("attribute %q is %v, %v expected", name, a.Type, want)
	}
	return a, nil
}

// has reports whether an attribute is present (without marking it used).
func (n *node) has(name string) bool {
	_, ok := n.attrs[name]
	return ok
}

// ignore marks attributes that carry no meaning for inference.
func (n *node) ignore(names ...string) {
	for _, a := range names {
		n.used[a] = true
	}
}

func (n *node) int(name string, def int64) (int64, error) {
	a, err := n.attr(name, onnxpb.AttrInt)
	if err != nil || a == nil {
		return def, err
	}
	return a.I, nil
}

func (n *node) float(name string, def float32) (float32, error) {
	a, err := n.attr(name, onnxpb.AttrFloat)
	if err != nil || a == nil {
		return def, err
	}
	return a.F, nil
}

func (n *node) string(name, def string) (string, error) {
	a, err := n.attr(name, onnxpb.AttrString)
	if err != nil || a == nil {
		return def, err
	}
	return string(a.S), nil
}

func (n *node) ints(name string) ([]int64, bool, error) {
	a, err := n.attr(name, onnxpb.AttrInts)
	if err != nil || a == nil {
		return nil, false, err
	}
	return a.Ints, true, nil
}

func (n *node) floats(name string) ([]float32, bool, error) {
	a, err := n.attr(name, onnxpb.AttrFloats)
	if err != nil || a == nil {
		return nil, false, err
	}
	return a.Floats, true, nil
}

func (n *node) strings(name string) ([]string, bool, error) {
	a, err := n.attr(name, onnxpb.AttrStrings)
	if err != nil || a == nil {
		return nil, false, err
	}
	out := make([]string, len(a.Strings))
	for i, s := range a.Strings {
		out[i] = string(s)
	}
	return out, true, nil
}

func (n *node) tensor(name string) (*Tensor, error) {
	a, err := n.attr(name, onnxpb.AttrTensor)
	if err != nil || a == nil {
		return nil, err
	}
	return FromProto(a.T)
}

// axis normalises a possibly negative axis against a rank.
func axis(a int64, rank int) (int, error) {
	if a < -int64(rank) || a >= int64(rank) {
		return 0, fmt.Errorf("axis %d out of range for rank %d", a, rank)
	}
	if a < 0 {
		a += int64(rank)
	}
	return int(a), nil
}

// clampInt converts an int64 attribute to int without overflow surprises.
func clampInt(v int64) int {
	if v > math.MaxInt32 {
		return math.MaxInt32
	}
	if v < math.MinInt32 {
		return math.MinInt32
	}
	return int(v)
}

func errType(t DataType) error { return fmt.Errorf("element type %v is not supported here", t) }
