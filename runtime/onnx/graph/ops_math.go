package graph

import (
	"fmt"
	"math"
)

// Linear algebra, normalisations and reductions.

func init() {
	register(DomainONNX, "MatMul", 2, 2, 1, 1, func(n *node) (kernel, error) {
		return kernelFunc(func(in, out []*Tensor) error { return matmul(in[0], in[1], out[0]) }), nil
	})
	register(DomainONNX, "Gemm", 2, 3, 1, 1, buildGemm)
	for name, kind := range map[string]int{"Softmax": smSoftmax, "LogSoftmax": smLog, "Hardmax": smHard} {
		kind := kind
		register(DomainONNX, name, 1, 1, 1, 1, func(n *node) (kernel, error) {
			def := int64(1)
			if n.version >= 13 {
				def = -1
			}
			ax, err := n.int("axis", def)
			if err != nil {
				return nil, err
			}
			coerce := n.version < 13
			return kernelFunc(func(in, out []*Tensor) error { return softmax(kind, in[0], out[0], ax, coerce) }), nil
		})
	}
	for name, last := range map[string]bool{"ArgMax": true, "ArgMin": false} {
		isMax := last
		register(DomainONNX, name, 1, 1, 1, 1, func(n *node) (kernel, error) {
			ax, err := n.int("axis", 0)
			if err != nil {
				return nil, err
			}
			keep, err := n.int("keepdims", 1)
			if err != nil {
				return nil, err
			}
			sel, err := n.int("select_last_index", 0)
			if err != nil {
				return nil, err
			}
			return kernelFunc(func(in, out []*Tensor) error {
				return argExtreme(in[0], out[0], ax, keep == 1, sel == 1, isMax)
			}), nil
		})
	}
	reduces := map[string]struct {
		kind  int
		since int64 // opset from which axes is an input
	}{
		"ReduceSum": {redSum, 13}, "ReduceMean": {redMean, 18}, "ReduceMax": {redMax, 18},
		"ReduceMin": {redMin, 18}, "ReduceProd": {redProd, 18}, "ReduceL1": {redL1, 18},
		"ReduceL2": {redL2, 18}, "ReduceLogSum": {redLogSum, 18}, "ReduceLogSumExp": {redLogSumExp, 18},
		"ReduceSumSquare": {redSumSquare, 18},
	}
	for name, r := range reduces {
		r := r
		register(DomainONNX, name, 1, 2, 1, 1, func(n *node) (kernel, error) {
			keep, err := n.int("keepdims", 1)
			if err != nil {
				return nil, err
			}
			noop, err := n.int("noop_with_empty_axes", 0)
			if err != nil {
				return nil, err
			}
			axes, err := axesOf(n, r.since, 1)
			if err != nil {
				return nil, err
			}
			return kernelFunc(func(in, out []*Tensor) error {
				ax, err := axes(in)
				if err != nil {
					return err
				}
				if len(ax) == 0 && noop == 1 {
					copyTensor(out[0], in[0])
					return nil
				}
				return reduce(r.kind, in[0], out[0], ax, keep == 1)
			}), nil
		})
	}
	register(DomainONNX, "Clip", 1, 3, 1, 1, func(n *node) (kernel, error) {
		lo, hi := float32(math.Inf(-1)), float32(math.Inf(1))
		if n.version < 11 {
			var err error
			if lo, err = n.float("min", lo); err != nil {
				return nil, err
			}
			if hi, err = n.float("max", hi); err != nil {
				return nil, err
			}
			n.ignore("consumed_inputs")
		}
		return kernelFunc(func(in, out []*Tensor) error {
			l, h := float64(lo), float64(hi)
			if len(in) > 1 && in[1] != nil {
				v, err := in[1].Float64s()
				if err != nil || len(v) != 1 {
					return fmt.Errorf("min must be a scalar")
				}
				l = v[0]
			}
			if len(in) > 2 && in[2] != nil {
				v, err := in[2].Float64s()
				if err != nil || len(v) != 1 {
					return fmt.Errorf("max must be a scalar")
				}
				h = v[0]
			}
			return clip(in[0], out[0], l, h)
		}), nil
	})
	register(DomainONNX, "CumSum", 2, 2, 1, 1, func(n *node) (kernel, error) {
		excl, err := n.int("exclusive", 0)
		if err != nil {
			return nil, err
		}
		rev, err := n.int("reverse", 0)
		if err != nil {
			return nil, err
		}
		return kernelFunc(func(in, out []*Tensor) error { return cumsum(in[0], in[1], out[0], excl == 1, rev == 1) }), nil
	})
}

func matmul(a, b, out *Tensor) error {
	if err := sameType(a, b); err != nil {
		return err
	}
	if a.Rank() == 0 || b.Rank() == 0 {
		return fmt.Errorf("MatMul of a scalar")
	}
	// numpy promotion of 1-D operands.
	as, bs := a.Shape, b.Shape
	var abuf, bbuf [8]int
	if len(as) == 1 {
		as = append(abuf[:0], 1, as[0])
	}
	if len(bs) == 1 {
		bs = append(bbuf[:0], bs[0], 1)
	}
	m, k := as[len(as)-2], as[len(as)-1]
	k2, nn := bs[len(bs)-2], bs[len(bs)-1]
	if k != k2 {
		return fmt.Errorf("shapes %v and %v do not multiply", a.Shape, b.Shape)
	}
	var sbuf [8]int
	batch, err := broadcastShape(sbuf[:0], as[:len(as)-2], bs[:len(bs)-2])
	if err != nil {
		return err
	}
	var obuf [8]int
	oshape := append(obuf[:0], batch...)
	if len(a.Shape) > 1 {
		oshape = append(oshape, m)
	}
	if len(b.Shape) > 1 {
		oshape = append(oshape, nn)
	}
	if err := out.Resize(a.Type, oshape...); err != nil {
		return err
	}
	nb := 1
	for _, d := range batch {
		nb *= d
	}
	if nb == 0 || m == 0 || nn == 0 {
		return nil
	}
	if len(batch) == 0 {
		return matmul2D(a, b, out, m, nn, k)
	}
	// Batch offsets through broadcasting.
	aBatch, bBatch := as[:len(as)-2], bs[:len(bs)-2]
	var p bplan
	p.init(batch, aBatch, bBatch)
	ob := 0
	var ferr error
	p.each(func(o int, off [3]int, cnt int, st [3]int) {
		for i := 0; i < cnt; i++ {
			ao, bo := (off[0]+i*st[0])*m*k, (off[1]+i*st[1])*k*nn
			oo := (o + i) * m * nn
			switch a.Type {
			case Float:
				gemmF32(m, nn, k, a.F32[ao:ao+m*k], k, false, b.F32[bo:bo+k*nn], nn, false, out.F32[oo:oo+m*nn], 1, 0)
			case Double:
				gemm(m, nn, k, a.F64[ao:ao+m*k], false, b.F64[bo:bo+k*nn], false, out.F64[oo:oo+m*nn], 1, 0)
			case Int64:
				gemm(m, nn, k, a.I64[ao:ao+m*k], false, b.I64[bo:bo+k*nn], false, out.I64[oo:oo+m*nn], 1, 0)
			case Int32:
				gemm(m, nn, k, a.I32[ao:ao+m*k], false, b.I32[bo:bo+k*nn], false, out.I32[oo:oo+m*nn], 1, 0)
			default:
				ferr = errType(a.Type)
			}
		}
		ob++
	})
	return ferr
}

// matmul2D multiplies two matrices (after 1-D promotion).
func matmul2D(a, b, out *Tensor, m, n, k int) error {
	switch a.Type {
	case Float:
		gemmF32(m, n, k, a.F32, k, false, b.F32, n, false, out.F32, 1, 0)
	case Double:
		gemm(m, n, k, a.F64, false, b.F64, false, out.F64, 1, 0)
	case Int64:
		gemm(m, n, k, a.I64, false, b.I64, false, out.I64, 1, 0)
	case Int32:
		gemm(m, n, k, a.I32, false, b.I32, false, out.I32, 1, 0)
	default:
		return errType(a.Type)
	}
	return nil
}

// gemm computes c = alpha*op(a)*op(b) + beta*c for small generic cases.
func gemm[T number](m, n, k int, a []T, ta bool, b []T, tb bool, c []T, alpha, beta T) {
	for i := 0; i < m; i++ {
		row := c[i*n : (i+1)*n]
		if beta == 0 {
			clear(row)
		} else if beta != 1 {
			for j := range row {
				row[j] *= beta
			}
		}
		for p := 0; p < k; p++ {
			var av T
			if ta {
				av = a[p*m+i]
			} else {
				av = a[i*k+p]
			}
			av *= alpha
			if av == 0 {
				continue
			}
			if tb {
				for j := range row {
					row[j] += av * b[j*k+p]
				}
			} else {
				br := b[p*n : (p+1)*n]
				for j := range row {
					row[j] += av * br[j]
				}
			}
		}
	}
}

func buildGemm(n *node) (kernel, error) {
	alpha, err := n.float("alpha", 1)
	if err != nil {
		return nil, err
	}
	beta, err := n.float("beta", 1)
	if err != nil {
		return nil, err
	}
	ta, err := n.int("transA", 0)
	if err != nil {
		return nil, err
	}
	tb, err := n.int("transB", 0)
	if err != nil {
		return nil, err
	}
	n.ignore("broadcast")
	return kernelFunc(func(in, out []*Tensor) error {
		a, b := in[0], in[1]
		if err := sameType(a, b); err != nil {
			return err
		}
		if a.Rank() != 2 || b.Rank() != 2 {
			return fmt.Errorf("Gemm takes matrices, got %v and %v", a.Shape, b.Shape)
		}
		m, k := a.Shape[0], a.Shape[1]
		if ta == 1 {
			m, k = k, m
		}
		k2, nn := b.Shape[0], b.Shape[1]
		if tb == 1 {
			k2, nn = nn, k2
		}
		if k != k2 {
			return fmt.Errorf("shapes %v and %v do not multiply", a.Shape, b.Shape)
		}
		if err := out[0].Resize(a.Type, m, nn); err != nil {
			return err
		}
		c := out[0]
		bt := beta
		if len(in) > 2 && in[2] != nil && beta != 0 {
			if err := expand(in[2], c, []int{m, nn}); err != nil {
				return fmt.Errorf("C: %w", err)
			}
			if in[2].Type != a.Type {
				return fmt.Errorf("C is %v, A is %v", in[2].Type, a.Type)
			}
		} else {
			bt = 0
		}
		switch a.Type {
		case Float:
			gemmF32(m, nn, k, a.F32, a.Shape[1], ta == 1, b.F32, b.Shape[1], tb == 1, c.F32, alpha, bt)
		case Double:
			gemm(m, nn, k, a.F64, ta == 1, b.F64, tb == 1, c.F64, float64(alpha), float64(bt))
		case Int64:
			gemm(m, nn, k, a.I64, ta == 1, b.I64, tb == 1, c.I64, int64(alpha), int64(bt))
		case Int32:
			gemm(m, nn, k, a.I32, ta == 1, b.I32, tb == 1, c.I32, int32(alpha), int32(bt))
		default:
			return errType(a.Type)
		}
		return nil
	}), nil
}

const (
	smSoftmax = iota
	smLog
	smHard
)

// softmax normalises along one axis (opset 13+) or over the dims from
// axis on, flattened (before 13).
func softmax(kind int, a, out *Tensor, ax int64, coerce bool) error {
	r := a.Rank()
	if r == 0 {
		return fmt.Errorf("softmax of a scalar")
	}
	x, err := axis(ax, r)
	if err != nil {
		return err
	}
	if err := out.Resize(a.Type, a.Shape...); err != nil {
		return err
	}
	var outer, dim, inner int
	outer = 1
	for _, d := range a.Shape[:x] {
		outer *= d
	}
	if coerce {
		dim = 1
		for _, d := range a.Shape[x:] {
			dim *= d
		}
		inner = 1
	} else {
		dim = a.Shape[x]
		inner = 1
		for _, d := range a.Shape[x+1:] {
			inner *= d
		}
	}
	switch a.Type {
	case Float:
		softmaxRows(kind, a.F32, out.F32, outer, dim, inner)
	case Double:
		softmaxRows(kind, a.F64, out.F64, outer, dim, inner)
	default:
		return errType(a.Type)
	}
	return nil
}

// softmaxRows spreads the rows of a large batch over the CPUs.
func softmaxRows[T float](kind int, x, z []T, outer, dim, inner int) {
	work := 4 * outer * dim * inner // eight exponentials cost about 32 multiply-adds
	if !worthSplitting(outer, work) {
		softmaxBlock(kind, x, z, outer, dim, inner)
		return
	}
	step := dim * inner
	parallelRows(outer, work, func(lo, hi int) {
		softmaxBlock(kind, x[lo*step:hi*step], z[lo*step:hi*step], hi-lo, dim, inner)
	})
}

// softmaxBlock takes the vector path for the common case (float32 rows
// along the last axis) where the CPU has one.
func softmaxBlock[T float](kind int, x, z []T, outer, dim, inner int) {
	if xf, ok := any(x).([]float32); ok && kind == smSoftmax && inner == 1 && len(x) > 0 && &x[0] != &z[0] {
		if softmaxRowsF32(xf, any(z).([]float32), outer, dim) {
			return
		}
	}
	softmaxT(kind, x, z, outer, dim, inner)
}

// softmaxRowsF32 is softmax over contiguous float32 rows with the
// exponentials of the whole block taken eight at a time: each row minus
// its maximum, one vector pass of e^x, each row divided by its sum.
// Rows whose maximum is infinite take softmaxT's exact path.
func softmaxRowsF32(x, z []float32, outer, dim int) bool {
	n := outer * dim
	x, z = x[:n], z[:n]
	for o := 0; o < n; o += dim {
		row, out := x[o:o+dim], z[o:o+dim]
		mx := row[0]
		for _, v := range row[1:] {
			mx = max(mx, v)
		}
		for j, v := range row {
			out[j] = v - mx
		}
	}
	if !expF32s(z) {
		return false
	}
	for o := 0; o < n; o += dim {
		out := z[o : o+dim]
		sum := 0.0
		for _, e := range out {
			sum += float64(e)
		}
		if math.IsInf(sum, 0) || sum != sum || sum == 0 {
			softmaxT(smSoftmax, x[o:o+dim], out, 1, dim, 1) // an infinite or NaN maximum
			continue
		}
		inv := 1 / sum
		for j, e := range out {
			out[j] = float32(float64(e) * inv)
		}
	}
	return true
}

func softmaxT[T float](kind int, x, z []T, outer, dim, inner int) {
	for o := 0; o < outer; o++ {
		for i := 0; i < inner; i++ {
			base := o*dim*inner + i
			mx := math.Inf(-1)
			arg := 0
			for j := 0; j < dim; j++ {
				if v := float64(x[base+j*inner]); v > mx {
					mx, arg = v, j
				}
			}
			switch kind {
			case smHard:
				for j := 0; j < dim; j++ {
					z[base+j*inner] = 0
				}
				if dim > 0 {
					z[base+arg*inner] = 1
				}
			case smSoftmax:
				if math.IsInf(mx, 0) || mx != mx {
					// Degenerate rows: the exact path gives NaNs as numpy does.
					sum := 0.0
					for j := 0; j < dim; j++ {
						e := math.Exp(float64(x[base+j*inner]) - mx)
						z[base+j*inner] = T(e)
						sum += e
					}
					for j := 0; j < dim; j++ {
						z[base+j*inner] = T(float64(z[base+j*inner]) / sum)
					}
					continue
				}
				sum := 0.0
				for j := 0; j < dim; j++ {
					e := expNonPositive(float64(x[base+j*inner]) - mx)
					z[base+j*inner] = T(e)
					sum += e
				}
				inv := 1 / sum
				for j := 0; j < dim; j++ {
					z[base+j*inner] = T(float64(z[base+j*inner]) * inv)
				}
			case smLog:
				sum := 0.0
				for j := 0; j < dim; j++ {
					sum += math.Exp(float64(x[base+j*inner]) - mx)
				}
				ls := math.Log(sum)
				for j := 0; j < dim; j++ {
					z[base+j*inner] = T(float64(x[base+j*inner]) - mx - ls)
				}
			}
		}
	}
}

// expNonPositive is e^x for x <= 0 (softmax after subtracting the row
// maximum), within 1e-9 relative: x = n·ln2 + r with |r| <= ln2/2, e^r by
// its degree-8 Taylor polynomial (evaluated by Estrin's scheme, a chain
// half as long as Horner's), scaled by 2^n through the exponent bits.
func expNonPositive(x float64) float64 {
	if x < -700 {
		return 0
	}
	const ln2hi, ln2lo = 6.93147180369123816490e-01, 1.90821492927058770002e-10
	// x <= 0, so truncating x/ln2 - 0.5 toward zero rounds x/ln2 to the
	// nearest integer without a call to math.Floor.
	k := int64(x*(1/math.Ln2) - 0.5)
	n := float64(k)
	r := (x - n*ln2hi) - n*ln2lo
	r2 := r * r
	r4 := r2 * r2
	hi := (1.0/720 + r*(1.0/5040)) + r2*(1.0/40320)
	p := ((1 + r) + r2*(0.5+r*(1.0/6))) + r4*((1.0/24+r*(1.0/120))+r2*hi)
	return p * math.Float64frombits(uint64(k+1023)<<52)
}

func argExtreme(a, out *Tensor, ax int64, keep, last, isMax bool) error {
	r := a.Rank()
	x, err := axis(ax, max(r, 1))
	if err != nil {
		return err
	}
	if r == 0 {
		return fmt.Errorf("arg reduction of a scalar")
	}
	shape := append([]int{}, a.Shape...)
	if keep {
		shape[x] = 1
	} else {
		shape = append(shape[:x], shape[x+1:]...)
	}
	if err := out.Resize(Int64, shape...); err != nil {
		return err
	}
	outer := 1
	for _, d := range a.Shape[:x] {
		outer *= d
	}
	dim := a.Shape[x]
	if dim == 0 {
		return fmt.Errorf("arg reduction over an empty axis")
	}
	inner := 1
	for _, d := range a.Shape[x+1:] {
		inner *= d
	}
	vals, err := a.Float64s()
	if err != nil {
		return err
	}
	for o := 0; o < outer; o++ {
		for i := 0; i < inner; i++ {
			base := o*dim*inner + i
			best, bi := vals[base], 0
			for j := 1; j < dim; j++ {
				v := vals[base+j*inner]
				better := v > best
				if !isMax {
					better = v < best
				}
				if better || (last && v == best) {
					best, bi = v, j
				}
			}
			out.I64[o*inner+i] = int64(bi)
		}
	}
	return nil
}

const (
	redSum = iota
	redMean
	redMax
	redMin
	redProd
	redL1
	redL2
	redLogSum
	redLogSumExp
	redSumSquare
)

func reduce(kind int, a, out *Tensor, axes []int64, keep bool) error {
	r := a.Rank()
	red := make([]bool, r)
	if len(axes) == 0 {
		for i := range red {
			red[i] = true
		}
	}
	for _, ax := range axes {
		x, err := axis(ax, r)
		if err != nil {
			return err
		}
		red[x] = true
	}
	var shape []int
	for i, d := range a.Shape {
		if red[i] {
			if keep {
				shape = append(shape, 1)
			}
		} else {
			shape = append(shape, d)
		}
	}
	if shape == nil {
		shape = []int{}
	}
	vals, err := a.Float64s()
	if err != nil {
		return err
	}
	// Output strides per input dim (0 on reduced dims).
	ost := make([]int, r)
	s := 1
	for i := r - 1; i >= 0; i-- {
		if !red[i] {
			ost[i] = s
			s *= a.Shape[i]
		}
	}
	nout := s
	acc := make([]float64, nout)
	cnt := 1
	for i, d := range a.Shape {
		if red[i] {
			cnt *= d
		}
	}
	init := 0.0
	switch kind {
	case redMax, redLogSumExp:
		init = math.Inf(-1)
	case redMin:
		init = math.Inf(1)
	case redProd:
		init = 1
	}
	for i := range acc {
		acc[i] = init
	}
	walk := func(f func(o int, v float64)) {
		idx := make([]int, r)
		o := 0
		for _, v := range vals {
			f(o, v)
			for d := r - 1; d >= 0; d-- {
				idx[d]++
				o += ost[d]
				if idx[d] < a.Shape[d] {
					break
				}
				o -= ost[d] * a.Shape[d]
				idx[d] = 0
			}
		}
	}
	switch kind {
	case redSum, redMean, redLogSum:
		walk(func(o int, v float64) { acc[o] += v })
	case redMax, redLogSumExp:
		walk(func(o int, v float64) {
			if v > acc[o] || v != v {
				acc[o] = v
			}
		})
	case redMin:
		walk(func(o int, v float64) {
			if v < acc[o] || v != v {
				acc[o] = v
			}
		})
	case redProd:
		walk(func(o int, v float64) { acc[o] *= v })
	case redL1:
		walk(func(o int, v float64) { acc[o] += math.Abs(v) })
	case redL2, redSumSquare:
		walk(func(o int, v float64) { acc[o] += v * v })
	}
	switch kind {
	case redMean:
		for i := range acc {
			acc[i] /= float64(cnt)
		}
	case redL2:
		for i := range acc {
			acc[i] = math.Sqrt(acc[i])
		}
	case redLogSum:
		for i := range acc {
			acc[i] = math.Log(acc[i])
		}
	case redLogSumExp:
		mx := append([]float64{}, acc...)
		for i := range acc {
			acc[i] = 0
		}
		walk(func(o int, v float64) { acc[o] += math.Exp(v - mx[o]) })
		for i := range acc {
			if math.IsInf(mx[i], 0) {
				acc[i] = mx[i]
			} else {
				acc[i] = mx[i] + math.Log(acc[i])
			}
		}
	}
	if cnt == 0 && (kind == redMax || kind == redMin) {
		return fmt.Errorf("reduction over an empty axis")
	}
	if err := out.Resize(a.Type, shape...); err != nil {
		return err
	}
	for i, v := range acc {
		setFloat(out, i, v)
	}
	return nil
}

func clip(a, out *Tensor, lo, hi float64) error {
	switch a.Type {
	case Float:
		if err := out.Resize(Float, a.Shape...); err != nil {
			return err
		}
		l, h := float32(lo), float32(hi)
		for i, v := range a.F32[:len(out.F32)] {
			if v < l {
				v = l
			}
			if v > h {
				v = h
			}
			out.F32[i] = v
		}
		return nil
	case Double, Int32, Int64:
		vals, _ := a.Float64s()
		if err := out.Resize(a.Type, a.Shape...); err != nil {
			return err
		}
		for i, v := range vals {
			if v < lo {
				v = lo
			}
			if v > hi {
				v = hi
			}
			setFloat(out, i, v)
		}
		return nil
	}
	return errType(a.Type)
}

func cumsum(a, axT, out *Tensor, exclusive, reverse bool) error {
	ax, err := scalarInt(axT)
	if err != nil {
		return err
	}
	r := a.Rank()
	x, err := axis(ax, r)
	if err != nil {
		return err
	}
	vals, err := a.Float64s()
	if err != nil {
		return err
	}
	if err := out.Resize(a.Type, a.Shape...); err != nil {
		return err
	}
	outer := 1
	for _, d := range a.Shape[:x] {
		outer *= d
	}
	dim := a.Shape[x]
	inner := 1
	for _, d := range a.Shape[x+1:] {
		inner *= d
	}
	for o := 0; o < outer; o++ {
		for i := 0; i < inner; i++ {
			sum := 0.0
			for jj := 0; jj < dim; jj++ {
				j := jj
				if reverse {
					j = dim - 1 - jj
				}
				idx := o*dim*inner + j*inner + i
				if exclusive {
					setFloat(out, idx, sum)
					sum += vals[idx]
				} else {
					sum += vals[idx]
					setFloat(out, idx, sum)
				}
			}
		}
	}
	return nil
}
