package graph

import "fmt"

// broadcastShape is numpy's multidirectional broadcast of shapes.
func broadcastShape(dst []int, shapes ...[]int) ([]int, error) {
	rank := 0
	for _, s := range shapes {
		rank = max(rank, len(s))
	}
	dst = dst[:0]
	for i := 0; i < rank; i++ {
		d := 1
		for _, s := range shapes {
			j := i - (rank - len(s))
			if j < 0 {
				continue
			}
			switch {
			case s[j] == d || s[j] == 1:
			case d == 1:
				d = s[j]
			default:
				return nil, broadcastError(shapes)
			}
		}
		dst = append(dst, d)
	}
	return dst, nil
}

// broadcastError copies the shapes it reports so they do not escape on
// the success path.
func broadcastError(shapes [][]int) error {
	cp := make([][]int, len(shapes))
	for i, s := range shapes {
		cp[i] = append([]int(nil), s...)
	}
	return fmt.Errorf("shapes %v cannot be broadcast together", cp)
}

// bplan walks an output shape and up to three broadcast operands, with
// adjacent dimensions merged wherever every operand allows, so the common
// cases (same shape, scalar, bias row) become one or two flat loops.
type bplan struct {
	dims   []int    // merged dims, outermost first
	st     [3][]int // per operand: element stride per merged dim (0 = broadcast)
	n      int      // operands
	buf    [6 * 8]int
	dimBuf [8]int
}

func (p *bplan) init(out []int, ins ...[]int) {
	p.n = len(ins)
	rank := len(out)
	// Strides of each operand aligned to the output's dims.
	var full, mst [3][]int
	buf := p.buf[:0]
	if 2*3*rank > len(p.buf) {
		buf = make([]int, 0, 2*3*rank)
	}
	for k, s := range ins {
		st := buf[len(buf) : len(buf)+rank]
		buf = buf[:len(buf)+rank]
		stride := 1
		for i := rank - 1; i >= 0; i-- {
			j := i - (rank - len(s))
			if j < 0 || s[j] == 1 {
				st[i] = 0
			} else {
				st[i] = stride
			}
			if j >= 0 {
				stride *= s[j]
			}
		}
		full[k] = st
	}
	for k := 0; k < p.n; k++ {
		mst[k] = buf[len(buf) : len(buf) : len(buf)+rank]
		buf = buf[:len(buf)+rank]
	}
	var dims []int
	if rank <= len(p.dimBuf) {
		dims = p.dimBuf[:0]
	}
	// Merge dims from the inside out.
	for i := rank - 1; i >= 0; i-- {
		d := out[i]
		if d == 1 {
			continue
		}
		if len(dims) > 0 {
			last := len(dims) - 1
			ok := true
			for k := 0; k < p.n; k++ {
				inner := mst[k][last]
				if !(inner == 0 && full[k][i] == 0 || inner != 0 && full[k][i] == inner*dims[last]) {
					ok = false
					break
				}
			}
			if ok {
				dims[last] *= d
				continue
			}
		}
		dims = append(dims, d)
		for k := 0; k < p.n; k++ {
			mst[k] = append(mst[k], full[k][i])
		}
	}
	// Reverse to outermost first.
	for i, j := 0, len(dims)-1; i < j; i, j = i+1, j-1 {
		dims[i], dims[j] = dims[j], dims[i]
		for k := 0; k < p.n; k++ {
			mst[k][i], mst[k][j] = mst[k][j], mst[k][i]
		}
	}
	p.dims = dims
	p.st = mst
}

// each calls fn for every run along the innermost merged dimension with the
// starting offsets of the output and each operand, the run length, and each
// operand's step (0 or its stride).
func (p *bplan) each(fn func(o int, off [3]int, n int, step [3]int)) {
	r := len(p.dims)
	if r == 0 {
		fn(0, [3]int{}, 1, [3]int{})
		return
	}
	inner := p.dims[r-1]
	var step [3]int
	for k := 0; k < p.n; k++ {
		step[k] = p.st[k][r-1]
	}
	outer := 1
	for _, d := range p.dims[:r-1] {
		outer *= d
	}
	var idx [8]int
	var idxs []int
	if r-1 <= 8 {
		idxs = idx[:r-1]
	} else {
		idxs = make([]int, r-1)
	}
	var off [3]int
	o := 0
	for c := 0; c < outer; c++ {
		fn(o, off, inner, step)
		o += inner
		// Advance the outer index.
		for d := r - 2; d >= 0; d-- {
			idxs[d]++
			for k := 0; k < p.n; k++ {
				off[k] += p.st[k][d]
			}
			if idxs[d] < p.dims[d] {
				break
			}
			for k := 0; k < p.n; k++ {
				off[k] -= p.st[k][d] * p.dims[d]
			}
			idxs[d] = 0
		}
	}
}
