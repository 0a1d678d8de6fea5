package graph

import (
	"fmt"

	"github.com/modelfn/modelfn/runtime/onnx/onnxpb"
)

// Dense-layer fusion: MatMul by a constant matrix, then Add of a constant
// bias row, then (optionally) Relu — the shape every exported MLP layer
// has — run as one kernel that starts each output row at the bias, adds
// the product and clips in place, instead of three passes over memory.

// useCounts counts the readers of every value (graph outputs count too)
// and remembers a reader for values read once.
func useCounts(pg *onnxpb.Graph) (map[string]int, map[string]*onnxpb.Node) {
	uses := map[string]int{}
	consumer := map[string]*onnxpb.Node{}
	for _, n := range pg.Nodes {
		for _, in := range n.Inputs {
			if in != "" {
				uses[in]++
				consumer[in] = n
			}
		}
	}
	for _, o := range pg.Outputs {
		uses[o.Name]++
	}
	return uses, consumer
}

func plainONNX(n *onnxpb.Node, op string, nin int) bool {
	return n != nil && n.OpType == op && (n.Domain == "" || n.Domain == "ai.onnx") &&
		len(n.Attrs) == 0 && len(n.Inputs) == nin && len(n.Outputs) == 1
}

// fuseDense builds the fused step starting at n, or returns nil when n
// does not start a dense layer with constant weights and bias.
func (g *Graph) fuseDense(n *onnxpb.Node, uses map[string]int, consumer map[string]*onnxpb.Node,
	slot map[string]int, newSlot func(string) (int, error), fused map[*onnxpb.Node]bool) *step {
	if !plainONNX(n, "MatMul", 2) || g.Opsets[DomainONNX] < 1 {
		return nil
	}
	xs, ok1 := slot[n.Inputs[0]]
	ws, ok2 := slot[n.Inputs[1]]
	if !ok1 || !ok2 || g.consts[xs] != nil {
		return nil
	}
	w := g.consts[ws]
	if w == nil || w.Type != Float || w.Rank() != 2 {
		return nil
	}
	mid := n.Outputs[0]
	add := consumer[mid]
	if uses[mid] != 1 || !plainONNX(add, "Add", 2) {
		return nil
	}
	other := add.Inputs[0]
	if other == mid {
		other = add.Inputs[1]
	}
	bs, ok := slot[other]
	if !ok || other == mid {
		return nil
	}
	bias := g.consts[bs]
	cols := w.Shape[1]
	if bias == nil || bias.Type != Float || bias.Len() != cols || !trailing(bias.Shape, []int{1, cols}) {
		return nil
	}
	out := add.Outputs[0]
	var relu *onnxpb.Node
	if r := consumer[out]; uses[out] == 1 && plainONNX(r, "Relu", 1) {
		relu, out = r, r.Outputs[0]
	}
	os, err := newSlot(out)
	if err != nil {
		return nil
	}
	fused[add] = true
	name := "MatMul+Add"
	if relu != nil {
		fused[relu] = true
		name += "+Relu"
	}
	if n.Name != "" {
		name += fmt.Sprintf(" (node %q)", n.Name)
	}
	d := &dense{w: w, bias: bias.F32[:cols], relu: relu != nil}
	return &step{name: name, k: d, in: []int{xs}, out: []int{os}}
}

type dense struct {
	w    *Tensor
	bias []float32
	relu bool
}

func (d *dense) run(in, out []*Tensor) error {
	x, y := in[0], out[0]
	k, n := d.w.Shape[0], d.w.Shape[1]
	if x.Type != Float || x.Rank() != 2 || x.Shape[1] != k {
		// Anything else: the unfused operators, step by step.
		var tmp Tensor
		if err := matmul(x, d.w, &tmp); err != nil {
			return err
		}
		b := &Tensor{Type: Float, Shape: []int{n}, F32: d.bias}
		if err := arith(opAdd, &tmp, b, y); err != nil {
			return err
		}
		if d.relu {
			copyTensor(&tmp, y)
			return relu(&tmp, y)
		}
		return nil
	}
	m := x.Shape[0]
	if err := y.Resize(Float, m, n); err != nil {
		return err
	}
	c := y.F32
	if haveFMA && n >= 8 {
		gemmRowsParallel(m, n, k, x.F32, k, d.w.F32, n, c, d.bias, d.relu) // bias and Relu in the kernel
		return nil
	}
	for i := 0; i < m; i++ {
		copy(c[i*n:(i+1)*n], d.bias)
	}
	gemmF32(m, n, k, x.F32, k, false, d.w.F32, n, false, c, 1, 1)
	if d.relu {
		reluF32(c)
	}
	return nil
}
