package graph

import (
	"fmt"
	"math"
)

// Binary element-wise operators with numpy broadcasting.

const (
	opAdd = iota
	opSub
	opMul
	opDiv
	opMax
	opMin
)

func init() {
	for name, op := range map[string]int{"Add": opAdd, "Sub": opSub, "Mul": opMul, "Div": opDiv} {
		op := op
		register(DomainONNX, name, 2, 2, 1, 1, func(n *node) (kernel, error) {
			if err := legacyBroadcast(n); err != nil {
				return nil, err
			}
			return kernelFunc(func(in, out []*Tensor) error { return arith(op, in[0], in[1], out[0]) }), nil
		})
	}
	for name, op := range map[string]int{"Max": opMax, "Min": opMin, "Sum": opAdd, "Mean": opAdd} {
		op, mean := op, name == "Mean"
		register(DomainONNX, name, 1, -1, 1, 1, func(n *node) (kernel, error) {
			return kernelFunc(func(in, out []*Tensor) error { return variadic(op, mean, in, out[0]) }), nil
		})
	}
	register(DomainONNX, "Pow", 2, 2, 1, 1, func(n *node) (kernel, error) {
		return kernelFunc(func(in, out []*Tensor) error { return pow(in[0], in[1], out[0]) }), nil
	})
	register(DomainONNX, "Mod", 2, 2, 1, 1, func(n *node) (kernel, error) {
		fmod, err := n.int("fmod", 0)
		if err != nil {
			return nil, err
		}
		return kernelFunc(func(in, out []*Tensor) error { return mod(in[0], in[1], out[0], fmod == 1) }), nil
	})
	register(DomainONNX, "PRelu", 2, 2, 1, 1, func(n *node) (kernel, error) {
		return kernelFunc(func(in, out []*Tensor) error { return prelu(in[0], in[1], out[0]) }), nil
	})
	for name, cmp := range map[string]int{"Equal": cmpEq, "Less": cmpLt, "Greater": cmpGt, "LessOrEqual": cmpLe, "GreaterOrEqual": cmpGe} {
		cmp := cmp
		register(DomainONNX, name, 2, 2, 1, 1, func(n *node) (kernel, error) {
			if err := legacyBroadcast(n); err != nil {
				return nil, err
			}
			return kernelFunc(func(in, out []*Tensor) error { return compare(cmp, in[0], in[1], out[0]) }), nil
		})
	}
	for name, op := range map[string]int{"And": logAnd, "Or": logOr, "Xor": logXor} {
		op := op
		register(DomainONNX, name, 2, 2, 1, 1, func(n *node) (kernel, error) {
			if err := legacyBroadcast(n); err != nil {
				return nil, err
			}
			return kernelFunc(func(in, out []*Tensor) error { return logical(op, in[0], in[1], out[0]) }), nil
		})
	}
	register(DomainONNX, "Where", 3, 3, 1, 1, func(n *node) (kernel, error) {
		return kernelFunc(func(in, out []*Tensor) error { return where(in[0], in[1], in[2], out[0]) }), nil
	})
}

// legacyBroadcast accepts opset < 7's broadcast attribute only where numpy
// broadcasting means the same thing (no axis).
func legacyBroadcast(n *node) error {
	if n.has("axis") {
		return fmt.Errorf("legacy broadcast with an axis is not supported")
	}
	n.ignore("broadcast", "consumed_inputs")
	return nil
}

func sameType(a, b *Tensor) error {
	if a.Type != b.Type {
		return fmt.Errorf("operands are %v and %v", a.Type, b.Type)
	}
	return nil
}

func arith(op int, a, b, out *Tensor) error {
	if err := sameType(a, b); err != nil {
		return err
	}
	switch a.Type {
	case Float:
		return arithT[float32](op, a, b, out)
	case Double:
		return arithT[float64](op, a, b, out)
	case Int64:
		return arithT[int64](op, a, b, out)
	case Int32:
		return arithT[int32](op, a, b, out)
	}
	return errType(a.Type)
}

func arithT[T number](op int, a, b, out *Tensor) error {
	var shape [8]int
	s, err := broadcastShape(shape[:0], a.Shape, b.Shape)
	if err != nil {
		return err
	}
	z, err := alloc[T](out, s)
	if err != nil {
		return err
	}
	x, y := data[T](a), data[T](b)
	if op == opDiv && isInt[T]() {
		for _, v := range y[:b.Len()] {
			if v == 0 {
				return fmt.Errorf("integer division by zero")
			}
		}
	}
	if len(z) == 0 {
		return nil
	}
	// Fast paths: equal shapes, scalar right, scalar left.
	switch {
	case len(x) >= len(z) && len(y) >= len(z) && a.Len() == len(z) && b.Len() == len(z):
		arithRun(op, z, x, y, 1, 1)
		return nil
	case b.Len() == 1 && a.Len() == len(z):
		arithRun(op, z, x, y, 1, 0)
		return nil
	case a.Len() == 1 && b.Len() == len(z):
		arithRun(op, z, x, y, 0, 1)
		return nil
	}
	// A row (bias) broadcast over leading dimensions.
	if inner := b.Len(); a.Len() == len(z) && trailing(b.Shape, s) && inner > 0 {
		for o := 0; o < len(z); o += inner {
			arithRun(op, z[o:o+inner], x[o:o+inner], y, 1, 1)
		}
		return nil
	}
	if inner := a.Len(); b.Len() == len(z) && trailing(a.Shape, s) && inner > 0 {
		for o := 0; o < len(z); o += inner {
			arithRun(op, z[o:o+inner], x, y[o:o+inner], 1, 1)
		}
		return nil
	}
	var p bplan
	p.init(s, a.Shape, b.Shape)
	p.each(func(o int, off [3]int, n int, st [3]int) {
		arithRun(op, z[o:o+n], x[off[0]:], y[off[1]:], st[0], st[1])
	})
	return nil
}

// trailing reports whether shape, right-aligned against out and ignoring
// leading 1s, equals out's trailing dimensions.
func trailing(shape, out []int) bool {
	i := 0
	for i < len(shape) && shape[i] == 1 {
		i++
	}
	rest := shape[i:]
	if len(rest) > len(out) {
		return false
	}
	tail := out[len(out)-len(rest):]
	for j := range rest {
		if rest[j] != tail[j] {
			return false
		}
	}
	return true
}

func isInt[T number]() bool {
	var z T
	switch any(z).(type) {
	case int32, int64:
		return true
	}
	return false
}

// arithRun computes z[i] = x[i*sx] op y[i*sy] for len(z) elements, with the
// op switch outside the loops.
func arithRun[T number](op int, z, x, y []T, sx, sy int) {
	n := len(z)
	switch {
	case sx == 1 && sy == 1:
		x, y = x[:n], y[:n]
		switch op {
		case opAdd:
			for i := range z {
				z[i] = x[i] + y[i]
			}
		case opSub:
			for i := range z {
				z[i] = x[i] - y[i]
			}
		case opMul:
			for i := range z {
				z[i] = x[i] * y[i]
			}
		case opDiv:
			for i := range z {
				z[i] = x[i] / y[i]
			}
		case opMax:
			for i := range z {
				z[i] = maxOf(x[i], y[i])
			}
		case opMin:
			for i := range z {
				z[i] = minOf(x[i], y[i])
			}
		}
	case sx == 1 && sy == 0:
		x = x[:n]
		v := y[0]
		switch op {
		case opAdd:
			for i := range z {
				z[i] = x[i] + v
			}
		case opSub:
			for i := range z {
				z[i] = x[i] - v
			}
		case opMul:
			for i := range z {
				z[i] = x[i] * v
			}
		case opDiv:
			for i := range z {
				z[i] = x[i] / v
			}
		case opMax:
			for i := range z {
				z[i] = maxOf(x[i], v)
			}
		case opMin:
			for i := range z {
				z[i] = minOf(x[i], v)
			}
		}
	case sx == 0 && sy == 1:
		y = y[:n]
		v := x[0]
		switch op {
		case opAdd:
			for i := range z {
				z[i] = v + y[i]
			}
		case opSub:
			for i := range z {
				z[i] = v - y[i]
			}
		case opMul:
			for i := range z {
				z[i] = v * y[i]
			}
		case opDiv:
			for i := range z {
				z[i] = v / y[i]
			}
		case opMax:
			for i := range z {
				z[i] = maxOf(v, y[i])
			}
		case opMin:
			for i := range z {
				z[i] = minOf(v, y[i])
			}
		}
	default:
		for i := range z {
			arithRun(op, z[i:i+1], x[i*sx:], y[i*sy:], 1, 1)
		}
	}
}

// maxOf and minOf propagate NaN, as onnxruntime's Max and Min do.
func maxOf[T number](a, b T) T {
	if a != a || a > b {
		return a
	}
	return b
}

func minOf[T number](a, b T) T {
	if a != a || a < b {
		return a
	}
	return b
}

func variadic(op int, mean bool, in []*Tensor, out *Tensor) error {
	for _, t := range in {
		if t == nil {
			return fmt.Errorf("absent input")
		}
	}
	if len(in) == 1 {
		copyTensor(out, in[0])
	} else {
		if err := arith(op, in[0], in[1], out); err != nil {
			return err
		}
		var tmp Tensor
		for _, t := range in[2:] {
			copyTensor(&tmp, out)
			if err := arith(op, &tmp, t, out); err != nil {
				return err
			}
		}
	}
	if mean {
		n := float64(len(in))
		switch out.Type {
		case Float:
			for i := range out.F32 {
				out.F32[i] /= float32(n)
			}
		case Double:
			for i := range out.F64 {
				out.F64[i] /= n
			}
		default:
			return errType(out.Type)
		}
	}
	return nil
}

// copyTensor makes dst a copy of src, reusing dst's memory.
func copyTensor(dst, src *Tensor) {
	_ = dst.Resize(src.Type, src.Shape...)
	n := src.Len()
	switch src.Type {
	case Float, SeqMapString, SeqMapInt64:
		copy(dst.F32, src.F32[:n])
		dst.Keys, dst.KeysI64 = src.Keys, src.KeysI64
	case Double:
		copy(dst.F64, src.F64[:n])
	case Int32:
		copy(dst.I32, src.I32[:n])
	case Int64:
		copy(dst.I64, src.I64[:n])
	case String:
		copy(dst.Str, src.Str[:n])
	case Bool:
		copy(dst.Bool, src.Bool[:n])
	}
}

// broadcast2 runs fn(i, ia, ib) over every output element.
func broadcast2(a, b []int, out *Tensor, dt DataType, fn func(o, ia, ib int)) error {
	var shape [8]int
	s, err := broadcastShape(shape[:0], a, b)
	if err != nil {
		return err
	}
	if err := out.Resize(dt, s...); err != nil {
		return err
	}
	if out.Len() == 0 {
		return nil
	}
	var p bplan
	p.init(s, a, b)
	p.each(func(o int, off [3]int, n int, st [3]int) {
		for i := 0; i < n; i++ {
			fn(o+i, off[0]+i*st[0], off[1]+i*st[1])
		}
	})
	return nil
}

func pow(a, b, out *Tensor) error {
	x, err := a.Float64s()
	if err != nil {
		return err
	}
	y, err := b.Float64s()
	if err != nil {
		return err
	}
	switch a.Type {
	case Float:
		return broadcast2(a.Shape, b.Shape, out, Float, func(o, i, j int) {
			out.F32[o] = float32(math.Pow(float64(a.F32[i]), y[j]))
		})
	case Double:
		return broadcast2(a.Shape, b.Shape, out, Double, func(o, i, j int) { out.F64[o] = math.Pow(x[i], y[j]) })
	case Int64:
		return broadcast2(a.Shape, b.Shape, out, Int64, func(o, i, j int) { out.I64[o] = toInt64(math.Pow(x[i], y[j])) })
	case Int32:
		return broadcast2(a.Shape, b.Shape, out, Int32, func(o, i, j int) { out.I32[o] = toInt32(math.Pow(x[i], y[j])) })
	}
	return errType(a.Type)
}

func mod(a, b, out *Tensor, fmod bool) error {
	if err := sameType(a, b); err != nil {
		return err
	}
	switch a.Type {
	case Float:
		return broadcast2(a.Shape, b.Shape, out, Float, func(o, i, j int) {
			out.F32[o] = float32(fmodOrMod(float64(a.F32[i]), float64(b.F32[j]), fmod))
		})
	case Double:
		return broadcast2(a.Shape, b.Shape, out, Double, func(o, i, j int) {
			out.F64[o] = fmodOrMod(a.F64[i], b.F64[j], fmod)
		})
	case Int64, Int32:
		x, _ := ints(a)
		y, _ := ints(b)
		for _, v := range y {
			if v == 0 {
				return fmt.Errorf("integer modulo by zero")
			}
		}
		return broadcast2(a.Shape, b.Shape, out, a.Type, func(o, i, j int) {
			r := x[i] % y[j]
			if !fmod && r != 0 && (r < 0) != (y[j] < 0) {
				r += y[j]
			}
			if a.Type == Int64 {
				out.I64[o] = r
			} else {
				out.I32[o] = int32(r)
			}
		})
	}
	return errType(a.Type)
}

func fmodOrMod(x, y float64, fmod bool) float64 {
	r := math.Mod(x, y)
	if !fmod && r != 0 && (r < 0) != (y < 0) {
		r += y
	}
	return r
}

func prelu(a, b, out *Tensor) error {
	if err := sameType(a, b); err != nil {
		return err
	}
	switch a.Type {
	case Float:
		return broadcast2(a.Shape, b.Shape, out, Float, func(o, i, j int) {
			v := a.F32[i]
			if v < 0 {
				v *= b.F32[j]
			}
			out.F32[o] = v
		})
	case Double:
		return broadcast2(a.Shape, b.Shape, out, Double, func(o, i, j int) {
			v := a.F64[i]
			if v < 0 {
				v *= b.F64[j]
			}
			out.F64[o] = v
		})
	}
	return errType(a.Type)
}

const (
	cmpEq = iota
	cmpLt
	cmpGt
	cmpLe
	cmpGe
)

func compare(cmp int, a, b, out *Tensor) error {
	if err := sameType(a, b); err != nil {
		return err
	}
	switch a.Type {
	case Float:
		return compareT(cmp, a.F32, b.F32, a, b, out)
	case Double:
		return compareT(cmp, a.F64, b.F64, a, b, out)
	case Int64:
		return compareT(cmp, a.I64, b.I64, a, b, out)
	case Int32:
		return compareT(cmp, a.I32, b.I32, a, b, out)
	case String:
		if cmp != cmpEq {
			return errType(a.Type)
		}
		return broadcast2(a.Shape, b.Shape, out, Bool, func(o, i, j int) { out.Bool[o] = a.Str[i] == b.Str[j] })
	case Bool:
		if cmp != cmpEq {
			return errType(a.Type)
		}
		return broadcast2(a.Shape, b.Shape, out, Bool, func(o, i, j int) { out.Bool[o] = a.Bool[i] == b.Bool[j] })
	}
	return errType(a.Type)
}

func compareT[T number](cmp int, x, y []T, a, b, out *Tensor) error {
	return broadcast2(a.Shape, b.Shape, out, Bool, func(o, i, j int) {
		var r bool
		switch cmp {
		case cmpEq:
			r = x[i] == y[j]
		case cmpLt:
			r = x[i] < y[j]
		case cmpGt:
			r = x[i] > y[j]
		case cmpLe:
			r = x[i] <= y[j]
		case cmpGe:
			r = x[i] >= y[j]
		}
		out.Bool[o] = r
	})
}

const (
	logAnd = iota
	logOr
	logXor
)

func logical(op int, a, b, out *Tensor) error {
	if a.Type != Bool || b.Type != Bool {
		return fmt.Errorf("logical operators take bool tensors, got %v and %v", a.Type, b.Type)
	}
	return broadcast2(a.Shape, b.Shape, out, Bool, func(o, i, j int) {
		x, y := a.Bool[i], b.Bool[j]
		switch op {
		case logAnd:
			out.Bool[o] = x && y
		case logOr:
			out.Bool[o] = x || y
		default:
			out.Bool[o] = x != y
		}
	})
}

func where(c, a, b, out *Tensor) error {
	if c.Type != Bool {
		return fmt.Errorf("condition is %v, bool expected", c.Type)
	}
	if err := sameType(a, b); err != nil {
		return err
	}
	var shape [8]int
	s, err := broadcastShape(shape[:0], c.Shape, a.Shape, b.Shape)
	if err != nil {
		return err
	}
	if err := out.Resize(a.Type, s...); err != nil {
		return err
	}
	if out.Len() == 0 {
		return nil
	}
	var p bplan
	p.init(s, c.Shape, a.Shape, b.Shape)
	p.each(func(o int, off [3]int, n int, st [3]int) {
		for i := 0; i < n; i++ {
			src, j := b, off[2]+i*st[2]
			if c.Bool[off[0]+i*st[0]] {
				src, j = a, off[1]+i*st[1]
			}
			setFrom(out, o+i, src, j)
		}
	})
	return nil
}

// setFrom copies element j of src to element i of dst (same types).
func setFrom(dst *Tensor, i int, src *Tensor, j int) {
	switch dst.Type {
	case Float:
		dst.F32[i] = src.F32[j]
	case Double:
		dst.F64[i] = src.F64[j]
	case Int32:
		dst.I32[i] = src.I32[j]
	case Int64:
		dst.I64[i] = src.I64[j]
	case String:
		dst.Str[i] = src.Str[j]
	case Bool:
		dst.Bool[i] = src.Bool[j]
	}
}
