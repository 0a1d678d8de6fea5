package stats

import (
	"slices"
	"sync"
	"unsafe"
)

// SortFloats sorts finite float64 values ascending. Large slices go through
// an in-place LSD radix sort on the order-preserving bit pattern (several
// times faster than a comparison sort at a million values, with one
// reusable scratch buffer), small ones through slices.Sort.
func SortFloats(x []float64) {
	n := len(x)
	if n < 4096 {
		slices.Sort(x)
		return
	}
	keys := unsafe.Slice((*uint64)(unsafe.Pointer(&x[0])), n)
	buf := scratch.Get().(*[]uint64)
	if cap(*buf) < n {
		*buf = make([]uint64, n)
	}
	radixSort(keys, (*buf)[:n])
	scratch.Put(buf)
}

// The radix sort works on an order-preserving bit pattern: positive
// floats get their sign bit set, negative ones every bit flipped.
func encode(b uint64) uint64 { return b ^ (uint64(int64(b)>>63) | 1<<63) }
func decode(b uint64) uint64 { return b ^ ((b>>63 - 1) | 1<<63) }

var scratch = sync.Pool{New: func() any { return new([]uint64) }}

const (
	radixBits   = 8
	radixPasses = (64 + radixBits - 1) / radixBits
	radixMask   = 1<<radixBits - 1
)

// radixSort sorts float64 bit patterns in keys using tmp as scratch: the
// first read encodes the keys and takes every digit histogram, one scatter
// per digit follows (skipping digits every key shares), and the last
// scatter (or a final pass) decodes.
func radixSort(keys, tmp []uint64) {
	var counts [radixPasses][1 << radixBits]int
	for i, k := range keys {
		k = encode(k)
		keys[i] = k
		for p := range radixPasses {
			counts[p][(k>>(p*radixBits))&radixMask]++
		}
	}
	last := -1
	for p := range radixPasses {
		if counts[p][(keys[0]>>(p*radixBits))&radixMask] != len(keys) {
			last = p
		}
	}
	src, dst := keys, tmp
	for p := range radixPasses {
		shift := uint(p * radixBits)
		c := &counts[p]
		if c[(src[0]>>shift)&radixMask] == len(src) {
			continue
		}
		pos := 0
		for i, v := range c {
			c[i] = pos
			pos += v
		}
		dst = dst[:len(src)]
		if p == last {
			for _, k := range src {
				d := (k >> shift) & radixMask
				dst[c[d]] = decode(k)
				c[d]++
			}
		} else {
			for _, k := range src {
				d := (k >> shift) & radixMask
				dst[c[d]] = k
				c[d]++
			}
		}
		src, dst = dst, src
	}
	if last < 0 {
		for i, k := range src {
			src[i] = decode(k)
		}
	}
	if &src[0] != &keys[0] {
		copy(keys, src)
	}
}
