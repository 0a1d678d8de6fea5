package graph

import (
	"fmt"
	"math"
)

// The other ai.onnx.ml operators scikit-learn converters emit, with
// onnxruntime's CPU semantics (float32 arithmetic where it uses it).

func init() {
	register(DomainML, "LinearClassifier", 1, 1, 2, 2, buildLinearClassifier)
	register(DomainML, "LinearRegressor", 1, 1, 1, 1, buildLinearRegressor)
	register(DomainML, "Scaler", 1, 1, 1, 1, buildScaler)
	register(DomainML, "Normalizer", 1, 1, 1, 1, buildNormalizer)
	register(DomainML, "Imputer", 1, 1, 1, 1, buildImputer)
	register(DomainML, "OneHotEncoder", 1, 1, 1, 1, buildOneHot)
	register(DomainML, "LabelEncoder", 1, 1, 1, 1, buildLabelEncoder)
	register(DomainML, "ArrayFeatureExtractor", 2, 2, 1, 1, func(n *node) (kernel, error) {
		return kernelFunc(func(in, out []*Tensor) error { return arrayFeatureExtractor(in[0], in[1], out[0]) }), nil
	})
	register(DomainML, "Binarizer", 1, 1, 1, 1, func(n *node) (kernel, error) {
		th, err := n.float("threshold", 0)
		if err != nil {
			return nil, err
		}
		return kernelFunc(func(in, out []*Tensor) error {
			x := in[0]
			if x.Type != Float {
				return errType(x.Type)
			}
			if err := out[0].Resize(Float, x.Shape...); err != nil {
				return err
			}
			for i, v := range x.F32[:len(out[0].F32)] {
				if v != v {
					return fmt.Errorf("input %d is NaN", i)
				}
				out[0].F32[i] = 0
				if v > th {
					out[0].F32[i] = 1
				}
			}
			return nil
		}), nil
	})
	register(DomainML, "ZipMap", 1, 1, 1, 1, buildZipMap)
	register(DomainML, "FeatureVectorizer", 1, -1, 1, 1, buildFeatureVectorizer)
}

// rowsCols reads a [N,C] or [C] input as onnxruntime's ML kernels do.
func rowsCols(x *Tensor) (int, int, error) {
	switch x.Rank() {
	case 1:
		return 1, x.Shape[0], nil
	case 2:
		return x.Shape[0], x.Shape[1], nil
	}
	return 0, 0, fmt.Errorf("input of shape %v, [N,C] or [C] expected", x.Shape)
}

// asFloat32 converts a numeric tensor to float32 values, reusing buf.
func asFloat32(x *Tensor, buf []float32) ([]float32, error) {
	n := x.Len()
	switch x.Type {
	case Float:
		return x.F32[:n], nil
	case Double:
		buf = grow(buf, n)
		for i, v := range x.F64[:n] {
			buf[i] = float32(v)
		}
	case Int64:
		buf = grow(buf, n)
		for i, v := range x.I64[:n] {
			buf[i] = float32(v)
		}
	case Int32:
		buf = grow(buf, n)
		for i, v := range x.I32[:n] {
			buf[i] = float32(v)
		}
	default:
		return nil, errType(x.Type)
	}
	return buf, nil
}

type linear struct {
	coef, icpt []float32
	post       postTransform
	labelsStr  []string
	labelsI64  []int64
	classify   bool
	targets    int // from intercepts (or the regressor's targets)
}

func buildLinearClassifier(n *node) (kernel, error) {
	l := &linear{classify: true}
	var err error
	if l.coef, _, err = n.floats("coefficients"); err != nil {
		return nil, err
	}
	if len(l.coef) == 0 {
		return nil, fmt.Errorf("coefficients are required")
	}
	if l.icpt, _, err = n.floats("intercepts"); err != nil {
		return nil, err
	}
	if _, err = n.int("multi_class", 0); err != nil { // read, and unused by onnxruntime
		return nil, err
	}
	post, err := n.string("post_transform", "NONE")
	if err != nil {
		return nil, err
	}
	if l.post, err = parsePost(post); err != nil {
		return nil, err
	}
	if l.labelsStr, _, err = n.strings("classlabels_strings"); err != nil {
		return nil, err
	}
	if l.labelsI64, _, err = n.ints("classlabels_ints"); err != nil {
		return nil, err
	}
	if (len(l.labelsStr) == 0) == (len(l.labelsI64) == 0) {
		return nil, fmt.Errorf("exactly one of classlabels_strings and classlabels_ints is required")
	}
	l.targets = len(l.icpt)
	if l.targets == 0 {
		return nil, fmt.Errorf("intercepts are required")
	}
	if len(l.coef)%l.targets != 0 {
		return nil, fmt.Errorf("%d coefficients for %d classes", len(l.coef), l.targets)
	}
	nl := len(l.labelsStr) + len(l.labelsI64)
	if l.targets > 1 && l.targets != nl {
		return nil, fmt.Errorf("%d intercepts for %d class labels", l.targets, nl)
	}
	if l.targets == 1 && l.post != postNone && l.post != postLogistic {
		return nil, fmt.Errorf("post_transform %s with one score is not supported", post)
	}
	return l, nil
}

func buildLinearRegressor(n *node) (kernel, error) {
	l := &linear{}
	var err error
	if l.coef, _, err = n.floats("coefficients"); err != nil {
		return nil, err
	}
	if l.icpt, _, err = n.floats("intercepts"); err != nil {
		return nil, err
	}
	t, err := n.int("targets", 1)
	if err != nil {
		return nil, err
	}
	if t <= 0 || t > 1<<20 || len(l.coef)%int(t) != 0 || len(l.coef) == 0 {
		return nil, fmt.Errorf("%d coefficients for %d targets", len(l.coef), t)
	}
	if len(l.icpt) != 0 && len(l.icpt) != int(t) {
		return nil, fmt.Errorf("%d intercepts for %d targets", len(l.icpt), t)
	}
	l.targets = int(t)
	post, err := n.string("post_transform", "NONE")
	if err != nil {
		return nil, err
	}
	if l.post, err = parsePost(post); err != nil {
		return nil, err
	}
	return l, nil
}

func (l *linear) run(in, out []*Tensor) error {
	x := in[0]
	rows, cols, err := rowsCols(x)
	if err != nil {
		return err
	}
	if cols*l.targets != len(l.coef) {
		return fmt.Errorf("input has %d features, the coefficients expect %d", cols, len(l.coef)/l.targets)
	}
	xf, err := asFloat32(x, nil)
	if err != nil {
		return err
	}
	z := out[len(out)-1]
	width := l.targets
	second := l.classify && l.targets == 1 && len(l.labelsStr)+len(l.labelsI64) == 2
	if second {
		width = 2
	}
	if err := z.Resize(Float, rows, width); err != nil {
		return err
	}
	for r := 0; r < rows; r++ {
		row := xf[r*cols : (r+1)*cols]
		s := z.F32[r*width : r*width+l.targets]
		for j := range s {
			c := l.coef[j*cols : (j+1)*cols]
			var acc float32
			for i, v := range row {
				acc += v * c[i]
			}
			if len(l.icpt) > 0 {
				acc += l.icpt[j]
			}
			s[j] = acc
		}
	}
	if l.classify && out[0] != nil {
		if err := l.labels(z, rows, width, out[0]); err != nil {
			return err
		}
	}
	for r := 0; r < rows; r++ {
		s := z.F32[r*width : (r+1)*width]
		switch {
		case l.targets > 1:
			applyPost(l.post, s)
		case second:
			// onnxruntime transforms the one score, then adds its complement.
			p := s[0]
			if l.post == postLogistic {
				p = logistic(p)
			}
			s[0], s[1] = 1-p, p
		case l.post == postLogistic:
			s[0] = logistic(s[0])
		}
	}
	return nil
}

// labels picks each row's class from the raw scores.
func (l *linear) labels(z *Tensor, rows, width int, y *Tensor) error {
	str := l.labelsStr != nil
	lt := Int64
	if str {
		lt = String
	}
	if err := y.Resize(lt, rows); err != nil {
		return err
	}
	for r := 0; r < rows; r++ {
		s := z.F32[r*width : r*width+l.targets]
		best := 0
		if l.targets == 1 {
			pos := s[0] > 0
			two := len(l.labelsStr)+len(l.labelsI64) == 2
			switch {
			case str && two && pos:
				y.Str[r] = l.labelsStr[1]
			case str && two:
				y.Str[r] = l.labelsStr[0]
			case str && pos:
				y.Str[r] = "1"
			case str:
				y.Str[r] = "0"
			case two && pos:
				y.I64[r] = l.labelsI64[1]
			case two:
				y.I64[r] = l.labelsI64[0]
			case pos:
				y.I64[r] = 1
			default:
				y.I64[r] = 0
			}
			continue
		}
		for j := 1; j < len(s); j++ {
			if s[j] > s[best] {
				best = j
			}
		}
		if str {
			y.Str[r] = l.labelsStr[best]
		} else {
			y.I64[r] = l.labelsI64[best]
		}
	}
	return nil
}

func buildScaler(n *node) (kernel, error) {
	scale, _, err := n.floats("scale")
	if err != nil {
		return nil, err
	}
	offset, _, err := n.floats("offset")
	if err != nil {
		return nil, err
	}
	if len(scale) == 0 || len(scale) != len(offset) {
		return nil, fmt.Errorf("scale (%d values) and offset (%d values) must be given and match", len(scale), len(offset))
	}
	return kernelFunc(func(in, out []*Tensor) error {
		x := in[0]
		if x.Rank() == 0 {
			return fmt.Errorf("scalar input")
		}
		stride := x.Shape[x.Rank()-1]
		if x.Rank() > 1 {
			stride = x.Shape[1]
		}
		if len(scale) != stride && len(scale) != 1 {
			return fmt.Errorf("scale has %d values for %d features", len(scale), stride)
		}
		if err := out[0].Resize(Float, x.Shape...); err != nil {
			return err
		}
		z := out[0].F32
		k := len(scale)
		switch x.Type {
		case Float:
			for i, v := range x.F32[:len(z)] {
				j := i % k
				z[i] = (v - offset[j]) * scale[j]
			}
		case Double:
			for i, v := range x.F64[:len(z)] {
				j := i % k
				z[i] = float32((v - float64(offset[j])) * float64(scale[j]))
			}
		case Int64, Int32:
			vals, _ := x.Float64s()
			for i, v := range vals {
				j := i % k
				z[i] = float32((v - float64(offset[j])) * float64(scale[j]))
			}
		default:
			return errType(x.Type)
		}
		return nil
	}), nil
}

func buildNormalizer(n *node) (kernel, error) {
	norm, err := n.string("norm", "MAX")
	if err != nil {
		return nil, err
	}
	if norm != "MAX" && norm != "L1" && norm != "L2" {
		return nil, fmt.Errorf("norm %q is not supported", norm)
	}
	return kernelFunc(func(in, out []*Tensor) error {
		x := in[0]
		rows, cols, err := rowsCols(x)
		if err != nil {
			return err
		}
		if x.Type != Float && x.Type != Double && x.Type != Int64 && x.Type != Int32 {
			return errType(x.Type)
		}
		vals, _ := x.Float64s()
		if err := out[0].Resize(Float, x.Shape...); err != nil {
			return err
		}
		z := out[0].F32
		for r := 0; r < rows; r++ {
			v := vals[r*cols : (r+1)*cols]
			o := z[r*cols : (r+1)*cols]
			switch norm {
			case "MAX":
				mx := float32(-math.MaxFloat32)
				for _, e := range v {
					mx = max(mx, float32(e))
				}
				for i, e := range v {
					o[i] = float32(e)
					if mx != 0 {
						o[i] /= mx
					}
				}
			case "L1":
				var sum float32
				for _, e := range v {
					sum += float32(math.Abs(e))
				}
				for i, e := range v {
					o[i] = float32(e)
					if sum != 0 {
						o[i] /= sum
					}
				}
			case "L2":
				var sum float32
				for i, e := range v {
					sq := float32(e * e)
					o[i] = sq
					sum += sq
				}
				for i, e := range v {
					if sum == 0 {
						o[i] = float32(e)
						continue
					}
					s := float32(math.Sqrt(float64(o[i] / sum)))
					if e < 0 {
						s = -s
					}
					o[i] = s
				}
			}
		}
		return nil
	}), nil
}

func buildImputer(n *node) (kernel, error) {
	fv, hasF, err := n.floats("imputed_value_floats")
	if err != nil {
		return nil, err
	}
	iv, hasI, err := n.ints("imputed_value_int64s")
	if err != nil {
		return nil, err
	}
	rf, err := n.float("replaced_value_float", 0)
	if err != nil {
		return nil, err
	}
	ri, err := n.int("replaced_value_int64", 0)
	if err != nil {
		return nil, err
	}
	if (len(fv) > 0) == (len(iv) > 0) || (!hasF && !hasI) {
		return nil, fmt.Errorf("exactly one of imputed_value_floats and imputed_value_int64s is required")
	}
	return kernelFunc(func(in, out []*Tensor) error {
		x := in[0]
		if x.Rank() == 0 {
			return fmt.Errorf("scalar input")
		}
		stride := x.Shape[0]
		if x.Rank() > 1 {
			stride = x.Shape[1]
		}
		switch x.Type {
		case Float:
			if len(fv) == 0 {
				return fmt.Errorf("float input needs imputed_value_floats")
			}
			if err := out[0].Resize(Float, x.Shape...); err != nil {
				return err
			}
			for i, v := range x.F32[:len(out[0].F32)] {
				if (v != v && rf != rf) || v == rf {
					if len(fv) == stride {
						v = fv[i%stride]
					} else {
						v = fv[0]
					}
				}
				out[0].F32[i] = v
			}
		case Int64:
			if len(iv) == 0 {
				return fmt.Errorf("int64 input needs imputed_value_int64s")
			}
			if err := out[0].Resize(Int64, x.Shape...); err != nil {
				return err
			}
			for i, v := range x.I64[:len(out[0].I64)] {
				if v == ri {
					if len(iv) == stride {
						v = iv[i%stride]
					} else {
						v = iv[0]
					}
				}
				out[0].I64[i] = v
			}
		default:
			return errType(x.Type)
		}
		return nil
	}), nil
}

func buildOneHot(n *node) (kernel, error) {
	ci, _, err := n.ints("cats_int64s")
	if err != nil {
		return nil, err
	}
	cs, _, err := n.strings("cats_strings")
	if err != nil {
		return nil, err
	}
	zeros, err := n.int("zeros", 1)
	if err != nil {
		return nil, err
	}
	if (len(ci) == 0) == (len(cs) == 0) {
		return nil, fmt.Errorf("exactly one of cats_int64s and cats_strings is required")
	}
	// onnxruntime keeps the last position of a repeated category.
	idxI, idxS := map[int64]int{}, map[string]int{}
	for i, c := range ci {
		idxI[c] = i
	}
	for i, c := range cs {
		idxS[c] = i
	}
	nc := len(ci) + len(cs)
	return kernelFunc(func(in, out []*Tensor) error {
		x := in[0]
		if x.Rank() > 2 {
			return fmt.Errorf("input rank %d, at most 2", x.Rank())
		}
		shape := append(append([]int{}, x.Shape...), nc)
		if err := out[0].Resize(Float, shape...); err != nil {
			return err
		}
		z := out[0].F32
		clear(z)
		cnt := x.Len()
		for i := 0; i < cnt; i++ {
			j, ok := -1, false
			switch x.Type {
			case String:
				if len(cs) > 0 {
					j, ok = idxS[x.Str[i]]
				}
			case Int64:
				j, ok = idxI[x.I64[i]]
			case Int32:
				j, ok = idxI[int64(x.I32[i])]
			case Float:
				j, ok = idxI[toInt64(float64(x.F32[i]))]
			case Double:
				j, ok = idxI[toInt64(x.F64[i])]
			default:
				return errType(x.Type)
			}
			if ok {
				z[i*nc+j] = 1
			} else if zeros == 0 {
				return fmt.Errorf("unknown category and zeros = 0")
			}
		}
		return nil
	}), nil
}

func buildLabelEncoder(n *node) (kernel, error) {
	if n.version < 2 {
		classes, _, err := n.strings("classes_strings")
		if err != nil {
			return nil, err
		}
		defS, err := n.string("default_string", "_Unused")
		if err != nil {
			return nil, err
		}
		defI, err := n.int("default_int64", -1)
		if err != nil {
			return nil, err
		}
		toInt := map[string]int64{}
		for i, c := range classes {
			toInt[c] = int64(i)
		}
		return kernelFunc(func(in, out []*Tensor) error {
			x := in[0]
			switch x.Type {
			case String:
				if err := out[0].Resize(Int64, x.Shape...); err != nil {
					return err
				}
				for i, s := range x.Str[:len(out[0].I64)] {
					v, ok := toInt[s]
					if !ok {
						v = defI
					}
					out[0].I64[i] = v
				}
			case Int64:
				if err := out[0].Resize(String, x.Shape...); err != nil {
					return err
				}
				for i, v := range x.I64[:len(out[0].Str)] {
					s := defS
					if v >= 0 && v < int64(len(classes)) {
						s = classes[v]
					}
					out[0].Str[i] = s
				}
			default:
				return errType(x.Type)
			}
			return nil
		}), nil
	}
	keys, err := labelValues(n, "keys")
	if err != nil {
		return nil, err
	}
	vals, err := labelValues(n, "values")
	if err != nil {
		return nil, err
	}
	if keys == nil || vals == nil {
		return nil, fmt.Errorf("keys and values are required")
	}
	if keys.Len() != vals.Len() {
		return nil, fmt.Errorf("%d keys for %d values", keys.Len(), vals.Len())
	}
	def := &Tensor{Type: vals.Type, Shape: []int{1}}
	switch vals.Type {
	case String:
		s, err := n.string("default_string", "_Unused")
		if err != nil {
			return nil, err
		}
		def.Str = []string{s}
	case Int64:
		v, err := n.int("default_int64", -1)
		if err != nil {
			return nil, err
		}
		def.I64 = []int64{v}
	case Float:
		d := float32(math.Copysign(0, -1))
		if n.version >= 4 && keys.Type != Float {
			d = 0
		}
		v, err := n.float("default_float", d)
		if err != nil {
			return nil, err
		}
		def.F32 = []float32{v}
	case Double:
		def.F64 = []float64{math.Copysign(0, -1)}
	}
	if t, err := n.tensor("default_tensor"); err != nil {
		return nil, err
	} else if t != nil {
		if t.Type != vals.Type || t.Len() != 1 {
			return nil, fmt.Errorf("default_tensor must be one %v", vals.Type)
		}
		def = t
	}
	// Map keys (by their text for strings, their bits for numbers; NaN
	// keys match NaN inputs) to positions.
	index := map[any]int{}
	for i := 0; i < keys.Len(); i++ {
		index[labelKey(keys, i)] = i
	}
	return kernelFunc(func(in, out []*Tensor) error {
		x := in[0]
		if x.Type != keys.Type {
			return fmt.Errorf("input is %v, keys are %v", x.Type, keys.Type)
		}
		if err := out[0].Resize(vals.Type, x.Shape...); err != nil {
			return err
		}
		for i := 0; i < x.Len(); i++ {
			if j, ok := index[labelKey(x, i)]; ok {
				setFrom(out[0], i, vals, j)
			} else {
				setFrom(out[0], i, def, 0)
			}
		}
		return nil
	}), nil
}

func labelKey(t *Tensor, i int) any {
	switch t.Type {
	case String:
		return t.Str[i]
	case Int64:
		return t.I64[i]
	case Float:
		v := float64(t.F32[i])
		if v != v {
			return "NaN"
		}
		return v
	case Double:
		v := t.F64[i]
		if v != v {
			return "NaN"
		}
		return v
	}
	return nil
}

// labelValues reads LabelEncoder's keys_* / values_* attributes.
func labelValues(n *node, prefix string) (*Tensor, error) {
	var found []*Tensor
	if v, ok, err := n.strings(prefix + "_strings"); err != nil {
		return nil, err
	} else if ok {
		found = append(found, &Tensor{Type: String, Shape: []int{len(v)}, Str: v})
	}
	if v, ok, err := n.ints(prefix + "_int64s"); err != nil {
		return nil, err
	} else if ok {
		found = append(found, &Tensor{Type: Int64, Shape: []int{len(v)}, I64: v})
	}
	if v, ok, err := n.floats(prefix + "_floats"); err != nil {
		return nil, err
	} else if ok {
		found = append(found, &Tensor{Type: Float, Shape: []int{len(v)}, F32: v})
	}
	if t, err := n.tensor(prefix + "_tensor"); err != nil {
		return nil, err
	} else if t != nil {
		found = append(found, t)
	}
	switch len(found) {
	case 0:
		return nil, nil
	case 1:
		return found[0], nil
	}
	return nil, fmt.Errorf("%s given more than once", prefix)
}

func arrayFeatureExtractor(x, y, out *Tensor) error {
	if x.Rank() == 0 {
		return fmt.Errorf("scalar input")
	}
	idx, err := ints(y)
	if err != nil {
		return err
	}
	if len(idx) == 0 {
		return fmt.Errorf("no indices")
	}
	stride := x.Shape[x.Rank()-1]
	for _, j := range idx {
		if j < 0 || j >= int64(stride) {
			return fmt.Errorf("index %d out of range [0,%d)", j, stride)
		}
	}
	var shape []int
	if x.Rank() == 1 {
		shape = []int{1, len(idx)}
	} else {
		shape = append(append([]int{}, x.Shape[:x.Rank()-1]...), len(idx))
	}
	if err := out.Resize(x.Type, shape...); err != nil {
		return err
	}
	outer := x.Len() / max(stride, 1)
	if stride == 0 {
		outer = 0
	}
	o := 0
	for i := 0; i < outer; i++ {
		for _, j := range idx {
			setFrom(out, o, x, i*stride+int(j))
			o++
		}
	}
	return nil
}

func buildZipMap(n *node) (kernel, error) {
	ls, _, err := n.strings("classlabels_strings")
	if err != nil {
		return nil, err
	}
	li, _, err := n.ints("classlabels_int64s")
	if err != nil {
		return nil, err
	}
	if (len(ls) == 0) == (len(li) == 0) {
		return nil, fmt.Errorf("exactly one of classlabels_strings and classlabels_int64s is required")
	}
	return kernelFunc(func(in, out []*Tensor) error {
		x := in[0]
		if x.Type != Float {
			return errType(x.Type)
		}
		if x.Rank() == 0 || x.Rank() > 2 {
			return fmt.Errorf("input of shape %v, [N,C] or [C] expected", x.Shape)
		}
		rows, cols := 1, x.Shape[x.Rank()-1]
		if x.Rank() == 2 {
			rows = x.Shape[0]
		}
		if cols != len(ls)+len(li) {
			return fmt.Errorf("%d scores for %d class labels", cols, len(ls)+len(li))
		}
		dt := SeqMapInt64
		if ls != nil {
			dt = SeqMapString
		}
		if err := out[0].Resize(dt, rows, cols); err != nil {
			return err
		}
		copy(out[0].F32, x.F32[:rows*cols])
		out[0].Keys, out[0].KeysI64 = ls, li
		return nil
	}), nil
}

func buildFeatureVectorizer(n *node) (kernel, error) {
	dims, _, err := n.ints("inputdimensions")
	if err != nil {
		return nil, err
	}
	if len(dims) != len(n.consts) {
		return nil, fmt.Errorf("%d inputdimensions for %d inputs", len(dims), len(n.consts))
	}
	total := 0
	for _, d := range dims {
		if d < 0 || d > MaxElements {
			return nil, fmt.Errorf("input dimension %d", d)
		}
		total += int(d)
	}
	return kernelFunc(func(in, out []*Tensor) error {
		rows := -1
		for _, x := range in {
			if x == nil || x.Rank() == 0 {
				return fmt.Errorf("absent or scalar input")
			}
			r := 1
			if x.Rank() > 1 {
				r = x.Shape[0]
			}
			if rows >= 0 && r != rows {
				return fmt.Errorf("inputs have %d and %d rows", rows, r)
			}
			rows = r
		}
		if err := out[0].Resize(Float, rows, total); err != nil {
			return err
		}
		z := out[0].F32
		clear(z)
		off := 0
		for k, x := range in {
			vals, err := x.Float64s()
			if err != nil {
				return err
			}
			stride := x.Len() / max(rows, 1)
			d := int(dims[k])
			for r := 0; r < rows; r++ {
				for j := 0; j < min(d, stride); j++ {
					z[r*total+off+j] = float32(vals[r*stride+j])
				}
			}
			off += d
		}
		return nil
	}), nil
}
