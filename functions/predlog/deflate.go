package predlog

import (
	"cmp"
	"encoding/binary"
	"hash/crc32"
	"io"
	"math"
	"math/bits"
	"slices"
	"sync"
)

var gzipHeader = []byte{0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff} // gzip, deflate, no name, no time, unknown OS

// Piece appends the lines to dst as a deflate block that ends on a byte
// boundary (an empty stored block, as zlib's sync flush), to be added to a
// Stream: pieces compressed apart, one after another or in parallel,
// then follow one another in one gzip member, readable by any gzip reader
// (zcat, Athena, BigQuery).
//
// It knows where to look, which a general gzip has to search for: a
// record repeats the previous record's constant parts (keys, feature and
// class names), and the lines say where each starts, so each part becomes
// one back-reference, extended while the bytes after it still match (a
// value the same as the previous record's), and only the values are
// Huffman-coded. On the example model's records that is about 3.5 times
// the speed of klauspost/compress at its fastest level, and 27% smaller
// (BenchmarkCompress).
func (e *Encoder) Piece(dst []byte, l *Lines) []byte {
	z := deflaters.Get().(*deflater)
	z.begin(dst)
	z.records(l, e, 0)
	out := z.sync()
	z.release()
	return out
}

// A Stream is one gzip member put together from pieces. One member,
// rather than a member per piece, because some readers stop at the end of
// the first member without a word (Trino until mid-2023, trinodb/trino
// #18223, on which Athena's engine is built; MonetDB; Bun), and a log they
// read in part would lose records silently.
type Stream struct {
	gz      []byte
	started bool // the header is written (into gz; Drain may have taken it)
	crc     uint32
	size    uint32 // of the lines, modulo 2^32 as gzip's trailer has it
	done    bool
}

// Add appends a piece that Piece made of lines. Pieces go in the order of
// their lines.
func (s *Stream) Add(piece, lines []byte) {
	s.start()
	s.gz = append(s.gz, piece...)
	s.sum(lines)
}

func (s *Stream) start() {
	if !s.started {
		s.gz = append(s.gz, gzipHeader...)
		s.started = true
	}
}

// Drain writes what has been put together so far to w and forgets it, so
// that a member goes out as its pieces come instead of being held whole;
// Finish then returns the rest.
func (s *Stream) Drain(w io.Writer) error {
	s.start()
	_, err := w.Write(s.gz)
	s.gz = s.gz[:0]
	return err
}

func (s *Stream) sum(lines []byte) {
	s.crc = crc32.Update(s.crc, crc32.IEEETable, lines)
	s.size += uint32(len(lines))
}

// Finish ends the member, with a last, empty block and the trailer, and
// returns it (what Drain has not taken); it stays finished, and the same,
// until Reset.
func (s *Stream) Finish() []byte {
	if !s.done {
		s.start()
		s.gz = append(s.gz, 0x03, 0x00) // BFINAL, fixed codes, end of block
		s.gz = binary.LittleEndian.AppendUint32(s.gz, s.crc)
		s.gz = binary.LittleEndian.AppendUint32(s.gz, s.size)
		s.done = true
	}
	return s.gz
}

// Reset empties s, keeping its memory.
func (s *Stream) Reset() { *s = Stream{gz: s.gz[:0]} }

// A LineStream is one gzip member made of records as they come: records
// go into its Lines, and each Compress compresses those appended since the
// last, so that each caller pays for its own records and no one for a
// whole object's. They go into one deflate block, whose codes are made
// from its first records; after those, a record costs the same whether it
// comes alone or with others.
type LineStream struct {
	member Stream
	// The records not dropped yet: the last, which the next refers back
	// to, and until the codes are made, those they are made from.
	lines Lines
	open  *deflater // the block, from the first Compress to Finish
	seen  int       // records of the lines already compressed
}

// Lines is where records go (Encoder.Append) before Compress.
func (s *LineStream) Lines() *Lines { return &s.lines }

// Compress compresses the records e appended to Lines since the last call.
func (s *LineStream) Compress(e *Encoder) {
	l := &s.lines
	if s.open == nil {
		s.member.start()
		s.open = deflaters.Get().(*deflater)
		s.open.begin(s.member.gz)
	}
	z := s.open
	from := z.done
	z.records(l, e, s.seen)
	s.member.gz = z.w.out // whole bytes; the last few bits wait in z
	s.member.sum(l.text[from:])
	n := len(e.partLens)
	s.seen = len(l.parts) / n
	switch {
	case !z.coded: // the sample's tokens still point into l
	case l.by != e: // nothing to refer back to
		l.Reset()
		z.done, s.seen = 0, 0
	case s.seen > 1: // keep the last record
		last := l.parts[(s.seen-1)*n] // its first part starts it
		l.text = l.text[:copy(l.text, l.text[last:])]
		l.parts = l.parts[:copy(l.parts, l.parts[(s.seen-1)*n:])]
		for i := range l.parts {
			l.parts[i] -= last
		}
		z.done -= int(last)
		s.seen = 1
	}
}

// Finish ends the member and returns it; it stays finished, and the same,
// until Reset.
func (s *LineStream) Finish() []byte {
	if s.open != nil {
		s.member.gz = s.open.sync()
		s.open.release()
		s.open = nil
	}
	return s.member.Finish()
}

// Reset empties s, keeping its memory.
func (s *LineStream) Reset() {
	if s.open != nil {
		s.open.release()
	}
	s.member.Reset()
	s.lines.Reset()
	*s = LineStream{member: s.member, lines: s.lines}
}

var deflaters = sync.Pool{New: func() any {
	return &deflater{tokens: make([]token, 0, sampleTokens)}
}}

// A token is literal bytes, lines[x:x+y] (sym 0), or a back-reference:
// sym is its length symbol and distance symbol<<16, x the length's extra
// bits and their count<<8, y the distance's extra bits and their count<<16.
type token struct{ x, y, sym uint32 }

const (
	sampleTokens = 1 << 11 // tokens counted before a member's codes are fixed
	// maxLitBits caps the literal/length codes one short of deflate's 15,
	// so that codedRecord puts four literals in a word (the stores, not the
	// codes, were its cost; the output is no larger to 0.1%).
	maxLitBits  = 14
	maxMatch    = 258
	maxDistance = 1 << 15
	endOfBlock  = 256
)

// deflater is one deflate block's state, pooled.
//
// A block's Huffman codes are made from the counts of its first
// sampleTokens tokens (every symbol counted once more, so that each has a
// code); from then on tokens are written as they come. Counting every
// byte and queueing every token cost a fifth of the time, and values'
// bytes are alike from record to record, so the sample's codes compress
// the rest about as well (2-3% larger output).
type deflater struct {
	w      bitWriter
	lines  []byte     // what is being compressed
	tokens []token    // waiting for the codes
	lit    [286]int32 // literal/length symbol counts of the sample
	dist   [30]int32  // distance symbol counts
	done   int        // bytes of lines already tokenized
	coded  bool       // the codes are made: tokens are written at once

	litCodes  []uint16
	litLen    [286]uint8
	distCodes []uint16
	distLen   [30]uint8
	byteCodes [256]uint32          // a byte's code, and its length above bit 16
	lengths   [maxMatch + 1]uint32 // a match length's code and extra bits, and their length above bit 24
	huff      huffman
}

// begin starts a deflate block, appended to dst.
func (z *deflater) begin(dst []byte) {
	z.w = bitWriter{out: dst}
	z.tokens = z.tokens[:0]
	z.lit, z.dist = [286]int32{}, [30]int32{}
	z.done = 0
	z.coded = false
}

// records tokenizes the lines from record first on, each record's parts
// referring back to the same parts of the record before, and what lies
// between them as literals; then the rest of the lines.
func (z *deflater) records(l *Lines, e *Encoder, first int) {
	z.lines = l.text
	// Only this encoder's records are referred to (anything else goes as
	// literals), and only while the offsets fit, as for any chunk the log makes.
	if l.by == e && uint64(len(l.text)) <= math.MaxUint32 {
		n := len(e.partLens)
		for r := max(first, 1) * n; r+n <= len(l.parts); r += n {
			prev, at := l.parts[r-n:r], l.parts[r:r+n]
			if z.coded {
				z.codedRecord(l.text, prev, at, e.partLens)
				continue
			}
			for i, plen := range e.partLens {
				// The part is at at[i] and at prev[i]: those bytes are
				// equal without comparing; what follows may be too.
				start := int(at[i])
				z.literals(l.text, start)
				from := max(start, z.done)
				z.match(l.text, from, start-int(prev[i]), start+int(plen)-from)
			}
		}
	}
	z.literals(l.text, len(l.text))
}

// end ends the block, making its codes now if the sample was not complete.
func (z *deflater) end() {
	if !z.coded {
		z.code(false)
	}
	z.w.put(uint64(z.litCodes[endOfBlock]), uint(z.litLen[endOfBlock]))
}

// sync ends the block and returns the output, ended on a byte boundary
// by an empty stored block.
func (z *deflater) sync() []byte {
	z.end()
	z.w.put(0, 3)                                // an empty stored block: its length starts on a byte
	return append(z.w.flush(), 0, 0, 0xff, 0xff) // LEN 0, NLEN
}

// release gives z back to the pool, keeping no caller's memory.
func (z *deflater) release() {
	z.w, z.lines = bitWriter{}, nil
	deflaters.Put(z)
}

// match tokenizes what at lines[from:] equals the bytes d before it, as
// back-references, if at least 3 bytes do. The first known bytes are
// known to be equal.
func (z *deflater) match(lines []byte, from, d, known int) {
	n := matchLen(lines, from, d, known)
	for n >= 3 {
		l := min(n, maxMatch)
		if n-l > 0 && n-l < 3 { // leave at least 3 for the last reference
			l = n - 3
		}
		lc, lextra, lbits := lengthCode(l)
		dc, dextra, dbits := distCode(d)
		t := token{x: lextra | uint32(lbits)<<8, y: dextra | uint32(dbits)<<16, sym: uint32(lc | dc<<16)}
		if z.coded {
			z.emit(t)
		} else {
			z.lit[lc]++
			z.dist[dc]++
			z.add(t)
		}
		from += l
		n -= l
		z.done = from
	}
}

// matchLen is how many bytes at lines[from:] equal the bytes d before
// them (0 when d is out of reach); the first known are known to.
func matchLen(lines []byte, from, d, known int) int {
	if d <= 0 || d > maxDistance || from < d {
		return 0
	}
	n := max(known, 0)
	for { // a word at a time, the last few bytes one by one
		if from+n+8 > len(lines) {
			for from+n < len(lines) && lines[from+n] == lines[from+n-d] {
				n++
			}
			return n
		}
		i := from + n
		if x := binary.LittleEndian.Uint64(lines[i:i+8]) ^ binary.LittleEndian.Uint64(lines[i-d:i-d+8]); x != 0 {
			return n + bits.TrailingZeros64(x)/8
		}
		n += 8
	}
}

// codedRecord writes the tokens of a record whose parts are at at, and at
// prev in the record before, once the codes are made: what literals and
// match do, with the bit writer in registers, four literals at a time
// and a whole back-reference at once. Shift counts are masked with 63:
// they are below 64 anyway, and saying so spares a check on every shift.
func (z *deflater) codedRecord(text []byte, prev, at, partLens []uint32) {
	out, acc, nacc := store(room(z.w.out, 8), z.w.acc, z.w.nacc)
	done, codes := z.done, &z.byteCodes
	for i, plen := range partLens {
		start := int(at[i])
		if done < start {
			lit := text[done:start]
			out = room(out, 2*len(lit)+16)       // codes are at most 15 bits
			for ; len(lit) >= 4; lit = lit[4:] { // 4 codes of at most maxLitBits on fewer than 8
				c0, c1, c2, c3 := codes[lit[0]], codes[lit[1]], codes[lit[2]], codes[lit[3]]
				acc |= uint64(c0&0xffff) << (nacc & 63)
				nacc += uint(c0 >> 16)
				acc |= uint64(c1&0xffff) << (nacc & 63)
				nacc += uint(c1 >> 16)
				acc |= uint64(c2&0xffff) << (nacc & 63)
				nacc += uint(c2 >> 16)
				acc |= uint64(c3&0xffff) << (nacc & 63)
				nacc += uint(c3 >> 16)
				out, acc, nacc = store(out, acc, nacc)
			}
			for _, c := range lit {
				acc |= uint64(codes[c]&0xffff) << (nacc & 63)
				nacc += uint(codes[c] >> 16)
			}
			out, acc, nacc = store(out, acc, nacc)
			done = start
		}
		d := start - int(prev[i])
		n := matchLen(text, done, d, start+int(plen)-done)
		if n < 3 {
			continue
		}
		dc, dextra, dbits := distCode(d)
		dist := uint64(z.distCodes[dc]) | uint64(dextra)<<z.distLen[dc]
		ndist := uint(z.distLen[dc]) + dbits
		for n >= 3 {
			l := min(n, maxMatch)
			if n-l > 0 && n-l < 3 { // leave at least 3 for the last reference
				l = n - 3
			}
			out = room(out, 8)
			length := z.lengths[l] // at most 20 bits, and the distance's 28
			acc |= uint64(length&0xffffff) << (nacc & 63)
			nacc += uint(length >> 24)
			acc |= dist << (nacc & 63)
			nacc += ndist
			out, acc, nacc = store(out, acc, nacc)
			done += l
			n -= l
		}
	}
	z.w.out, z.w.acc, z.w.nacc = out, acc, nacc
	z.done = done
}

// Four literal codes and the 7 bits store may leave fit in a word.
const _ = uint(64 - 4*maxLitBits - 7)

// store puts the whole bytes of acc's nacc bits at the end of out, as one
// 8-byte write into room there (which its callers keep: room, below).
func store(out []byte, acc uint64, nacc uint) ([]byte, uint64, uint) {
	binary.LittleEndian.PutUint64(out[len(out):len(out)+8], acc)
	k := nacc / 8
	return out[:len(out)+int(k)], acc >> (8 * k & 63), nacc % 8
}

// room makes sure out has n bytes to spare.
func room(out []byte, n int) []byte {
	if cap(out)-len(out) < n {
		return slices.Grow(out, n)
	}
	return out
}

// literals tokenizes lines[z.done:end] as literal bytes.
func (z *deflater) literals(lines []byte, end int) {
	if z.done >= end {
		return
	}
	if z.coded {
		z.w.literals(lines[z.done:end], &z.byteCodes)
	} else {
		for _, c := range lines[z.done:end] {
			z.lit[c]++
		}
		z.add(token{x: uint32(z.done), y: uint32(end - z.done)})
	}
	z.done = end
}

// add queues a token, already counted, until the sample is complete.
func (z *deflater) add(t token) {
	z.tokens = append(z.tokens, t)
	if len(z.tokens) == sampleTokens {
		z.code(true)
	}
}

// emit writes a token with the member's codes.
func (z *deflater) emit(t token) {
	if t.sym == 0 {
		z.w.literals(z.lines[t.x:t.x+t.y], &z.byteCodes)
		return
	}
	lc, dc := t.sym&0xffff, t.sym>>16
	z.w.put(uint64(z.litCodes[lc])|uint64(t.x&0xff)<<z.litLen[lc], uint(z.litLen[lc])+uint(t.x>>8))
	z.w.put(uint64(z.distCodes[dc])|uint64(t.y&0xffff)<<z.distLen[dc], uint(z.distLen[dc])+uint(t.y>>16))
}

// code makes the member's Huffman codes from the counts, every symbol
// given a code when more tokens are to come (sample), writes the block's
// header (RFC 1951, 3.2.7) and the tokens queued so far.
func (z *deflater) code(sample bool) {
	z.lit[endOfBlock]++
	if sample {
		for i := range z.lit {
			z.lit[i]++
		}
		for i := range z.dist {
			z.dist[i]++
		}
	}
	litLen, distLen := &z.litLen, &z.distLen
	z.huff.lengths(z.lit[:], litLen[:], maxLitBits)
	z.huff.lengths(z.dist[:], distLen[:], 15)
	z.litCodes, z.distCodes = canonical(litLen[:]), canonical(distLen[:])

	nlit, ndist := trimZeros(litLen[:], 257), trimZeros(distLen[:], 1)
	// The code lengths are sent Huffman-coded too, without run-length
	// codes: about 150 bytes a block.
	lens := append(append(make([]uint8, 0, 316), litLen[:nlit]...), distLen[:ndist]...)
	var clFreq [19]int32
	for _, l := range lens {
		clFreq[l]++
	}
	var clLen [19]uint8
	z.huff.lengths(clFreq[:], clLen[:], 7)
	clCode := canonical(clLen[:])
	order := [19]int{16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15}
	nclen := 19
	for nclen > 4 && clLen[order[nclen-1]] == 0 {
		nclen--
	}

	w := &z.w
	w.put(2<<1, 3) // BTYPE=10 (dynamic), not the last: Stream.Finish ends the member
	w.put(uint64(nlit-257), 5)
	w.put(uint64(ndist-1), 5)
	w.put(uint64(nclen-4), 4)
	for _, s := range order[:nclen] {
		w.put(uint64(clLen[s]), 3)
	}
	for _, l := range lens {
		w.put(uint64(clCode[l]), uint(clLen[l]))
	}
	for c := range z.byteCodes {
		z.byteCodes[c] = uint32(z.litCodes[c]) | uint32(litLen[c])<<16
	}
	for l := 3; l <= maxMatch; l++ {
		lc, extra, nbits := lengthCode(l)
		z.lengths[l] = uint32(z.litCodes[lc]) | extra<<litLen[lc] | (uint32(litLen[lc])+uint32(nbits))<<24
	}
	z.coded = true
	for _, t := range z.tokens {
		z.emit(t)
	}
	z.tokens = z.tokens[:0]
}

// lengthCode is the symbol (257–285) and extra bits of a match length.
func lengthCode(l int) (sym int, extra uint32, nbits uint) {
	if l == maxMatch {
		return 285, 0, 0
	}
	x := l - 3
	if x < 8 {
		return 257 + x, 0, 0
	}
	nbits = uint(bits.Len(uint(x))) - 3 // 8–15: 1 bit, 16–31: 2 bits, …
	return 257 + 4*int(nbits) + 4 + (x>>nbits)&3, uint32(x & (1<<nbits - 1)), nbits
}

// distCode is the symbol (0–29) and extra bits of a distance.
func distCode(d int) (sym int, extra uint32, nbits uint) {
	x := d - 1
	if x < 4 {
		return x, 0, 0
	}
	nbits = uint(bits.Len(uint(x))) - 2 // 4–7: 1 bit, 8–15: 2 bits, …
	return 2*int(nbits) + 2 + (x>>nbits)&1, uint32(x & (1<<nbits - 1)), nbits
}

// huffman makes Huffman codes, in memory kept from one to the next.
type huffman struct {
	f      [286]int32
	nodes  [2 * 286]huffNode // the leaves, then inner nodes as made
	leaves [286]int16        // the symbol of each leaf
	order  [286]int16        // leaves by count
	depth  [2 * 286]uint8
}

type huffNode struct {
	freq   int64
	parent int16
}

// lengths sets the code length of each symbol with a count (at most 286):
// a Huffman code, halving the counts until no code is longer than
// maxBits. At least two symbols get a code, as decoders want a complete
// code.
func (h *huffman) lengths(freq []int32, lengths []uint8, maxBits int) {
	f := h.f[:len(freq)]
	copy(f, freq)
	used := 0
	for _, n := range f {
		if n > 0 {
			used++
		}
	}
	for i := 0; used < 2; i++ {
		if f[i] == 0 {
			f[i] = 1
			used++
		}
	}
	for h.build(f, lengths) > maxBits {
		for i := range f {
			if f[i] > 0 {
				f[i] = (f[i] + 1) / 2
			}
		}
	}
}

// build sets Huffman code lengths for the symbols with a count and
// returns the longest.
func (h *huffman) build(freq []int32, lengths []uint8) int {
	n := 0
	for s, f := range freq {
		lengths[s] = 0
		if f > 0 {
			h.nodes[n] = huffNode{freq: int64(f), parent: -1}
			h.leaves[n], h.order[n] = int16(s), int16(n)
			n++
		}
	}
	order := h.order[:n]
	slices.SortFunc(order, func(a, b int16) int { return cmp.Compare(h.nodes[a].freq, h.nodes[b].freq) })
	// Two queues: leaves by count, and inner nodes (from n on), which are
	// made in increasing count order.
	made, inner := n, n
	pop := func() int16 {
		if len(order) > 0 && (inner == made || h.nodes[order[0]].freq <= h.nodes[inner].freq) {
			i := order[0]
			order = order[1:]
			return i
		}
		inner++
		return int16(inner - 1)
	}
	for len(order)+made-inner > 1 {
		a, b := pop(), pop()
		h.nodes[made] = huffNode{freq: h.nodes[a].freq + h.nodes[b].freq, parent: -1}
		h.nodes[a].parent, h.nodes[b].parent = int16(made), int16(made)
		made++
	}
	longest := 0
	h.depth[made-1] = 0
	for i := made - 2; i >= 0; i-- { // parents come after children
		h.depth[i] = h.depth[h.nodes[i].parent] + 1
	}
	for i, s := range h.leaves[:n] {
		lengths[s] = h.depth[i]
		longest = max(longest, int(h.depth[i]))
	}
	return longest
}

// canonical is the canonical Huffman code for the lengths (RFC 1951,
// 3.2.2), bit-reversed because deflate sends codes from their top bit.
func canonical(lengths []uint8) []uint16 {
	var count [16]uint16
	for _, l := range lengths {
		count[l]++
	}
	count[0] = 0
	var next [16]uint16
	code := uint16(0)
	for b := 1; b < 16; b++ {
		code = (code + count[b-1]) << 1
		next[b] = code
	}
	codes := make([]uint16, len(lengths))
	for s, l := range lengths {
		if l > 0 {
			codes[s] = bits.Reverse16(next[l]) >> (16 - l)
			next[l]++
		}
	}
	return codes
}

// trimZeros is how many lengths to send: up to the last used, at least min.
func trimZeros(lengths []uint8, min int) int {
	n := len(lengths)
	for n > min && lengths[n-1] == 0 {
		n--
	}
	return n
}

// bitWriter packs bits from the lowest, as deflate wants.
type bitWriter struct {
	out  []byte
	acc  uint64
	nacc uint
}

// put writes the n (at most 32) low bits of v.
func (w *bitWriter) put(v uint64, n uint) {
	w.acc |= v << w.nacc
	w.nacc += n
	if w.nacc >= 32 {
		w.out = binary.LittleEndian.AppendUint32(w.out, uint32(w.acc))
		w.acc >>= 32
		w.nacc -= 32
	}
}

// literals puts each byte's code: put, with the state in registers.
func (w *bitWriter) literals(text []byte, codes *[256]uint32) {
	acc, nacc, out := w.acc, w.nacc, w.out
	for _, c := range text {
		e := codes[c]
		acc |= uint64(e&0xffff) << (nacc & 63)
		nacc += uint(e >> 16)
		if nacc >= 48 {
			out = binary.LittleEndian.AppendUint64(out, acc)[:len(out)+6]
			acc >>= 48
			nacc -= 48
		}
	}
	if nacc >= 32 { // as put leaves it
		out = binary.LittleEndian.AppendUint32(out, uint32(acc))
		acc >>= 32
		nacc -= 32
	}
	w.acc, w.nacc, w.out = acc, nacc, out
}

func (w *bitWriter) flush() []byte {
	for ; w.nacc > 0; w.nacc -= min(w.nacc, 8) {
		w.out = append(w.out, byte(w.acc))
		w.acc >>= 8
	}
	return w.out
}
