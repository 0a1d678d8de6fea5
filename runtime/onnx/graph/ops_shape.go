package graph

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Operators that move data without arithmetic: shapes, copies, casts,
// constants.

func init() {
	register(DomainONNX, "Identity", 1, 1, 1, 1, func(n *node) (kernel, error) {
		return kernelFunc(func(in, out []*Tensor) error { copyTensor(out[0], in[0]); return nil }), nil
	})
	register(DomainONNX, "Dropout", 1, 3, 1, 2, func(n *node) (kernel, error) {
		// Inference: the data passes through; the mask is all true.
		n.ignore("ratio", "seed", "is_test", "consumed_inputs")
		if n.version < 7 {
			if t, _ := n.int("is_test", 0); t == 0 && n.has("is_test") {
				return nil, fmt.Errorf("training mode is not supported")
			}
		}
		if c := n.constInput(2); c != nil && c.Type == Bool && len(c.Bool) == 1 && c.Bool[0] {
			return nil, fmt.Errorf("training mode is not supported")
		} else if n.hasInput(2) && c == nil {
			return nil, fmt.Errorf("a computed training_mode is not supported")
		}
		return kernelFunc(func(in, out []*Tensor) error {
			copyTensor(out[0], in[0])
			if len(out) > 1 && out[1] != nil {
				if err := out[1].Resize(Bool, in[0].Shape...); err != nil {
					return err
				}
				for i := range out[1].Bool {
					out[1].Bool[i] = true
				}
			}
			return nil
		}), nil
	})
	register(DomainONNX, "Constant", 0, 0, 1, 1, buildConstant)
	register(DomainONNX, "Cast", 1, 1, 1, 1, func(n *node) (kernel, error) {
		to, err := n.int("to", 0)
		if err != nil {
			return nil, err
		}
		n.ignore("saturate")
		dt := DataType(to)
		if !dt.Supported() || dt < 0 {
			return nil, fmt.Errorf("cast to %v is not supported", dt)
		}
		return kernelFunc(func(in, out []*Tensor) error { return cast(in[0], out[0], dt) }), nil
	})
	register(DomainONNX, "CastLike", 2, 2, 1, 1, func(n *node) (kernel, error) {
		n.ignore("saturate")
		return kernelFunc(func(in, out []*Tensor) error { return cast(in[0], out[0], in[1].Type) }), nil
	})
	register(DomainONNX, "Shape", 1, 1, 1, 1, func(n *node) (kernel, error) {
		start, err := n.int("start", 0)
		if err != nil {
			return nil, err
		}
		end, hasEnd := int64(math.MaxInt32), n.has("end")
		if end, err = n.int("end", end); err != nil {
			return nil, err
		}
		return kernelFunc(func(in, out []*Tensor) error {
			r := int64(in[0].Rank())
			s, e := clampAxis(start, r), clampAxis(end, r)
			if !hasEnd {
				e = r
			}
			if e < s {
				e = s
			}
			if err := out[0].Resize(Int64, int(e-s)); err != nil {
				return err
			}
			for i := s; i < e; i++ {
				out[0].I64[i-s] = int64(in[0].Shape[i])
			}
			return nil
		}), nil
	})
	register(DomainONNX, "Size", 1, 1, 1, 1, func(n *node) (kernel, error) {
		return kernelFunc(func(in, out []*Tensor) error {
			if err := out[0].Resize(Int64); err != nil {
				return err
			}
			out[0].I64[0] = int64(in[0].Len())
			return nil
		}), nil
	})
	register(DomainONNX, "Reshape", 1, 2, 1, 1, func(n *node) (kernel, error) {
		allowZero, err := n.int("allowzero", 0)
		if err != nil {
			return nil, err
		}
		var attrShape []int64
		if n.version < 5 {
			if attrShape, _, err = n.ints("shape"); err != nil {
				return nil, err
			}
			n.ignore("consumed_inputs")
		}
		return kernelFunc(func(in, out []*Tensor) error {
			want := attrShape
			if len(in) > 1 {
				if want, err = ints(in[1]); err != nil {
					return err
				}
			}
			s, err := reshape(in[0].Shape, want, allowZero == 1)
			if err != nil {
				return err
			}
			return reshapeCopy(out[0], in[0], s)
		}), nil
	})
	register(DomainONNX, "Flatten", 1, 1, 1, 1, func(n *node) (kernel, error) {
		ax, err := n.int("axis", 1)
		if err != nil {
			return nil, err
		}
		return kernelFunc(func(in, out []*Tensor) error {
			r := in[0].Rank()
			a := int(ax)
			if a < 0 {
				a += r
			}
			if a < 0 || a > r {
				return fmt.Errorf("axis %d out of range for rank %d", ax, r)
			}
			outer := 1
			for _, d := range in[0].Shape[:a] {
				outer *= d
			}
			inner := 1
			for _, d := range in[0].Shape[a:] {
				inner *= d
			}
			return reshapeCopy(out[0], in[0], []int{outer, inner})
		}), nil
	})
	register(DomainONNX, "Squeeze", 1, 2, 1, 1, func(n *node) (kernel, error) {
		axes, err := axesOf(n, 13, 1)
		if err != nil {
			return nil, err
		}
		return kernelFunc(func(in, out []*Tensor) error {
			ax, err := axes(in)
			if err != nil {
				return err
			}
			s, err := squeeze(in[0].Shape, ax)
			if err != nil {
				return err
			}
			return reshapeCopy(out[0], in[0], s)
		}), nil
	})
	register(DomainONNX, "Unsqueeze", 1, 2, 1, 1, func(n *node) (kernel, error) {
		axes, err := axesOf(n, 13, 1)
		if err != nil {
			return nil, err
		}
		return kernelFunc(func(in, out []*Tensor) error {
			ax, err := axes(in)
			if err != nil {
				return err
			}
			if ax == nil {
				return fmt.Errorf("axes required")
			}
			s, err := unsqueeze(in[0].Shape, ax)
			if err != nil {
				return err
			}
			return reshapeCopy(out[0], in[0], s)
		}), nil
	})
	register(DomainONNX, "Concat", 1, -1, 1, 1, func(n *node) (kernel, error) {
		ax, err := n.int("axis", 1)
		if err != nil {
			return nil, err
		}
		if n.version >= 4 && !n.has("axis") {
			return nil, fmt.Errorf("axis is required")
		}
		return kernelFunc(func(in, out []*Tensor) error { return concat(in, out[0], ax) }), nil
	})
	register(DomainONNX, "Split", 1, 2, 1, -1, func(n *node) (kernel, error) {
		ax, err := n.int("axis", 0)
		if err != nil {
			return nil, err
		}
		split, _, err := n.ints("split")
		if err != nil {
			return nil, err
		}
		numOut, err := n.int("num_outputs", 0)
		if err != nil {
			return nil, err
		}
		return kernelFunc(func(in, out []*Tensor) error {
			sizes := split
			if len(in) > 1 && in[1] != nil {
				if sizes, err = ints(in[1]); err != nil {
					return err
				}
			}
			return splitT(in[0], out, ax, sizes, numOut)
		}), nil
	})
	register(DomainONNX, "Transpose", 1, 1, 1, 1, func(n *node) (kernel, error) {
		perm, hasPerm, err := n.ints("perm")
		if err != nil {
			return nil, err
		}
		return kernelFunc(func(in, out []*Tensor) error {
			r := in[0].Rank()
			p := make([]int, r)
			if hasPerm {
				if len(perm) != r {
					return fmt.Errorf("perm %v for rank %d", perm, r)
				}
				seen := make([]bool, r)
				for i, v := range perm {
					a, err := axis(v, r)
					if err != nil || seen[a] {
						return fmt.Errorf("perm %v is not a permutation", perm)
					}
					seen[a], p[i] = true, a
				}
			} else {
				for i := range p {
					p[i] = r - 1 - i
				}
			}
			return transpose(in[0], out[0], p)
		}), nil
	})
	register(DomainONNX, "Gather", 2, 2, 1, 1, func(n *node) (kernel, error) {
		ax, err := n.int("axis", 0)
		if err != nil {
			return nil, err
		}
		return kernelFunc(func(in, out []*Tensor) error { return gather(in[0], in[1], out[0], ax) }), nil
	})
	register(DomainONNX, "GatherElements", 2, 2, 1, 1, func(n *node) (kernel, error) {
		ax, err := n.int("axis", 0)
		if err != nil {
			return nil, err
		}
		return kernelFunc(func(in, out []*Tensor) error { return gatherElements(in[0], in[1], out[0], ax) }), nil
	})
	register(DomainONNX, "Slice", 1, 5, 1, 1, buildSlice)
	register(DomainONNX, "ConstantOfShape", 1, 1, 1, 1, func(n *node) (kernel, error) {
		v, err := n.tensor("value")
		if err != nil {
			return nil, err
		}
		if v == nil {
			v = &Tensor{Type: Float, Shape: []int{1}, F32: []float32{0}}
		}
		if v.Len() != 1 {
			return nil, fmt.Errorf("value must hold one element")
		}
		return kernelFunc(func(in, out []*Tensor) error {
			s, err := ints(in[0])
			if err != nil {
				return err
			}
			shape, err := toShape(s)
			if err != nil {
				return err
			}
			if err := out[0].Resize(v.Type, shape...); err != nil {
				return err
			}
			for i := 0; i < out[0].Len(); i++ {
				setFrom(out[0], i, v, 0)
			}
			return nil
		}), nil
	})
	register(DomainONNX, "Expand", 2, 2, 1, 1, func(n *node) (kernel, error) {
		return kernelFunc(func(in, out []*Tensor) error {
			s, err := ints(in[1])
			if err != nil {
				return err
			}
			shape, err := toShape(s)
			if err != nil {
				return err
			}
			var buf [8]int
			target, err := broadcastShape(buf[:0], in[0].Shape, shape)
			if err != nil {
				return err
			}
			return expand(in[0], out[0], target)
		}), nil
	})
	register(DomainONNX, "Tile", 2, 2, 1, 1, func(n *node) (kernel, error) {
		return kernelFunc(func(in, out []*Tensor) error { return tile(in[0], in[1], out[0]) }), nil
	})
	register(DomainONNX, "Range", 3, 3, 1, 1, func(n *node) (kernel, error) {
		return kernelFunc(func(in, out []*Tensor) error { return rangeOp(in[0], in[1], in[2], out[0]) }), nil
	})
}

func clampAxis(a, r int64) int64 {
	if a < 0 {
		a += r
	}
	return max(0, min(a, r))
}

func toShape(s []int64) ([]int, error) {
	shape := make([]int, len(s))
	for i, d := range s {
		if d < 0 || d > MaxElements {
			return nil, fmt.Errorf("invalid dimension %d in shape %v", d, s)
		}
		shape[i] = int(d)
	}
	if _, err := Numel(shape); err != nil {
		return nil, err
	}
	return shape, nil
}

func buildConstant(n *node) (kernel, error) {
	var t *Tensor
	set := 0
	if v, err := n.tensor("value"); err != nil {
		return nil, err
	} else if v != nil {
		t, set = v, set+1
	}
	if n.has("sparse_value") {
		return nil, fmt.Errorf("sparse_value is not supported")
	}
	if n.has("value_float") {
		f, err := n.float("value_float", 0)
		if err != nil {
			return nil, err
		}
		t, set = &Tensor{Type: Float, Shape: []int{}, F32: []float32{f}}, set+1
	}
	if fs, ok, err := n.floats("value_floats"); err != nil {
		return nil, err
	} else if ok {
		t, set = &Tensor{Type: Float, Shape: []int{len(fs)}, F32: fs}, set+1
	}
	if n.has("value_int") {
		i, err := n.int("value_int", 0)
		if err != nil {
			return nil, err
		}
		t, set = &Tensor{Type: Int64, Shape: []int{}, I64: []int64{i}}, set+1
	}
	if is, ok, err := n.ints("value_ints"); err != nil {
		return nil, err
	} else if ok {
		t, set = &Tensor{Type: Int64, Shape: []int{len(is)}, I64: is}, set+1
	}
	if n.has("value_string") {
		s, err := n.string("value_string", "")
		if err != nil {
			return nil, err
		}
		t, set = &Tensor{Type: String, Shape: []int{}, Str: []string{s}}, set+1
	}
	if ss, ok, err := n.strings("value_strings"); err != nil {
		return nil, err
	} else if ok {
		t, set = &Tensor{Type: String, Shape: []int{len(ss)}, Str: ss}, set+1
	}
	if set != 1 {
		return nil, fmt.Errorf("exactly one value attribute expected, got %d", set)
	}
	return kernelFunc(func(in, out []*Tensor) error { copyTensor(out[0], t); return nil }), nil
}

// cast converts element types with onnxruntime's conventions: float to
// integer truncates toward zero, numbers print as the shortest text that
// reads back the same, and text parses as a number.
func cast(a, out *Tensor, to DataType) error {
	if a.Type == to {
		copyTensor(out, a)
		return nil
	}
	if err := out.Resize(to, a.Shape...); err != nil {
		return err
	}
	n := a.Len()
	if to == String {
		for i := 0; i < n; i++ {
			out.Str[i] = formatElem(a, i)
		}
		return nil
	}
	if a.Type == String {
		for i := 0; i < n; i++ {
			v, err := parseNumber(a.Str[i])
			if err != nil {
				return err
			}
			setFloat(out, i, v)
		}
		return nil
	}
	if a.Type == Int64 && (to == Int32) {
		for i, v := range a.I64[:n] {
			out.I32[i] = int32(v)
		}
		return nil
	}
	if a.Type == Int64 && to == Double {
		for i, v := range a.I64[:n] {
			out.F64[i] = float64(v)
		}
		return nil
	}
	if a.Type == Int64 && to == Float {
		for i, v := range a.I64[:n] {
			out.F32[i] = float32(v)
		}
		return nil
	}
	x, err := a.Float64s()
	if err != nil {
		return err
	}
	for i, v := range x {
		setFloat(out, i, v)
	}
	return nil
}

func setFloat(t *Tensor, i int, v float64) {
	switch t.Type {
	case Float:
		t.F32[i] = float32(v)
	case Double:
		t.F64[i] = v
	case Int32:
		t.I32[i] = toInt32(math.Trunc(v))
	case Int64:
		t.I64[i] = toInt64(math.Trunc(v))
	case Bool:
		t.Bool[i] = v != 0
	}
}

func formatElem(t *Tensor, i int) string {
	switch t.Type {
	case Float:
		return formatFloat(float64(t.F32[i]), 32)
	case Double:
		return formatFloat(t.F64[i], 64)
	case Int32:
		return strconv.FormatInt(int64(t.I32[i]), 10)
	case Int64:
		return strconv.FormatInt(t.I64[i], 10)
	case Bool:
		if t.Bool[i] {
			return "1"
		}
		return "0"
	}
	return ""
}

func formatFloat(v float64, bits int) string {
	switch {
	case math.IsNaN(v):
		return "NaN"
	case math.IsInf(v, 1):
		return "INF"
	case math.IsInf(v, -1):
		return "-INF"
	}
	return strconv.FormatFloat(v, 'g', -1, bits)
}

func parseNumber(s string) (float64, error) {
	t := strings.TrimSpace(s)
	switch strings.ToUpper(t) {
	case "NAN", "+NAN", "-NAN":
		return math.NaN(), nil
	case "INF", "+INF", "INFINITY", "+INFINITY":
		return math.Inf(1), nil
	case "-INF", "-INFINITY":
		return math.Inf(-1), nil
	}
	v, err := strconv.ParseFloat(t, 64)
	if err != nil {
		return 0, fmt.Errorf("cannot cast %q to a number", clipText(s))
	}
	return v, nil
}

func clipText(s string) string {
	if len(s) > 40 {
		return s[:40] + "…"
	}
	return s
}

// reshape resolves a target shape with 0 (copy) and -1 (infer) entries.
func reshape(in []int, want []int64, allowZero bool) ([]int, error) {
	n := 1
	for _, d := range in {
		n *= d
	}
	out := make([]int, len(want))
	infer, known := -1, 1
	for i, d := range want {
		switch {
		case d == -1:
			if infer >= 0 {
				return nil, fmt.Errorf("shape %v has two -1", want)
			}
			infer = i
			continue
		case d == 0 && !allowZero:
			if i >= len(in) {
				return nil, fmt.Errorf("shape %v copies dimension %d of a rank %d tensor", want, i, len(in))
			}
			out[i] = in[i]
		case d < 0 || d > MaxElements:
			return nil, fmt.Errorf("invalid dimension %d in shape %v", d, want)
		default:
			out[i] = int(d)
		}
		if out[i] != 0 && known > MaxElements/out[i] {
			return nil, fmt.Errorf("shape %v is too large", want)
		}
		known *= out[i]
	}
	if infer >= 0 {
		if known == 0 || n%known != 0 {
			return nil, fmt.Errorf("cannot reshape %v to %v", in, want)
		}
		out[infer] = n / known
		known *= out[infer]
	}
	if known != n {
		return nil, fmt.Errorf("cannot reshape %v (%d elements) to %v", in, n, want)
	}
	return out, nil
}

// reshapeCopy copies a's data into out under a new shape.
func reshapeCopy(out, a *Tensor, shape []int) error {
	if err := out.Resize(a.Type, shape...); err != nil {
		return err
	}
	copyRange(out, 0, a, 0, out.Len())
	out.Keys, out.KeysI64 = a.Keys, a.KeysI64
	return nil
}

// copyRange copies n elements of src from si to dst at di (same types).
func copyRange(dst *Tensor, di int, src *Tensor, si, n int) {
	switch dst.Type {
	case Float, SeqMapString, SeqMapInt64:
		copy(dst.F32[di:di+n], src.F32[si:si+n])
	case Double:
		copy(dst.F64[di:di+n], src.F64[si:si+n])
	case Int32:
		copy(dst.I32[di:di+n], src.I32[si:si+n])
	case Int64:
		copy(dst.I64[di:di+n], src.I64[si:si+n])
	case String:
		copy(dst.Str[di:di+n], src.Str[si:si+n])
	case Bool:
		copy(dst.Bool[di:di+n], src.Bool[si:si+n])
	}
}

// axesOf reads the axes of Squeeze/Unsqueeze/Reduce*: an attribute before
// version since, an optional input (index at) from it on.
func axesOf(n *node, since int64, at int) (func(in []*Tensor) ([]int64, error), error) {
	if n.version < since {
		axes, ok, err := n.ints("axes")
		if err != nil {
			return nil, err
		}
		if !ok {
			axes = nil
		}
		return func([]*Tensor) ([]int64, error) { return axes, nil }, nil
	}
	return func(in []*Tensor) ([]int64, error) {
		if len(in) <= at || in[at] == nil {
			return nil, nil
		}
		v, err := ints(in[at])
		if err != nil {
			return nil, err
		}
		if v == nil {
			v = []int64{}
		}
		return v, nil
	}, nil
}

func squeeze(shape []int, axes []int64) ([]int, error) {
	drop := make([]bool, len(shape))
	if axes == nil {
		for i, d := range shape {
			drop[i] = d == 1
		}
	}
	for _, a := range axes {
		i, err := axis(a, len(shape))
		if err != nil {
			return nil, err
		}
		if shape[i] != 1 {
			return nil, fmt.Errorf("cannot squeeze axis %d of shape %v", a, shape)
		}
		drop[i] = true
	}
	var out []int
	for i, d := range shape {
		if !drop[i] {
			out = append(out, d)
		}
	}
	return out, nil
}

func unsqueeze(shape []int, axes []int64) ([]int, error) {
	r := len(shape) + len(axes)
	ins := make([]bool, r)
	for _, a := range axes {
		i, err := axis(a, r)
		if err != nil {
			return nil, err
		}
		if ins[i] {
			return nil, fmt.Errorf("axis %d given twice", a)
		}
		ins[i] = true
	}
	out := make([]int, 0, r)
	j := 0
	for i := 0; i < r; i++ {
		if ins[i] {
			out = append(out, 1)
		} else {
			out = append(out, shape[j])
			j++
		}
	}
	return out, nil
}

func concat(in []*Tensor, out *Tensor, ax int64) error {
	var first *Tensor
	for _, t := range in {
		if t != nil {
			first = t
			break
		}
	}
	if first == nil {
		return fmt.Errorf("no inputs")
	}
	r := first.Rank()
	a, err := axis(ax, r)
	if err != nil {
		return err
	}
	var sbuf [8]int
	shape := append(sbuf[:0], first.Shape...)
	shape[a] = 0
	for _, t := range in {
		if t == nil {
			continue
		}
		if t.Type != first.Type || t.Rank() != r {
			return fmt.Errorf("inputs of types/ranks %v%v and %v%v", first.Type, first.Shape, t.Type, t.Shape)
		}
		for i := range shape {
			if i != a && t.Shape[i] != first.Shape[i] {
				return fmt.Errorf("shapes %v and %v differ outside axis %d", first.Shape, t.Shape, a)
			}
		}
		shape[a] += t.Shape[a]
	}
	if err := out.Resize(first.Type, shape...); err != nil {
		return err
	}
	outer := 1
	for _, d := range shape[:a] {
		outer *= d
	}
	inner := 1
	for _, d := range shape[a+1:] {
		inner *= d
	}
	rowOut := shape[a] * inner
	off := 0
	for _, t := range in {
		if t == nil {
			continue
		}
		block := t.Shape[a] * inner
		for o := 0; o < outer; o++ {
			copyRange(out, o*rowOut+off, t, o*block, block)
		}
		off += block
	}
	return nil
}

func splitT(a *Tensor, out []*Tensor, ax int64, sizes []int64, numOut int64) error {
	r := a.Rank()
	x, err := axis(ax, r)
	if err != nil {
		return err
	}
	dim := a.Shape[x]
	k := len(out)
	if sizes == nil {
		if numOut > 0 && int(numOut) != k {
			return fmt.Errorf("num_outputs %d but %d outputs", numOut, k)
		}
		chunk := (dim + k - 1) / k
		if numOut == 0 && dim%k != 0 {
			return fmt.Errorf("dimension %d does not split evenly into %d", dim, k)
		}
		for i := 0; i < k; i++ {
			s := min(chunk, dim-i*chunk)
			sizes = append(sizes, int64(max(s, 0)))
		}
	}
	if len(sizes) != k {
		return fmt.Errorf("%d split sizes for %d outputs", len(sizes), k)
	}
	total := 0
	for _, s := range sizes {
		if s < 0 {
			return fmt.Errorf("negative split size")
		}
		total += int(s)
	}
	if total != dim {
		return fmt.Errorf("split sizes %v do not add up to %d", sizes, dim)
	}
	outer := 1
	for _, d := range a.Shape[:x] {
		outer *= d
	}
	inner := 1
	for _, d := range a.Shape[x+1:] {
		inner *= d
	}
	off := 0
	for i, t := range out {
		s := int(sizes[i])
		if t != nil {
			shape := append([]int{}, a.Shape...)
			shape[x] = s
			if err := t.Resize(a.Type, shape...); err != nil {
				return err
			}
			for o := 0; o < outer; o++ {
				copyRange(t, o*s*inner, a, o*dim*inner+off*inner, s*inner)
			}
		}
		off += s
	}
	return nil
}

func transpose(a, out *Tensor, perm []int) error {
	r := a.Rank()
	shape := make([]int, r)
	for i, p := range perm {
		shape[i] = a.Shape[p]
	}
	if err := out.Resize(a.Type, shape...); err != nil {
		return err
	}
	n := out.Len()
	if n == 0 {
		return nil
	}
	// Strides of the input, read in output order.
	st := make([]int, r)
	s := 1
	for i := r - 1; i >= 0; i-- {
		st[i] = s
		s *= a.Shape[i]
	}
	pst := make([]int, r)
	for i, p := range perm {
		pst[i] = st[p]
	}
	idx := make([]int, r)
	src := 0
	for o := 0; o < n; o++ {
		setFrom(out, o, a, src)
		for d := r - 1; d >= 0; d-- {
			idx[d]++
			src += pst[d]
			if idx[d] < shape[d] {
				break
			}
			src -= pst[d] * shape[d]
			idx[d] = 0
		}
	}
	return nil
}

func gather(a, ind, out *Tensor, ax int64) error {
	r := a.Rank()
	x, err := axis(ax, r)
	if err != nil {
		return err
	}
	idx, err := ints(ind)
	if err != nil {
		return err
	}
	dim := a.Shape[x]
	shape := make([]int, 0, r-1+ind.Rank())
	shape = append(shape, a.Shape[:x]...)
	shape = append(shape, ind.Shape...)
	shape = append(shape, a.Shape[x+1:]...)
	if err := out.Resize(a.Type, shape...); err != nil {
		return err
	}
	outer := 1
	for _, d := range a.Shape[:x] {
		outer *= d
	}
	inner := 1
	for _, d := range a.Shape[x+1:] {
		inner *= d
	}
	o := 0
	for i := 0; i < outer; i++ {
		for _, j := range idx {
			if j < 0 {
				j += int64(dim)
			}
			if j < 0 || j >= int64(dim) {
				return fmt.Errorf("index %d out of range for dimension %d", j, dim)
			}
			copyRange(out, o, a, (i*dim+int(j))*inner, inner)
			o += inner
		}
	}
	return nil
}

func gatherElements(a, ind, out *Tensor, ax int64) error {
	r := a.Rank()
	x, err := axis(ax, r)
	if err != nil {
		return err
	}
	if ind.Rank() != r {
		return fmt.Errorf("indices rank %d, data rank %d", ind.Rank(), r)
	}
	idx, err := ints(ind)
	if err != nil {
		return err
	}
	if err := out.Resize(a.Type, ind.Shape...); err != nil {
		return err
	}
	ast := strides(a.Shape)
	pos := make([]int, r)
	for o := range idx {
		// Decompose o in ind's shape.
		rem := o
		for d := r - 1; d >= 0; d-- {
			pos[d] = rem % ind.Shape[d]
			rem /= ind.Shape[d]
		}
		j := idx[o]
		if j < 0 {
			j += int64(a.Shape[x])
		}
		if j < 0 || j >= int64(a.Shape[x]) {
			return fmt.Errorf("index %d out of range", idx[o])
		}
		src := 0
		for d := 0; d < r; d++ {
			p := pos[d]
			if d == x {
				p = int(j)
			} else if p >= a.Shape[d] {
				return fmt.Errorf("indices shape %v exceeds data shape %v", ind.Shape, a.Shape)
			}
			src += p * ast[d]
		}
		setFrom(out, o, a, src)
	}
	return nil
}

func strides(shape []int) []int {
	st := make([]int, len(shape))
	s := 1
	for i := len(shape) - 1; i >= 0; i-- {
		st[i] = s
		s *= shape[i]
	}
	return st
}

func buildSlice(n *node) (kernel, error) {
	var starts, ends, axes, steps []int64
	if n.version < 10 {
		var err error
		if starts, _, err = n.ints("starts"); err != nil {
			return nil, err
		}
		if ends, _, err = n.ints("ends"); err != nil {
			return nil, err
		}
		if axes, _, err = n.ints("axes"); err != nil {
			return nil, err
		}
	}
	return kernelFunc(func(in, out []*Tensor) error {
		st, en, ax, sp := starts, ends, axes, steps
		var err error
		if n.version >= 10 {
			if len(in) < 3 {
				return fmt.Errorf("starts and ends required")
			}
			if st, err = ints(in[1]); err != nil {
				return err
			}
			if en, err = ints(in[2]); err != nil {
				return err
			}
			ax, sp = nil, nil
			if len(in) > 3 && in[3] != nil {
				if ax, err = ints(in[3]); err != nil {
					return err
				}
			}
			if len(in) > 4 && in[4] != nil {
				if sp, err = ints(in[4]); err != nil {
					return err
				}
			}
		}
		return slice(in[0], out[0], st, en, ax, sp)
	}), nil
}

func slice(a, out *Tensor, starts, ends, axes, steps []int64) error {
	r := a.Rank()
	if len(starts) != len(ends) || (axes != nil && len(axes) != len(starts)) || (steps != nil && len(steps) != len(starts)) {
		return fmt.Errorf("starts, ends, axes and steps differ in length")
	}
	begin := make([]int, r)
	step := make([]int, r)
	shape := append([]int{}, a.Shape...)
	for i := range step {
		step[i] = 1
	}
	seen := make([]bool, r)
	for i := range starts {
		ai := int64(i)
		if axes != nil {
			ai = axes[i]
		}
		x, err := axis(ai, r)
		if err != nil {
			return err
		}
		if seen[x] {
			return fmt.Errorf("axis %d repeated", ai)
		}
		seen[x] = true
		s := int64(1)
		if steps != nil {
			s = steps[i]
		}
		if s == 0 {
			return fmt.Errorf("step 0")
		}
		dim := int64(a.Shape[x])
		b, e := starts[i], ends[i]
		if b < 0 {
			b += dim
		}
		if e < 0 {
			e += dim
		}
		var cnt int64
		if s > 0 {
			b = max(0, min(b, dim))
			e = max(0, min(e, dim))
			if e > b {
				cnt = (e - b + s - 1) / s
			}
		} else {
			b = max(-1, min(b, dim-1))
			e = max(-1, min(e, dim-1))
			if b > e {
				cnt = (b - e - s - 1) / -s
			}
		}
		begin[x], step[x], shape[x] = int(b), int(s), int(cnt)
	}
	if err := out.Resize(a.Type, shape...); err != nil {
		return err
	}
	n := out.Len()
	if n == 0 {
		return nil
	}
	ast := strides(a.Shape)
	idx := make([]int, r)
	src := 0
	for d := 0; d < r; d++ {
		src += begin[d] * ast[d]
	}
	for o := 0; o < n; o++ {
		setFrom(out, o, a, src)
		for d := r - 1; d >= 0; d-- {
			idx[d]++
			src += step[d] * ast[d]
			if idx[d] < shape[d] {
				break
			}
			src -= step[d] * ast[d] * shape[d]
			idx[d] = 0
		}
	}
	return nil
}

func expand(a, out *Tensor, shape []int) error {
	if err := out.Resize(a.Type, shape...); err != nil {
		return err
	}
	if out.Len() == 0 {
		return nil
	}
	var p bplan
	p.init(shape, a.Shape)
	p.each(func(o int, off [3]int, n int, st [3]int) {
		if st[0] == 1 {
			copyRange(out, o, a, off[0], n)
			return
		}
		for i := 0; i < n; i++ {
			setFrom(out, o+i, a, off[0])
		}
	})
	return nil
}

func tile(a, rep, out *Tensor) error {
	reps, err := ints(rep)
	if err != nil {
		return err
	}
	r := a.Rank()
	if len(reps) != r {
		return fmt.Errorf("%d repeats for rank %d", len(reps), r)
	}
	shape := make([]int, r)
	for i, k := range reps {
		if k < 0 || k > MaxElements {
			return fmt.Errorf("invalid repeat %d", k)
		}
		shape[i] = a.Shape[i] * int(k)
		if a.Shape[i] != 0 && shape[i]/a.Shape[i] != int(k) {
			return fmt.Errorf("repeats %v too large", reps)
		}
	}
	if err := out.Resize(a.Type, shape...); err != nil {
		return err
	}
	n := out.Len()
	ast := strides(a.Shape)
	idx := make([]int, r)
	for o := 0; o < n; o++ {
		src := 0
		for d := 0; d < r; d++ {
			src += (idx[d] % a.Shape[d]) * ast[d]
		}
		setFrom(out, o, a, src)
		for d := r - 1; d >= 0; d-- {
			idx[d]++
			if idx[d] < shape[d] {
				break
			}
			idx[d] = 0
		}
	}
	return nil
}

func rangeOp(start, limit, delta, out *Tensor) error {
	if start.Type != limit.Type || start.Type != delta.Type || start.Len() != 1 || limit.Len() != 1 || delta.Len() != 1 {
		return fmt.Errorf("start, limit and delta must be scalars of one type")
	}
	s, _ := start.Float64s()
	l, _ := limit.Float64s()
	d, _ := delta.Float64s()
	if d[0] == 0 {
		return fmt.Errorf("delta is 0")
	}
	cnt := math.Ceil((l[0] - s[0]) / d[0])
	if cnt < 0 || math.IsNaN(cnt) {
		cnt = 0
	}
	if cnt > MaxElements {
		return fmt.Errorf("range of %v elements is too large", cnt)
	}
	if err := out.Resize(start.Type, int(cnt)); err != nil {
		return err
	}
	switch start.Type {
	case Float:
		for i := range out.F32 {
			out.F32[i] = start.F32[0] + float32(i)*delta.F32[0]
		}
	case Double:
		for i := range out.F64 {
			out.F64[i] = start.F64[0] + float64(i)*delta.F64[0]
		}
	case Int64:
		for i := range out.I64 {
			out.I64[i] = start.I64[0] + int64(i)*delta.I64[0]
		}
	case Int32:
		for i := range out.I32 {
			out.I32[i] = start.I32[0] + int32(i)*delta.I32[0]
		}
	default:
		return errType(start.Type)
	}
	return nil
}
