// Package xgboost runs XGBoost models saved as JSON (Booster.save_model
// with a .json name) in pure Go, with xgboost's own arithmetic:
//
//   - a split sends x left when float32(x) < split_condition (a float32);
//   - a missing value (NaN) follows default_left;
//   - leaf values and the base margin are summed in float32, tree by tree,
//     in the order the file lists them (dart trees scaled by weight_drop);
//   - base_score is stored in the objective's output space ("5E-1" in
//     xgboost 1.x, "[5E-1]" in 2.x) and turned into a margin as xgboost's
//     ProbToMargin does: logit for logistic objectives, log for the
//     exponential-family ones, itself otherwise.
//
// Importing the package registers the format "xgboost-json".
package xgboost

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/modelfn/modelfn/runtime"
)

// Format is the registry name.
const Format = "xgboost-json"

func init() { runtime.Register(Format, Open) }

// node is one tree node, flattened so a tree walk touches one small array.
type node struct {
	thresh      float32 // split condition, or the leaf value for a leaf
	feature     int32   // index into the batch row; -1 marks a leaf
	left, right int32
	defaultLeft bool
}

type model struct {
	info      runtime.Info
	nodes     []node
	roots     []int32   // first node of each tree
	group     []int32   // output group (class) of each tree
	weight    []float32 // dart weight_drop per tree; nil for gbtree
	baseScore float32   // margin every output group starts from
	groups    int       // margins per row
	// transform turns a row's margins, held in out[:groups] on entry (a
	// float32 is exact as a float64), into its outputs, in place. Passing
	// the margins in out keeps Predict's own from escaping to the heap.
	transform func(out []float64)
}

// Open parses a save_model JSON document.
func Open(data []byte, spec runtime.Spec) (runtime.Model, error) {
	var doc document
	if err := json.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("xgboost model: not an XGBoost JSON model: %w", err)
	}
	l := &doc.Learner
	nFeat, err := atoi(l.Param.NumFeature, "learner_model_param.num_feature")
	if err != nil {
		return nil, err
	}
	nClass, err := atoi(l.Param.NumClass, "learner_model_param.num_class")
	if err != nil {
		return nil, err
	}
	base, err := parseBaseScore(l.Param.BaseScore)
	if err != nil {
		return nil, err
	}

	// Map the model's feature positions onto the batch's columns: by name
	// when the model recorded names, else by position.
	cols, err := featureColumns(l.FeatureNames, nFeat, spec.Schema)
	if err != nil {
		return nil, err
	}

	m := &model{groups: 1}
	if nClass > 1 {
		m.groups = nClass
	}
	obj := l.Objective.Name
	var margin func(float64) float64
	m.transform, margin, m.info, err = objective(obj, nClass)
	if err != nil {
		return nil, err
	}
	if margin == nil {
		m.baseScore = float32(base)
	} else {
		m.baseScore = float32(margin(base))
	}
	m.info.Format = Format
	if err := m.setClasses(spec); err != nil {
		return nil, err
	}

	gb := &l.Booster
	trees := gb.Model
	switch gb.Name {
	case "gbtree":
	case "dart":
		if gb.GBTree == nil {
			return nil, fmt.Errorf("xgboost model: dart booster without its gbtree")
		}
		trees = gb.GBTree.Model
		if len(gb.WeightDrop) != len(trees.Trees) {
			return nil, fmt.Errorf("xgboost model: dart has %d weights for %d trees", len(gb.WeightDrop), len(trees.Trees))
		}
		m.weight = gb.WeightDrop
	default:
		return nil, fmt.Errorf("xgboost model: booster %q is not supported (gbtree and dart are)", gb.Name)
	}
	if len(trees.TreeInfo) != len(trees.Trees) {
		return nil, fmt.Errorf("xgboost model: tree_info lists %d trees, the model has %d", len(trees.TreeInfo), len(trees.Trees))
	}
	for i := range trees.Trees {
		g := trees.TreeInfo[i]
		if g < 0 || int(g) >= m.groups {
			return nil, fmt.Errorf("xgboost model: tree %d: output group %d outside [0,%d)", i, g, m.groups)
		}
		if err := m.addTree(&trees.Trees[i], cols); err != nil {
			return nil, fmt.Errorf("xgboost model: tree %d: %w", i, err)
		}
		m.group = append(m.group, g)
	}
	return m, nil
}

func (m *model) Info() runtime.Info { return m.info }

// Predict walks every tree for every row.
func (m *model) Predict(ctx context.Context, in *runtime.Batch, out []float64) error {
	w := in.Width()
	k := m.info.Outputs
	if len(out) < in.Rows*k {
		return fmt.Errorf("xgboost: output has room for %d values, need %d", len(out), in.Rows*k)
	}
	var stack [16]float32
	margins := stack[:m.groups]
	if m.groups > len(stack) {
		margins = make([]float32, m.groups)
	}
	for r := 0; r < in.Rows; r++ {
		if r&1023 == 1023 && ctx.Err() != nil {
			return ctx.Err()
		}
		row := in.X[r*w : (r+1)*w]
		for g := range margins {
			margins[g] = m.baseScore
		}
		for t, root := range m.roots {
			leaf := m.walk(root, row)
			if m.weight != nil {
				leaf *= m.weight[t]
			}
			margins[m.group[t]] += leaf
		}
		o := out[r*k : (r+1)*k]
		for g, v := range margins {
			o[g] = float64(v)
		}
		m.transform(o)
	}
	return nil
}

func (m *model) walk(i int32, row []float64) float32 {
	nodes := m.nodes
	for {
		n := &nodes[i]
		if n.feature < 0 {
			return n.thresh
		}
		x := row[n.feature]
		switch {
		case x != x: // NaN: missing
			if n.defaultLeft {
				i = n.left
			} else {
				i = n.right
			}
		case float32(x) < n.thresh:
			i = n.left
		default:
			i = n.right
		}
	}
}

// addTree appends a tree's nodes, checking that every child index stays in
// the tree and that the tree has no cycle, so walk always ends at a leaf.
func (m *model) addTree(t *tree, cols []int32) error {
	n := len(t.Left)
	if n == 0 {
		return fmt.Errorf("no nodes")
	}
	for name, l := range map[string]int{"right_children": len(t.Right), "split_indices": len(t.SplitIndices), "split_conditions": len(t.SplitConditions), "default_left": len(t.DefaultLeft)} {
		if l != n {
			return fmt.Errorf("%s has %d entries, left_children has %d", name, l, n)
		}
	}
	for _, st := range t.SplitType {
		if st != 0 {
			return fmt.Errorf("categorical splits are not supported; one-hot encode the categories or export to ONNX")
		}
	}
	off := int32(len(m.nodes))
	m.roots = append(m.roots, off)
	for i := 0; i < n; i++ {
		l, r := t.Left[i], t.Right[i]
		nd := node{thresh: t.SplitConditions[i], feature: -1, defaultLeft: t.DefaultLeft[i] != 0}
		if l != -1 {
			// Children come after their parent in xgboost's layout; requiring
			// it rules out cycles without a visited set.
			if l <= int32(i) || r <= int32(i) || int(l) >= n || int(r) >= n {
				return fmt.Errorf("node %d: children %d, %d outside the tree or not after their parent", i, l, r)
			}
			f := t.SplitIndices[i]
			if f < 0 || int(f) >= len(cols) {
				return fmt.Errorf("node %d: split feature %d outside the model's %d features", i, f, len(cols))
			}
			nd.feature, nd.left, nd.right = cols[f], off+l, off+r
		}
		m.nodes = append(m.nodes, nd)
	}
	return nil
}

// objective returns the margin-to-output transform, the base-score-to-margin
// function (nil for identity) and the output description.
func objective(name string, nClass int) (func([]float64), func(float64) float64, runtime.Info, error) {
	logit := func(p float64) float64 { return -math.Log(1/p - 1) }
	switch name {
	case "binary:logistic":
		return func(out []float64) {
			p := float64(sigmoid(float32(out[0])))
			out[0], out[1] = 1-p, p
		}, logit, runtime.Info{Task: runtime.Classification, Outputs: 2}, nil
	case "binary:logitraw", "binary:hinge":
		if name == "binary:hinge" {
			return func(out []float64) {
				p := 0.0
				if out[0] > 0 {
					p = 1
				}
				out[0], out[1] = 1-p, p
			}, nil, runtime.Info{Task: runtime.Classification, Outputs: 2}, nil
		}
		// logitraw reports margins; the probability is their logistic.
		return func(out []float64) {
			p := float64(sigmoid(float32(out[0])))
			out[0], out[1] = 1-p, p
		}, nil, runtime.Info{Task: runtime.Classification, Outputs: 2}, nil
	case "multi:softprob", "multi:softmax":
		if nClass < 2 {
			return nil, nil, runtime.Info{}, fmt.Errorf("xgboost model: %s with num_class %d", name, nClass)
		}
		return softmax, nil, runtime.Info{Task: runtime.Classification, Outputs: nClass}, nil
	case "reg:squarederror", "reg:squaredlogerror", "reg:pseudohubererror", "reg:absoluteerror", "reg:quantileerror", "reg:linear":
		return identity, nil, runtime.Info{Task: runtime.Regression, Outputs: 1}, nil
	case "reg:logistic":
		return func(out []float64) { out[0] = float64(sigmoid(float32(out[0]))) }, logit,
			runtime.Info{Task: runtime.Regression, Outputs: 1}, nil
	case "count:poisson", "reg:gamma", "reg:tweedie":
		return func(out []float64) { out[0] = float64(float32(math.Exp(out[0]))) }, math.Log,
			runtime.Info{Task: runtime.Regression, Outputs: 1}, nil
	}
	return nil, nil, runtime.Info{}, fmt.Errorf("xgboost model: objective %q is not supported", name)
}

func identity([]float64) {} // the margin is the output

// sigmoid in float32, as xgboost's common::Sigmoid computes it.
func sigmoid(x float32) float32 {
	return 1 / (1 + float32(math.Exp(float64(-x))))
}

// softmax in float32 with xgboost's max subtraction.
func softmax(out []float64) {
	mx := float32(out[0])
	for _, v := range out[1:] {
		mx = max(mx, float32(v))
	}
	var sum float32
	for i, v := range out {
		e := float32(math.Exp(float64(float32(v) - mx)))
		out[i] = float64(e)
		sum += e
	}
	for i := range out {
		out[i] = float64(float32(out[i]) / sum)
	}
}

// setClasses names the output columns: the bundle's class names when given
// (their count must match), else the label values 0..K-1 xgboost trains on.
func (m *model) setClasses(spec runtime.Spec) error {
	if spec.Task != "" && spec.Task != m.info.Task {
		return fmt.Errorf("xgboost model: the bundle says %s but the objective is a %s objective", spec.Task, m.info.Task)
	}
	if m.info.Task != runtime.Classification {
		return nil
	}
	if len(spec.Classes) > 0 {
		if len(spec.Classes) != m.info.Outputs {
			return fmt.Errorf("xgboost model: the bundle names %d classes, the model predicts %d", len(spec.Classes), m.info.Outputs)
		}
		m.info.Classes = spec.Classes
		return nil
	}
	for i := 0; i < m.info.Outputs; i++ {
		m.info.Classes = append(m.info.Classes, strconv.Itoa(i))
	}
	return nil
}

// featureColumns maps each model feature to a batch column.
func featureColumns(names []string, nFeat int, s *runtime.Schema) ([]int32, error) {
	if s == nil {
		return nil, fmt.Errorf("xgboost model: no feature schema")
	}
	cols := make([]int32, nFeat)
	if len(names) == 0 {
		if nFeat > s.Width() {
			return nil, fmt.Errorf("xgboost model: reads %d features, the schema has %d", nFeat, s.Width())
		}
		for i := range cols {
			cols[i] = int32(i)
		}
		return cols, nil
	}
	if len(names) != nFeat {
		return nil, fmt.Errorf("xgboost model: %d feature names for %d features", len(names), nFeat)
	}
	for i, n := range names {
		c, ok := s.Index(n)
		if !ok {
			return nil, fmt.Errorf("xgboost model: model feature %q is not in the bundle's schema", n)
		}
		if s.Features[c].Type != runtime.Numeric {
			return nil, fmt.Errorf("xgboost model: feature %q is categorical in the schema; this runtime reads numeric features only", n)
		}
		cols[i] = int32(c)
	}
	return cols, nil
}

// parseBaseScore reads "5E-1" (1.x) or "[5E-1]" (2.x).
func parseBaseScore(s string) (float64, error) {
	t := strings.TrimSuffix(strings.TrimPrefix(strings.TrimSpace(s), "["), "]")
	if strings.Contains(t, ",") {
		return 0, fmt.Errorf("xgboost model: base_score %q: multi-target models are not supported", s)
	}
	v, err := strconv.ParseFloat(t, 64)
	if err != nil {
		return 0, fmt.Errorf("xgboost model: base_score %q: %w", s, err)
	}
	return v, nil
}

func atoi(s, what string) (int, error) {
	if s == "" {
		return 0, nil
	}
	v, err := strconv.Atoi(s)
	if err != nil || v < 0 || v > 1<<20 {
		return 0, fmt.Errorf("xgboost model: %s %q is not a sane count", what, s)
	}
	return v, nil
}
