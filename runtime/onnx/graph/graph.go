// Package graph executes ONNX graphs in pure Go: a general executor (graph
// in, named tensors out) over a plan fixed at load time.
//
// Load decodes the file, checks that every operator, attribute and opset is
// one it implements (refusing the model otherwise, naming the operator),
// orders the nodes, folds every node whose inputs are all constant, and
// builds one kernel per remaining node. Running the graph then only walks
// that plan over a pooled Frame of reused tensors, so a call allocates
// nothing once its frame has warmed up.
//
// Semantics follow onnxruntime, the reference: where the ONNX specification
// is loose (tree ensembles' binary case, post transforms computed in float
// precision), the code does what onnxruntime's CPU kernels do.
package graph

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"

	"github.com/modelfn/modelfn/runtime/onnx/onnxpb"
)

// Domains.
const (
	DomainONNX = "" // also spelled "ai.onnx"
	DomainML   = "ai.onnx.ml"
)

// Highest opset versions whose operators this package implements.
const (
	MaxOpsetONNX = 21
	MaxOpsetML   = 5
)

// Value describes a graph input or output.
type Value struct {
	Name string
	Type DataType
	// Shape holds each dimension, -1 where it is symbolic or unknown; nil
	// when the rank is unknown.
	Shape []int
	// Dims names the symbolic dimensions ("" where fixed or unknown).
	Dims []string
}

// Graph is a loaded, validated model ready to run. It is safe for
// concurrent use.
type Graph struct {
	Inputs  []Value
	Outputs []Value
	// Opsets maps each imported domain to its version.
	Opsets map[string]int64

	steps   []step
	nslots  int
	consts  []*Tensor // by slot; nil for values computed per run
	inSlot  []int
	outSlot []int
	frames  sync.Pool
}

type step struct {
	name string // "OpType (node name)" for errors
	k    kernel
	in   []int // -1 for an absent optional input
	out  []int // -1 for an unused optional output
}

// kernel runs one node. in holds nil for absent optional inputs; out
// holds the frame's reusable tensors (nil for unwanted optional outputs).
type kernel interface {
	run(in, out []*Tensor) error
}

// kernelFunc adapts a function to kernel.
type kernelFunc func(in, out []*Tensor) error

func (f kernelFunc) run(in, out []*Tensor) error { return f(in, out) }

// Load decodes and compiles a model file.
func Load(data []byte) (*Graph, error) {
	m, err := onnxpb.DecodeModel(data)
	if err != nil {
		return nil, err
	}
	return Compile(m)
}

// Compile validates and plans a decoded model. When outputs are named,
// only those are computed (nodes nothing needs are still validated, so an
// unsupported operator is refused anywhere in the graph).
func Compile(m *onnxpb.Model, outputs ...string) (*Graph, error) {
	if m.Graph == nil {
		return nil, fmt.Errorf("onnx model: no graph")
	}
	g := &Graph{Opsets: map[string]int64{}}
	for _, op := range m.Opsets {
		d := op.Domain
		if d == "ai.onnx" {
			d = DomainONNX
		}
		switch d {
		case DomainONNX:
			if op.Version < 1 || op.Version > MaxOpsetONNX {
				return nil, fmt.Errorf("onnx model: opset ai.onnx version %d is not supported (1 to %d are)", op.Version, MaxOpsetONNX)
			}
		case DomainML:
			if op.Version < 1 || op.Version > MaxOpsetML {
				return nil, fmt.Errorf("onnx model: opset ai.onnx.ml version %d is not supported (1 to %d are)", op.Version, MaxOpsetML)
			}
		}
		if d == DomainONNX || d == DomainML {
			g.Opsets[d] = op.Version
		}
	}
	if len(m.Opsets) == 0 {
		// IR version 1/2 files predate opset_import and mean opset 1.
		g.Opsets[DomainONNX] = 1
	}
	if err := g.compile(m.Graph, outputs); err != nil {
		return nil, fmt.Errorf("onnx model: %w", err)
	}
	g.frames.New = func() any { return g.newFrame() }
	return g, nil
}

// compile orders the nodes, folds constants and builds kernels.
func (g *Graph) compile(pg *onnxpb.Graph, wanted []string) error {
	if pg.SparseInitializers > 0 {
		return fmt.Errorf("sparse initializers are not supported")
	}
	slot := map[string]int{}
	newSlot := func(name string) (int, error) {
		if _, dup := slot[name]; dup {
			return 0, fmt.Errorf("value %q is defined twice", name)
		}
		slot[name] = g.nslots
		g.consts = append(g.consts, nil)
		g.nslots++
		return g.nslots - 1, nil
	}
	for _, init := range pg.Initializers {
		t, err := FromProto(init)
		if err != nil {
			return fmt.Errorf("initializer: %w", err)
		}
		s, err := newSlot(init.Name)
		if err != nil {
			return err
		}
		g.consts[s] = t
	}
	for _, in := range pg.Inputs {
		if _, isInit := slot[in.Name]; isInit {
			continue // an initializer's default: treated as a constant
		}
		v, err := valueOf(in)
		if err != nil {
			return fmt.Errorf("input %q: %w", in.Name, err)
		}
		s, err := newSlot(in.Name)
		if err != nil {
			return err
		}
		g.Inputs = append(g.Inputs, v)
		g.inSlot = append(g.inSlot, s)
	}

	order, err := topoSort(pg.Nodes, slot)
	if err != nil {
		return err
	}
	uses, consumer := useCounts(pg)
	fused := map[*onnxpb.Node]bool{}
	var steps []step
	for _, n := range order {
		if fused[n] {
			continue
		}
		if st := g.fuseDense(n, uses, consumer, slot, newSlot, fused); st != nil {
			steps = append(steps, *st)
			continue
		}
		st, err := g.buildNode(n, slot, newSlot)
		if err != nil {
			return err
		}
		if st != nil {
			steps = append(steps, *st)
		}
	}

	outs := pg.Outputs
	if len(wanted) > 0 {
		outs = nil
		for _, w := range wanted {
			found := false
			for _, o := range pg.Outputs {
				if o.Name == w {
					outs, found = append(outs, o), true
					break
				}
			}
			if !found {
				return fmt.Errorf("graph has no output %q", w)
			}
		}
	}
	if len(outs) == 0 {
		return fmt.Errorf("graph has no outputs")
	}
	for _, o := range outs {
		s, ok := slot[o.Name]
		if !ok {
			return fmt.Errorf("output %q is not computed by any node", o.Name)
		}
		v, err := valueOf(o)
		if err != nil {
			return fmt.Errorf("output %q: %w", o.Name, err)
		}
		g.Outputs = append(g.Outputs, v)
		g.outSlot = append(g.outSlot, s)
	}
	g.steps = prune(steps, g.outSlot, g.nslots)
	return nil
}

// buildNode builds a node's kernel, or folds it into constants when all its
// inputs are constant.
func (g *Graph) buildNode(n *onnxpb.Node, slot map[string]int, newSlot func(string) (int, error)) (*step, error) {
	domain := n.Domain
	if domain == "ai.onnx" {
		domain = DomainONNX
	}
	name := n.OpType
	if domain != DomainONNX {
		name = domain + "." + n.OpType
	}
	if n.Name != "" {
		name += fmt.Sprintf(" (node %q)", n.Name)
	}
	version, ok := g.Opsets[domain]
	if !ok {
		return nil, fmt.Errorf("operator %s: domain %q is not imported or not supported", name, domain)
	}
	spec, ok := registry[opKey{domain, n.OpType}]
	if !ok {
		return nil, fmt.Errorf("operator %s is not supported", name)
	}
	nc := &node{Node: n, version: version, name: name, attrs: map[string]*onnxpb.Attribute{}, used: map[string]bool{}}
	for _, a := range n.Attrs {
		if a.RefAttrName != "" {
			return nil, fmt.Errorf("operator %s: attribute %q refers to a function attribute", name, a.Name)
		}
		if _, dup := nc.attrs[a.Name]; dup {
			return nil, fmt.Errorf("operator %s: attribute %q given twice", name, a.Name)
		}
		nc.attrs[a.Name] = a
	}
	st := &step{name: name}
	allConst := true
	for _, in := range n.Inputs {
		if in == "" {
			st.in = append(st.in, -1)
			nc.consts = append(nc.consts, nil)
			continue
		}
		s, ok := slot[in]
		if !ok {
			return nil, fmt.Errorf("operator %s: input %q is not a graph input, initializer or earlier node output", name, in)
		}
		st.in = append(st.in, s)
		nc.consts = append(nc.consts, g.consts[s])
		if g.consts[s] == nil {
			allConst = false
		}
	}
	for len(nc.consts) > 0 && st.in[len(st.in)-1] == -1 { // trailing absent inputs
		st.in = st.in[:len(st.in)-1]
		nc.consts = nc.consts[:len(nc.consts)-1]
	}
	nc.nout = len(n.Outputs)
	for len(n.Outputs) > 0 && nc.nout > 0 && n.Outputs[nc.nout-1] == "" {
		nc.nout--
	}
	if err := nc.arity(spec); err != nil {
		return nil, err
	}
	k, err := spec.build(nc)
	if err != nil {
		return nil, fmt.Errorf("operator %s: %w", name, err)
	}
	for a := range nc.attrs {
		if !nc.used[a] {
			return nil, fmt.Errorf("operator %s: attribute %q is not supported", name, a)
		}
	}
	for _, out := range n.Outputs[:nc.nout] {
		if out == "" {
			st.out = append(st.out, -1)
			continue
		}
		s, err := newSlot(out)
		if err != nil {
			return nil, fmt.Errorf("operator %s: %w", name, err)
		}
		st.out = append(st.out, s)
	}
	if allConst && !spec.nondeterministic {
		// Fold: run once now; the outputs become constants.
		in := make([]*Tensor, len(st.in))
		for i, s := range st.in {
			if s >= 0 {
				in[i] = g.consts[s]
			}
		}
		out := make([]*Tensor, len(st.out))
		for i, s := range st.out {
			if s >= 0 {
				out[i] = &Tensor{}
			}
		}
		if err := k.run(in, out); err != nil {
			return nil, fmt.Errorf("operator %s: %w", name, err)
		}
		for i, s := range st.out {
			if s >= 0 {
				g.consts[s] = out[i]
			}
		}
		return nil, nil
	}
	st.k = k
	return st, nil
}

// topoSort orders nodes so every input is produced before it is read,
// refusing cycles and inputs nothing produces.
func topoSort(nodes []*onnxpb.Node, known map[string]int) ([]*onnxpb.Node, error) {
	producer := map[string]int{}
	for i, n := range nodes {
		for _, o := range n.Outputs {
			if o == "" {
				continue
			}
			if _, dup := producer[o]; dup {
				return nil, fmt.Errorf("value %q is produced by two nodes", o)
			}
			if _, dup := known[o]; dup {
				return nil, fmt.Errorf("value %q is both a graph input or initializer and a node output", o)
			}
			producer[o] = i
		}
	}
	indeg := make([]int, len(nodes))
	users := make([][]int, len(nodes))
	for i, n := range nodes {
		for _, in := range n.Inputs {
			if in == "" {
				continue
			}
			if p, ok := producer[in]; ok {
				indeg[i]++
				users[p] = append(users[p], i)
			} else if _, ok := known[in]; !ok {
				return nil, fmt.Errorf("operator %s: input %q is not a graph input, initializer or node output", nodes[i].OpType, in)
			}
		}
	}
	// Kahn's algorithm, keeping file order among ready nodes.
	var ready, order []int
	for i := range nodes {
		if indeg[i] == 0 {
			ready = append(ready, i)
		}
	}
	for len(ready) > 0 {
		sort.Ints(ready)
		i := ready[0]
		ready = ready[1:]
		order = append(order, i)
		for _, u := range users[i] {
			indeg[u]--
			if indeg[u] == 0 {
				ready = append(ready, u)
			}
		}
	}
	if len(order) != len(nodes) {
		var stuck []string
		for i := range nodes {
			if indeg[i] > 0 {
				stuck = append(stuck, nodes[i].OpType)
				if len(stuck) == 5 {
					break
				}
			}
		}
		return nil, fmt.Errorf("graph has a cycle (through %s)", strings.Join(stuck, ", "))
	}
	out := make([]*onnxpb.Node, len(order))
	for i, j := range order {
		out[i] = nodes[j]
	}
	return out, nil
}

// prune drops steps whose outputs no wanted output depends on.
func prune(steps []step, outs []int, nslots int) []step {
	need := make([]bool, nslots)
	for _, s := range outs {
		need[s] = true
	}
	keep := make([]bool, len(steps))
	for i := len(steps) - 1; i >= 0; i-- {
		for _, s := range steps[i].out {
			if s >= 0 && need[s] {
				keep[i] = true
			}
		}
		if keep[i] {
			for _, s := range steps[i].in {
				if s >= 0 {
					need[s] = true
				}
			}
		}
	}
	var kept []step
	for i, st := range steps {
		if keep[i] {
			kept = append(kept, st)
		}
	}
	return kept
}

func valueOf(vi *onnxpb.ValueInfo) (Value, error) {
	v := Value{Name: vi.Name}
	t := vi.Type
	if t == nil {
		return v, nil
	}
	switch t.Kind {
	case onnxpb.KindTensor:
		v.Type = DataType(t.ElemType)
		if t.Shape != nil {
			v.Shape = make([]int, len(t.Shape))
			v.Dims = make([]string, len(t.Shape))
			for i, d := range t.Shape {
				v.Shape[i] = -1
				if d.HasValue && d.Value >= 0 && d.Value <= MaxElements {
					v.Shape[i] = int(d.Value)
				}
				v.Dims[i] = d.Param
			}
		}
	case onnxpb.KindSequence:
		e := t.Elem
		if e != nil && e.Kind == onnxpb.KindMap && e.Elem != nil && e.Elem.Kind == onnxpb.KindTensor {
			switch DataType(e.KeyType) {
			case String:
				v.Type = SeqMapString
			case Int64:
				v.Type = SeqMapInt64
			}
		}
		if v.Type == Undefined {
			return v, fmt.Errorf("sequence type is not supported")
		}
	default:
		return v, fmt.Errorf("optional, sequence and map values are not supported (only tensors and ZipMap's seq(map))")
	}
	return v, nil
}

// Frame is the working memory of one run: one tensor per value, reused
// across runs. Get one with Acquire, fill its inputs, Exec, read its
// outputs, then Release it.
type Frame struct {
	vals []*Tensor
	args [][]*Tensor // per step: inputs then outputs
}

func (g *Graph) newFrame() *Frame {
	f := &Frame{vals: make([]*Tensor, g.nslots)}
	for i := range f.vals {
		if g.consts[i] != nil {
			f.vals[i] = g.consts[i]
		} else {
			f.vals[i] = &Tensor{}
		}
	}
	f.args = make([][]*Tensor, len(g.steps))
	for i, st := range g.steps {
		a := make([]*Tensor, len(st.in)+len(st.out))
		for j, s := range st.in {
			if s >= 0 {
				a[j] = f.vals[s]
			}
		}
		for j, s := range st.out {
			if s >= 0 {
				a[len(st.in)+j] = f.vals[s]
			}
		}
		f.args[i] = a
	}
	return f
}

// Acquire takes a frame from the pool.
func (g *Graph) Acquire() *Frame { return g.frames.Get().(*Frame) }

// Release returns a frame to the pool; its tensors must not be used after.
func (g *Graph) Release(f *Frame) { g.frames.Put(f) }

// Input is the tensor to fill for graph input i (Graph.Inputs order).
func (g *Graph) Input(f *Frame, i int) *Tensor { return f.vals[g.inSlot[i]] }

// Output is graph output i after Exec.
func (g *Graph) Output(f *Frame, i int) *Tensor { return f.vals[g.outSlot[i]] }

// Exec runs the plan over a frame whose inputs are filled.
func (g *Graph) Exec(ctx context.Context, f *Frame) error {
	for i := range g.steps {
		st := &g.steps[i]
		if i&63 == 63 && ctx.Err() != nil {
			return ctx.Err()
		}
		a := f.args[i]
		if err := st.k.run(a[:len(st.in)], a[len(st.in):]); err != nil {
			return fmt.Errorf("operator %s: %w", st.name, err)
		}
	}
	return ctx.Err()
}

// Run is the convenient entry point: feeds by input name in, a copy of
// every output by name out.
func (g *Graph) Run(ctx context.Context, feeds map[string]*Tensor) (map[string]*Tensor, error) {
	f := g.Acquire()
	defer g.Release(f)
	for i, in := range g.Inputs {
		t, ok := feeds[in.Name]
		if !ok {
			return nil, fmt.Errorf("input %q not given", in.Name)
		}
		if !t.Type.Supported() {
			return nil, fmt.Errorf("input %q: element type %v is not supported", in.Name, t.Type)
		}
		if n, err := Numel(t.Shape); err != nil || lenOf(t) < n {
			return nil, fmt.Errorf("input %q: shape %v does not match its data", in.Name, t.Shape)
		}
		*g.Input(f, i) = *t
	}
	if err := g.Exec(ctx, f); err != nil {
		return nil, err
	}
	out := make(map[string]*Tensor, len(g.Outputs))
	for i, o := range g.Outputs {
		out[o.Name] = g.Output(f, i).Clone()
	}
	// The fed tensors were shallow-copied into the frame: detach them so
	// the pool never writes into the caller's memory.
	for i := range g.Inputs {
		*g.Input(f, i) = Tensor{}
	}
	return out, nil
}

func lenOf(t *Tensor) int {
	switch t.Type {
	case Float, SeqMapString, SeqMapInt64:
		return len(t.F32)
	case Double:
		return len(t.F64)
	case Int32:
		return len(t.I32)
	case Int64:
		return len(t.I64)
	case String:
		return len(t.Str)
	case Bool:
		return len(t.Bool)
	}
	return 0
}
