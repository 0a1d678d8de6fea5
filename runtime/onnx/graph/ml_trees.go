package graph

import (
	"fmt"
	"math"
	"slices"
	"sort"
	"sync"

	"github.com/modelfn/modelfn/runtime/onnx/onnxpb"
)

// Tree ensembles: TreeEnsembleClassifier and TreeEnsembleRegressor
// (ai.onnx.ml 1 and 3) and TreeEnsemble (ai.onnx.ml 5), evaluated as
// onnxruntime's tree_ensemble_common.h and tree_ensemble_aggregator.h do:
//
//   - each tree starts at the first node listed for it;
//   - a split compares the input (converted to the threshold type: float32
//     for float and integer inputs, float64 for double inputs) with the
//     threshold; a NaN input goes to the true branch only when
//     nodes_missing_value_tracks_true is set;
//   - leaf weights are summed (or averaged, or min/max-ed) per target in the
//     threshold type, then base values and the post transform are applied
//     in float32;
//   - the classifier's binary case (two labels, leaf weights for one class)
//     writes the second score as onnxruntime does.
//
// Every tree is checked at load time: node ids unique per tree, children
// inside the tree, no cycles, a weight for every leaf, target ids in range.

const (
	modeLeaf uint8 = iota
	modeLEQ
	modeLT
	modeGTE
	modeGT
	modeEQ
	modeNEQ
	modeMember // ai.onnx.ml 5 only; unrolled to modeIn chains at load
	// modeIn tests one membership value as onnxruntime does: the input
	// truncated to an integer equals it.
	modeIn

	missingTrue = 0x80
)

var modeNames = map[string]uint8{
	"LEAF": modeLeaf, "BRANCH_LEQ": modeLEQ, "BRANCH_LT": modeLT, "BRANCH_GTE": modeGTE,
	"BRANCH_GT": modeGT, "BRANCH_EQ": modeEQ, "BRANCH_NEQ": modeNEQ,
}

type tnode struct {
	thr    float64
	feat   int32
	mode   uint8
	yes    int32 // next node when the test holds
	no     int32
	w0, wn int32 // leaf: weights[w0 : w0+wn]
}

type tweight struct {
	target int32
	w      float64
}

type aggregate int

const (
	aggSum aggregate = iota
	aggAverage
	aggMin
	aggMax
)

// ensemble is a validated forest.
type ensemble struct {
	nodes    []tnode
	weights  []tweight
	roots    []int32
	height   []int32 // per tree: the longest path from its root, in splits
	maxFeat  int
	sameLEQ  bool // every split is BRANCH_LEQ without missing tracking
	targets  int
	base     []float64
	post     postTransform
	agg      aggregate
	dblThr   bool // thresholds/weights given as doubles: needs a double input
	classify bool
	// Classifier state.
	labelsStr   []string
	labelsI64   []int64
	binaryCase  bool
	allPositive bool

	scratch sync.Pool // *treeScratch
}

type treeScratch struct {
	leaves []*tnode
	score  []float64
	has    []bool
	row    []float64
	res    []float32
}

// rawTree is the v1/v3 attribute form.
type rawTree struct {
	treeIDs, nodeIDs, featIDs, trueIDs, falseIDs, missing []int64
	modes                                                 []uint8
	values                                                []float64
	tTree, tNode, tID                                     []int64
	tW                                                    []float64
}

func init() {
	for _, name := range []string{"TreeEnsembleClassifier", "TreeEnsembleRegressor"} {
		classify := name == "TreeEnsembleClassifier"
		nout := 1
		if classify {
			nout = 2
		}
		register(DomainML, name, 1, 1, nout, nout, func(n *node) (kernel, error) {
			e, err := buildV3(n, classify)
			if err != nil {
				return nil, err
			}
			return kernelFunc(func(in, out []*Tensor) error { return e.run(in[0], out, false) }), nil
		})
	}
	register(DomainML, "TreeEnsemble", 1, 1, 1, 1, func(n *node) (kernel, error) {
		e, err := buildV5(n)
		if err != nil {
			return nil, err
		}
		return kernelFunc(func(in, out []*Tensor) error { return e.run(in[0], out, true) }), nil
	})
}

// floatsOrTensor reads a float list attribute or its *_as_tensor double
// twin; isDouble reports the latter.
func floatsOrTensor(n *node, name string) (vals []float64, isDouble bool, err error) {
	f, ok, err := n.floats(name)
	if err != nil {
		return nil, false, err
	}
	t, err := n.tensor(name + "_as_tensor")
	if err != nil {
		return nil, false, err
	}
	if ok && t != nil {
		return nil, false, fmt.Errorf("both %s and %s_as_tensor given", name, name)
	}
	if t != nil {
		v, err := t.Float64s()
		return v, t.Type == Double, err
	}
	out := make([]float64, len(f))
	for i, v := range f {
		out[i] = float64(v)
	}
	return out, false, nil
}

func buildV3(n *node, classify bool) (*ensemble, error) {
	e := &ensemble{classify: classify}
	var r rawTree
	var err error
	get := func(name string) []int64 {
		if err != nil {
			return nil
		}
		var v []int64
		v, _, err = n.ints(name)
		return v
	}
	r.treeIDs, r.nodeIDs, r.featIDs = get("nodes_treeids"), get("nodes_nodeids"), get("nodes_featureids")
	r.trueIDs, r.falseIDs, r.missing = get("nodes_truenodeids"), get("nodes_falsenodeids"), get("nodes_missing_value_tracks_true")
	prefix := "target_"
	if classify {
		prefix = "class_"
	}
	r.tTree, r.tNode, r.tID = get(prefix+"treeids"), get(prefix+"nodeids"), get(prefix+"ids")
	if err != nil {
		return nil, err
	}
	modes, _, err := n.strings("nodes_modes")
	if err != nil {
		return nil, err
	}
	for _, m := range modes {
		code, ok := modeNames[m]
		if !ok {
			return nil, fmt.Errorf("node mode %q is not supported", m)
		}
		r.modes = append(r.modes, code)
	}
	var dv, dw, db bool
	if r.values, dv, err = floatsOrTensor(n, "nodes_values"); err != nil {
		return nil, err
	}
	if r.tW, dw, err = floatsOrTensor(n, prefix+"weights"); err != nil {
		return nil, err
	}
	if e.base, db, err = floatsOrTensor(n, "base_values"); err != nil {
		return nil, err
	}
	e.dblThr = dv || dw || db
	if _, _, err := floatsOrTensor(n, "nodes_hitrates"); err != nil {
		return nil, err
	}
	post, err := n.string("post_transform", "NONE")
	if err != nil {
		return nil, err
	}
	if e.post, err = parsePost(post); err != nil {
		return nil, err
	}
	if classify {
		e.labelsStr, _, err = n.strings("classlabels_strings")
		if err != nil {
			return nil, err
		}
		e.labelsI64, _, err = n.ints("classlabels_int64s")
		if err != nil {
			return nil, err
		}
		if (len(e.labelsStr) == 0) == (len(e.labelsI64) == 0) {
			return nil, fmt.Errorf("exactly one of classlabels_strings and classlabels_int64s is required")
		}
		e.targets = len(e.labelsStr) + len(e.labelsI64)
		if e.targets < 2 {
			return nil, fmt.Errorf("a classifier needs two or more class labels")
		}
	} else {
		nt, err := n.int("n_targets", 0)
		if err != nil {
			return nil, err
		}
		if nt <= 0 || nt > 1<<20 {
			return nil, fmt.Errorf("n_targets %d", nt)
		}
		e.targets = int(nt)
		agg, err := n.string("aggregate_function", "SUM")
		if err != nil {
			return nil, err
		}
		switch agg {
		case "SUM":
			e.agg = aggSum
		case "AVERAGE":
			e.agg = aggAverage
		case "MIN":
			e.agg = aggMin
		case "MAX":
			e.agg = aggMax
		default:
			return nil, fmt.Errorf("aggregate_function %q is not supported", agg)
		}
	}
	if err := e.load(&r); err != nil {
		return nil, err
	}
	return e, nil
}

// load validates the flat attribute lists and builds the node array.
func (e *ensemble) load(r *rawTree) error {
	nn := len(r.treeIDs)
	for what, l := range map[string]int{"nodes_nodeids": len(r.nodeIDs), "nodes_featureids": len(r.featIDs),
		"nodes_modes": len(r.modes), "nodes_truenodeids": len(r.trueIDs), "nodes_falsenodeids": len(r.falseIDs),
		"nodes_values": len(r.values)} {
		if l != nn {
			return fmt.Errorf("%s has %d entries, nodes_treeids %d", what, l, nn)
		}
	}
	if nn == 0 {
		return fmt.Errorf("no tree nodes")
	}
	if len(r.missing) > nn {
		return fmt.Errorf("nodes_missing_value_tracks_true has %d entries for %d nodes", len(r.missing), nn)
	}
	nt := len(r.tTree)
	if len(r.tNode) != nt || len(r.tID) != nt || len(r.tW) != nt {
		return fmt.Errorf("leaf weight lists differ in length (%d, %d, %d, %d)", nt, len(r.tNode), len(r.tID), len(r.tW))
	}
	type key struct{ tree, node int64 }
	index := make(map[key]int32, nn)
	e.nodes = make([]tnode, nn)
	e.sameLEQ = true
	for i := 0; i < nn; i++ {
		k := key{r.treeIDs[i], r.nodeIDs[i]}
		if _, dup := index[k]; dup {
			return fmt.Errorf("node %d appears twice in tree %d", k.node, k.tree)
		}
		index[k] = int32(i)
		nd := &e.nodes[i]
		nd.mode = r.modes[i]
		nd.thr = r.values[i]
		if nd.mode != modeLeaf {
			f := r.featIDs[i]
			if f < 0 || f > MaxElements {
				return fmt.Errorf("tree %d node %d: feature id %d", k.tree, k.node, f)
			}
			nd.feat = int32(f)
			e.maxFeat = max(e.maxFeat, int(f))
			if i < len(r.missing) && r.missing[i] == 1 {
				nd.mode |= missingTrue
			}
			if nd.mode != modeLEQ {
				e.sameLEQ = false
			}
		}
	}
	for i := 0; i < nn; i++ {
		nd := &e.nodes[i]
		if nd.mode == modeLeaf {
			continue
		}
		for _, c := range []struct {
			id  int64
			dst *int32
		}{{r.trueIDs[i], &nd.yes}, {r.falseIDs[i], &nd.no}} {
			j, ok := index[key{r.treeIDs[i], c.id}]
			if !ok {
				return fmt.Errorf("tree %d node %d: child node id %d is not in the tree", r.treeIDs[i], r.nodeIDs[i], c.id)
			}
			if int(j) == i {
				return fmt.Errorf("tree %d node %d points to itself", r.treeIDs[i], r.nodeIDs[i])
			}
			*c.dst = j
		}
	}
	// Leaf weights, in onnxruntime's order: by (tree, node, position).
	order := make([]int, nt)
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool {
		ia, ib := order[a], order[b]
		if r.tTree[ia] != r.tTree[ib] {
			return r.tTree[ia] < r.tTree[ib]
		}
		return r.tNode[ia] < r.tNode[ib]
	})
	classes := map[int64]bool{}
	e.allPositive = true
	for _, i := range order {
		j, ok := index[key{r.tTree[i], r.tNode[i]}]
		if !ok {
			return fmt.Errorf("leaf weight for tree %d node %d, which does not exist", r.tTree[i], r.tNode[i])
		}
		id := r.tID[i]
		if id < 0 || id >= int64(e.targets) {
			return fmt.Errorf("leaf weight for target %d outside [0,%d)", id, e.targets)
		}
		classes[id] = true
		if r.tW[i] < 0 {
			e.allPositive = false
		}
		leaf := &e.nodes[j]
		if leaf.mode != modeLeaf {
			continue // onnxruntime ignores weights on inner nodes
		}
		if leaf.wn == 0 {
			leaf.w0 = int32(len(e.weights))
		} else if int(leaf.w0+leaf.wn) != len(e.weights) {
			return fmt.Errorf("tree %d node %d: weights are not contiguous", r.tTree[i], r.tNode[i])
		}
		leaf.wn++
		e.weights = append(e.weights, tweight{int32(id), r.tW[i]})
	}
	e.binaryCase = e.targets == 2 && len(classes) == 1
	prev := int64(0)
	for i := 0; i < nn; i++ {
		if i == 0 || r.treeIDs[i] != prev {
			e.roots = append(e.roots, int32(i))
		}
		prev = r.treeIDs[i]
		if e.nodes[i].mode == modeLeaf && e.nodes[i].wn == 0 {
			return fmt.Errorf("tree %d node %d is a leaf without a weight", r.treeIDs[i], r.nodeIDs[i])
		}
	}
	topo, err := e.topoOrder()
	if err != nil {
		return err
	}
	e.planWalks(topo)
	return nil
}

// topoOrder orders the nodes parents first, refusing trees whose child
// links loop, which would make a walk never end (Kahn's algorithm over the
// child edges).
func (e *ensemble) topoOrder() ([]int32, error) {
	indeg := make([]int32, len(e.nodes))
	for _, nd := range e.nodes {
		if nd.mode != modeLeaf {
			indeg[nd.yes]++
			indeg[nd.no]++
		}
	}
	stack := make([]int32, 0, len(e.nodes))
	for i, d := range indeg {
		if d == 0 {
			stack = append(stack, int32(i))
		}
	}
	order := make([]int32, 0, len(e.nodes)) // parents before children
	for len(stack) > 0 {
		i := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		order = append(order, i)
		nd := e.nodes[i]
		if nd.mode == modeLeaf {
			continue
		}
		for _, c := range [2]int32{nd.yes, nd.no} {
			indeg[c]--
			if indeg[c] == 0 {
				stack = append(stack, c)
			}
		}
	}
	if len(order) != len(e.nodes) {
		return nil, fmt.Errorf("tree nodes form a cycle")
	}
	return order, nil
}

// planWalks notes each tree's height (children before parents in reverse
// topological order) and makes every leaf its own two children, so a walk
// that reaches one stays there (walk4).
func (e *ensemble) planWalks(order []int32) {
	height := make([]int32, len(e.nodes))
	for _, i := range slices.Backward(order) {
		nd := &e.nodes[i]
		if nd.mode == modeLeaf {
			nd.yes, nd.no = i, i
			continue
		}
		height[i] = 1 + max(height[nd.yes], height[nd.no])
	}
	e.height = make([]int32, len(e.roots))
	for t, root := range e.roots {
		e.height[t] = height[root]
	}
}

// leaves finds each tree's leaf for x, in tree order.
func (e *ensemble) leaves(x []float64, dst []*tnode) []*tnode {
	dst = dst[:0]
	t := 0
	if e.sameLEQ {
		for ; t+4 <= len(e.roots); t += 4 {
			dst = e.walk4(x, t, dst)
		}
	}
	for ; t < len(e.roots); t++ {
		dst = append(dst, e.leaf(e.roots[t], x))
	}
	return dst
}

// walk4 walks trees t to t+3 together, a step of each in turn, without
// branches: which way a row goes is a coin toss to the branch predictor,
// and four walks at once keep the core busy while each waits for its next
// node. A walk at a leaf stays there until the tallest of the four ends.
func (e *ensemble) walk4(x []float64, t int, dst []*tnode) []*tnode {
	nodes := e.nodes
	step := func(i int32) int32 {
		nd := &nodes[i]
		return nd.no ^ (nd.yes^nd.no)&-b2i(x[nd.feat] <= nd.thr)
	}
	a, b, c, d := e.roots[t], e.roots[t+1], e.roots[t+2], e.roots[t+3]
	for range max(e.height[t], e.height[t+1], e.height[t+2], e.height[t+3]) {
		a, b, c, d = step(a), step(b), step(c), step(d)
	}
	return append(dst, &nodes[a], &nodes[b], &nodes[c], &nodes[d])
}

// b2i is 1 for true (the compiler makes it a SETcc, not a branch).
func b2i(v bool) int32 {
	if v {
		return 1
	}
	return 0
}

// leaf walks one tree for one row.
func (e *ensemble) leaf(root int32, x []float64) *tnode {
	nodes := e.nodes
	nd := &nodes[root]
	if e.sameLEQ {
		for nd.mode != modeLeaf {
			if x[nd.feat] <= nd.thr {
				nd = &nodes[nd.yes]
			} else {
				nd = &nodes[nd.no]
			}
		}
		return nd
	}
	for nd.mode != modeLeaf {
		v := x[nd.feat]
		var ok bool
		switch nd.mode &^ missingTrue {
		case modeLEQ:
			ok = v <= nd.thr
		case modeLT:
			ok = v < nd.thr
		case modeGTE:
			ok = v >= nd.thr
		case modeGT:
			ok = v > nd.thr
		case modeEQ:
			ok = v == nd.thr
		case modeNEQ:
			ok = v != nd.thr
		case modeIn:
			ok = v == v && math.Trunc(v) == nd.thr
		}
		if !ok && nd.mode&missingTrue != 0 && v != v {
			ok = true
		}
		if ok {
			nd = &nodes[nd.yes]
		} else {
			nd = &nodes[nd.no]
		}
	}
	return nd
}

// run evaluates the ensemble on X ([N,F] or [F]). v5 writes scores in the
// input's type; v1/v3 write float32.
func (e *ensemble) run(x *Tensor, out []*Tensor, v5 bool) error {
	if x.Rank() == 0 || x.Rank() > 2 {
		return fmt.Errorf("input of shape %v, [N,F] or [F] expected", x.Shape)
	}
	rows, stride := 1, x.Shape[0]
	if x.Rank() == 2 {
		rows, stride = x.Shape[0], x.Shape[1]
	}
	if e.maxFeat >= stride {
		return fmt.Errorf("a split reads feature %d but the input has %d features", e.maxFeat, stride)
	}
	f32 := true // threshold and accumulation type is float32
	switch x.Type {
	case Double:
		f32 = false
	case Float, Int64, Int32:
		if e.dblThr {
			return fmt.Errorf("thresholds or weights given as doubles need a double input, got %v", x.Type)
		}
	default:
		return errType(x.Type)
	}
	outT := Float
	if v5 {
		outT = x.Type
		if outT != Double {
			outT = Float
		}
	}
	z := out[len(out)-1]
	if err := z.Resize(outT, rows, e.targets); err != nil {
		return err
	}
	var label *Tensor
	if e.classify && out[0] != nil {
		label = out[0]
		lt := Int64
		if e.labelsStr != nil {
			lt = String
		}
		if err := label.Resize(lt, rows); err != nil {
			return err
		}
	}
	if !worthSplitting(rows, rows*len(e.roots)*8) {
		e.rows(x, 0, rows, stride, f32, outT, z, label)
		return nil
	}
	parallelRows(rows, rows*len(e.roots)*8, func(lo, hi int) {
		e.rows(x, lo, hi, stride, f32, outT, z, label)
	})
	return nil
}

// rows scores rows [lo, hi) with one pooled scratch.
func (e *ensemble) rows(x *Tensor, lo, hi, stride int, f32 bool, outT DataType, z, label *Tensor) {
	sc, _ := e.scratch.Get().(*treeScratch)
	if sc == nil {
		sc = &treeScratch{}
	}
	sc.score = grow(sc.score, e.targets)
	sc.has = grow(sc.has, e.targets)
	sc.row = grow(sc.row, stride)
	sc.res = grow(sc.res, e.targets)
	for r := lo; r < hi; r++ {
		e.row(x, r, stride, sc, f32, outT, z, label)
	}
	e.scratch.Put(sc)
}

// row scores input row r into z (and label).
func (e *ensemble) row(x *Tensor, r, stride int, sc *treeScratch, f32 bool, outT DataType, z, label *Tensor) {
	res := sc.res
	row := sc.row
	switch x.Type {
	case Float:
		for i, v := range x.F32[r*stride : (r+1)*stride] {
			row[i] = float64(v)
		}
	case Double:
		copy(row, x.F64[r*stride:(r+1)*stride])
	case Int64:
		for i, v := range x.I64[r*stride : (r+1)*stride] {
			row[i] = float64(float32(v))
		}
	case Int32:
		for i, v := range x.I32[r*stride : (r+1)*stride] {
			row[i] = float64(float32(v))
		}
	}
	e.score(row, sc, f32)
	lab := e.finalize(sc, res, f32)
	if outT == Float {
		copy(z.F32[r*e.targets:(r+1)*e.targets], res)
	} else {
		for i, v := range res {
			z.F64[r*e.targets+i] = float64(v)
		}
		if !e.classify && e.post == postNone {
			// Unrounded doubles when nothing was transformed in float32.
			e.finalizeDouble(sc, z.F64[r*e.targets:(r+1)*e.targets])
		}
	}
	if label != nil {
		if e.labelsStr != nil {
			if lab < 0 || lab >= int64(len(e.labelsStr)) {
				lab = 0
			}
			label.Str[r] = e.labelsStr[lab]
		} else {
			label.I64[r] = lab
		}
	}
}

// score accumulates every tree's leaf into sc.score/sc.has.
func (e *ensemble) score(x []float64, sc *treeScratch, f32 bool) {
	s, has := sc.score, sc.has
	sc.leaves = e.leaves(x, sc.leaves)
	clear(s)
	clear(has)
	rnd := func(v float64) float64 {
		if f32 {
			return float64(float32(v))
		}
		return v
	}
	if e.targets == 1 && !e.classify {
		// onnxruntime's single-target path: the leaf's first weight.
		for _, l := range sc.leaves {
			w := rnd(e.weights[l.w0].w)
			switch e.agg {
			case aggSum, aggAverage:
				s[0] = rnd(s[0] + w)
			case aggMin:
				if !has[0] || w < s[0] {
					s[0] = w
				}
			case aggMax:
				if !has[0] || w > s[0] {
					s[0] = w
				}
			}
			has[0] = true
		}
		return
	}
	if e.agg == aggSum || e.agg == aggAverage {
		// The common case, with no switch per weight.
		for _, l := range sc.leaves {
			ws := e.weights[l.w0 : l.w0+l.wn]
			if f32 {
				for _, w := range ws {
					s[w.target] = float64(float32(s[w.target] + float64(float32(w.w))))
					has[w.target] = true
				}
			} else {
				for _, w := range ws {
					s[w.target] += w.w
					has[w.target] = true
				}
			}
		}
		return
	}
	for _, l := range sc.leaves {
		for _, w := range e.weights[l.w0 : l.w0+l.wn] {
			v := rnd(w.w)
			t := w.target
			switch e.agg {
			case aggMin:
				if !has[t] || v < s[t] {
					s[t] = v
				}
			case aggMax:
				if !has[t] || v > s[t] {
					s[t] = v
				}
			}
			has[t] = true
		}
	}
}

// finalizeDouble recomputes a regressor's NONE-transformed scores without
// float32 rounding (TreeEnsemble v5 on doubles).
func (e *ensemble) finalizeDouble(sc *treeScratch, z []float64) {
	n := float64(len(e.roots))
	for j := range z {
		v := sc.score[j]
		switch {
		case e.targets == 1:
			origin := 0.0
			if len(e.base) == 1 {
				origin = e.base[0]
			}
			switch e.agg {
			case aggAverage:
				v = v/n + origin
			case aggSum:
				v += origin
			default:
				if !sc.has[0] {
					v = 0
				}
				v += origin
			}
		default:
			useBase := len(e.base) == e.targets
			switch e.agg {
			case aggAverage:
				v /= n
				if useBase {
					v += e.base[j]
				}
			case aggSum:
				if useBase {
					v += e.base[j]
				}
			default:
				if !sc.has[j] {
					v = 0
				}
				if useBase {
					v += e.base[j]
				}
			}
		}
		z[j] = v
	}
}

// finalize turns accumulated scores into the output row (float32) and the
// label index, following onnxruntime's aggregators.
func (e *ensemble) finalize(sc *treeScratch, z []float32, f32 bool) int64 {
	s, has := sc.score, sc.has
	rnd := func(v float64) float64 {
		if f32 {
			return float64(float32(v))
		}
		return v
	}
	if !e.classify {
		tmp := sc.score
		if e.targets == 1 {
			origin := 0.0
			if len(e.base) == 1 {
				origin = rnd(e.base[0])
			}
			v := s[0]
			switch e.agg {
			case aggAverage:
				v = rnd(rnd(v/float64(len(e.roots))) + origin)
			case aggSum:
				v = rnd(v + origin)
			default:
				if !has[0] {
					v = 0
				}
				v = rnd(v + origin)
			}
			z[0] = float32(v)
			if e.post == postProbit {
				z[0] = probit(float32(v))
			}
			return 0
		}
		useBase := len(e.base) == e.targets
		for j := range tmp {
			v := s[j]
			switch e.agg {
			case aggAverage:
				v = rnd(v / float64(len(e.roots)))
				if useBase {
					v = rnd(v + rnd(e.base[j]))
				}
			case aggSum:
				if useBase {
					v = rnd(v + rnd(e.base[j]))
				}
			default:
				if !has[j] {
					v = 0
				}
				if useBase {
					v = rnd(rnd(e.base[j]) + v)
				}
			}
			z[j] = float32(v)
		}
		applyPost(e.post, z)
		return 0
	}
	// Classifier.
	if e.targets > 2 {
		for k := 0; k < len(e.base) && k < e.targets; k++ {
			if !has[k] {
				has[k], s[k] = true, rnd(e.base[k])
			} else {
				s[k] = rnd(s[k] + rnd(e.base[k]))
			}
		}
		best := -1
		for j := range s {
			if has[j] && (best == -1 || s[j] > s[best]) {
				best = j
			}
		}
		for j := range s {
			z[j] = scored(s[j], has[j])
		}
		applyPost(e.post, z)
		if best < 0 {
			best = 0
		}
		return e.label(best)
	}
	// Binary.
	size := 2
	extra := -1
	switch len(e.base) {
	case 2:
		if has[1] {
			// As onnxruntime: base_values[0] is unused, class 0 mirrors
			// class 1 (and reads as 0 below when no leaf scored it).
			s[1] = rnd(rnd(e.base[1]) + s[0])
			s[0] = -s[1]
		} else {
			s[1] = rnd(s[1] + rnd(e.base[1]))
			s[0] = rnd(s[0] + rnd(e.base[0]))
		}
	case 1:
		s[0] = rnd(s[0] + rnd(e.base[0]))
		if !has[1] {
			size = 1
		}
	case 0:
		extra = 3
		if !has[1] {
			size = 1
		}
	}
	var pos float64
	if size == 2 && has[1] {
		pos = s[1]
	} else if has[0] {
		pos = s[0]
	}
	var lab int64
	if e.binaryCase {
		switch {
		case e.allPositive && pos > 0.5:
			extra, lab = 0, e.label(1)
		case e.allPositive:
			extra, lab = 1, e.label(0)
		case pos > 0:
			extra, lab = 2, e.label(1)
		default:
			extra, lab = 3, e.label(0)
		}
	} else if pos > 0 {
		lab = 1
	}
	if size == 2 {
		z[0], z[1] = scored(s[0], has[0]), scored(s[1], has[1])
		applyPost(e.post, z)
		return lab
	}
	v := scored(s[0], has[0])
	if e.post == postProbit {
		z[0], z[1] = probit(v), 0
		return lab
	}
	switch extra {
	case 0, 1:
		z[0], z[1] = 1-v, v
	case 2, 3:
		if e.post == postLogistic {
			z[0], z[1] = logistic(-v), logistic(v)
		} else {
			z[0], z[1] = -v, v
		}
	default:
		z[0], z[1] = v, 0
	}
	return lab
}

// scored reads a score as onnxruntime's ScoreValue does: 0 unless a leaf
// or base value gave it one.
func scored(v float64, has bool) float32 {
	if !has {
		return 0
	}
	return float32(v)
}

// label is the label output for class index i: an index into
// classlabels_strings, or the int64 label itself.
func (e *ensemble) label(i int) int64 {
	if e.labelsStr != nil {
		return int64(i)
	}
	return e.labelsI64[i]
}

// buildV5 reads TreeEnsemble (ai.onnx.ml 5) and converts it to the v3 form,
// unrolling BRANCH_MEMBER sets into chains of BRANCH_EQ as onnxruntime
// does.
func buildV5(n *node) (*ensemble, error) {
	e := &ensemble{}
	var err error
	geti := func(name string) []int64 {
		if err != nil {
			return nil
		}
		var v []int64
		v, _, err = n.ints(name)
		return v
	}
	leafTargets := geti("leaf_targetids")
	falseLeaf, falseIDs := geti("nodes_falseleafs"), geti("nodes_falsenodeids")
	trueLeaf, trueIDs := geti("nodes_trueleafs"), geti("nodes_truenodeids")
	featIDs, missing, roots := geti("nodes_featureids"), geti("nodes_missing_value_tracks_true"), geti("tree_roots")
	if err != nil {
		return nil, err
	}
	tensorVals := func(name string, required bool) ([]float64, bool, error) {
		t, err := n.tensor(name)
		if err != nil {
			return nil, false, err
		}
		if t == nil {
			if required {
				return nil, false, fmt.Errorf("%s is required", name)
			}
			return nil, false, nil
		}
		if t.Type != Float && t.Type != Double {
			return nil, false, fmt.Errorf("%s must be float or double", name)
		}
		v, err := t.Float64s()
		return v, t.Type == Double, err
	}
	leafW, dbl, err := tensorVals("leaf_weights", true)
	if err != nil {
		return nil, err
	}
	splits, _, err := tensorVals("nodes_splits", true)
	if err != nil {
		return nil, err
	}
	members, _, err := tensorVals("membership_values", false)
	if err != nil {
		return nil, err
	}
	if _, _, err := tensorVals("nodes_hitrates", false); err != nil {
		return nil, err
	}
	ma, err := n.attr("nodes_modes", onnxpb.AttrTensor)
	if err != nil {
		return nil, err
	}
	if ma == nil {
		return nil, fmt.Errorf("nodes_modes is required")
	}
	modes64, err := protoInts(ma.T)
	if err != nil {
		return nil, err
	}
	modesI := make([]float64, len(modes64))
	for i, v := range modes64 {
		modesI[i] = float64(v)
	}
	nt, err := n.int("n_targets", 0)
	if err != nil {
		return nil, err
	}
	if nt <= 0 || nt > 1<<20 {
		return nil, fmt.Errorf("n_targets %d", nt)
	}
	e.targets = int(nt)
	e.dblThr = dbl
	agg, err := n.int("aggregate_function", 1)
	if err != nil {
		return nil, err
	}
	switch agg {
	case 0:
		e.agg = aggAverage
	case 1:
		e.agg = aggSum
	case 2:
		e.agg = aggMin
	case 3:
		e.agg = aggMax
	default:
		return nil, fmt.Errorf("aggregate_function %d is not supported", agg)
	}
	// onnxruntime 1.30 reads post_transform with its own enum order
	// (NONE, LOGISTIC, SOFTMAX, SOFTMAX_ZERO, PROBIT).
	pt, err := n.int("post_transform", 0)
	if err != nil {
		return nil, err
	}
	if pt < 0 || pt > 4 {
		return nil, fmt.Errorf("post_transform %d is not supported", pt)
	}
	e.post = postTransform(pt)

	nn := len(featIDs)
	for what, l := range map[string]int{"nodes_falseleafs": len(falseLeaf), "nodes_falsenodeids": len(falseIDs),
		"nodes_trueleafs": len(trueLeaf), "nodes_truenodeids": len(trueIDs), "nodes_splits": len(splits), "nodes_modes": len(modesI)} {
		if l != nn {
			return nil, fmt.Errorf("%s has %d entries, nodes_featureids %d", what, l, nn)
		}
	}
	if len(missing) != 0 && len(missing) != nn {
		return nil, fmt.Errorf("nodes_missing_value_tracks_true has %d entries for %d nodes", len(missing), nn)
	}
	if len(leafTargets) != len(leafW) {
		return nil, fmt.Errorf("leaf_targetids has %d entries, leaf_weights %d", len(leafTargets), len(leafW))
	}
	// Split membership_values (NaN-separated) per BRANCH_MEMBER node.
	memberOf := make([][]float64, nn)
	mi := 0
	for i, m := range modesI {
		if m < 0 || m > 6 {
			return nil, fmt.Errorf("node mode %v is not supported", m)
		}
		if m != 6 {
			continue
		}
		for mi < len(members) && !math.IsNaN(members[mi]) {
			if v := members[mi]; v != math.Trunc(v) || math.Abs(v) > math.MaxInt32 {
				return nil, fmt.Errorf("membership value %v is not supported (integers only, as in onnxruntime)", v)
			}
			memberOf[i] = append(memberOf[i], members[mi])
			mi++
		}
		mi++
		if len(memberOf[i]) == 0 {
			return nil, fmt.Errorf("BRANCH_MEMBER node %d has no membership values", i)
		}
	}
	var r rawTree
	// Walk each tree depth-first, as onnxruntime's conversion does; depth
	// and node count are bounded so a crafted file cannot loop.
	budget := 4*(nn+len(members)) + 4*len(roots) + 16
	var walk func(id int, tree, nodeID int64, member int, isLeaf bool, depth int) (int64, error)
	walk = func(id int, tree, nodeID int64, member int, isLeaf bool, depth int) (int64, error) {
		budget--
		if budget < 0 || depth > 10000 {
			return 0, fmt.Errorf("trees are cyclic or too deep")
		}
		r.treeIDs = append(r.treeIDs, tree)
		r.nodeIDs = append(r.nodeIDs, nodeID)
		if isLeaf {
			if id < 0 || id >= len(leafW) {
				return 0, fmt.Errorf("leaf %d out of range", id)
			}
			r.modes = append(r.modes, modeLeaf)
			r.featIDs = append(r.featIDs, 0)
			r.trueIDs = append(r.trueIDs, 0)
			r.falseIDs = append(r.falseIDs, 0)
			r.values = append(r.values, 0)
			r.missing = append(r.missing, 0)
			r.tTree = append(r.tTree, tree)
			r.tNode = append(r.tNode, nodeID)
			r.tID = append(r.tID, leafTargets[id])
			r.tW = append(r.tW, leafW[id])
			return nodeID, nil
		}
		if id < 0 || id >= nn {
			return 0, fmt.Errorf("node %d out of range", id)
		}
		mode := uint8(modesI[id]) + 1 // v5 numbers modes from BRANCH_LEQ = 0
		thr := splits[id]
		if mode == modeMember {
			mode, thr = modeIn, memberOf[id][member]
		}
		r.modes = append(r.modes, mode)
		r.featIDs = append(r.featIDs, featIDs[id])
		r.values = append(r.values, thr)
		miss := int64(0)
		if len(missing) > 0 {
			miss = missing[id]
		}
		r.missing = append(r.missing, miss)
		at := len(r.falseIDs)
		r.falseIDs = append(r.falseIDs, 0)
		r.trueIDs = append(r.trueIDs, nodeID+1)
		last, err := walk(int(trueIDs[id]), tree, nodeID+1, 0, trueLeaf[id] != 0, depth+1)
		if err != nil {
			return 0, err
		}
		r.falseIDs[at] = last + 1
		if modesI[id] == 6 && member+1 < len(memberOf[id]) {
			return walk(id, tree, last+1, member+1, false, depth+1)
		}
		return walk(int(falseIDs[id]), tree, last+1, 0, falseLeaf[id] != 0, depth+1)
	}
	for t, root := range roots {
		if root < 0 || root >= int64(nn) {
			return nil, fmt.Errorf("tree root %d out of range", root)
		}
		// A one-leaf tree: both branches of its root lead to the same leaf.
		isLeaf := falseIDs[root] == trueIDs[root] && falseLeaf[root] != 0 && trueLeaf[root] != 0
		id := int(root)
		if isLeaf {
			id = int(trueIDs[root])
		}
		if _, err := walk(id, int64(t), 0, 0, isLeaf, 0); err != nil {
			return nil, err
		}
	}
	if len(roots) == 0 {
		return nil, fmt.Errorf("no trees")
	}
	if err := e.load(&r); err != nil {
		return nil, err
	}
	return e, nil
}
