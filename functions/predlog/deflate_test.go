package predlog_test

import (
	"bytes"
	"compress/gzip"
	"io"
	"math"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/modelfn/modelfn/functions/predlog"
)

// gunzip reads data back with the standard library's reader, which checks
// the codes, the CRC and the length.
func gunzip(t testing.TB, data []byte) []byte {
	t.Helper()
	zr, err := gzip.NewReader(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	out, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// object gzips lines in one piece, a whole object as the log writes it.
func object(enc *predlog.Encoder, l *predlog.Lines) []byte {
	var s predlog.Stream
	s.Add(enc.Piece(nil, l), l.Bytes())
	return s.Finish()
}

// TestEncoderCompress: what the encoder's gzip writer writes reads back
// exactly, with Go's reader and with gzip(1).
func TestEncoderCompress(t *testing.T) {
	t.Parallel()
	chunkEnc, recs := logChunk(t)
	var chunk predlog.Lines
	for i := range recs {
		chunkEnc.Append(&chunk, &recs[i])
	}
	s, info := schema(t)
	enc := predlog.NewEncoder("churn", "3", s, info)
	huge := predlog.Record{ID: predlog.NewID(), Time: time.Now(), Source: "http", X: []float64{1, 0},
		S: []string{"", strings.Repeat("ü\"x", 20000)}, Out: []float64{0.25, 0.75}} // a record longer than deflate's 32 KB window
	one := predlog.Record{ID: predlog.NewID(), Time: time.Now(), Source: "http", X: []float64{math.NaN(), 0}, Out: []float64{0.5, 0.5}}

	cases := map[string]struct {
		enc   *predlog.Encoder
		lines *predlog.Lines
	}{
		"empty":                 {enc, &predlog.Lines{}},
		"one record":            {enc, records(t, enc, s, 1)},
		"records":               {enc, records(t, enc, s, 50)}, // categorical values with quotes and escapes, nulls
		"1,000 example records": {chunkEnc, &chunk},
		"identical records": {enc, func() *predlog.Lines { // longest references, several blocks
			l := new(predlog.Lines)
			for range 3000 {
				enc.Append(l, &one)
			}
			return l
		}()},
		"bytes the codes were not made from": {enc, func() *predlog.Lines {
			l := records(t, enc, s, 400) // the codes are made from the first of these
			var every strings.Builder
			for c := range 256 {
				every.WriteByte(byte(c))
			}
			odd := one
			odd.S = []string{"", every.String()}
			enc.Append(l, &odd)
			return l
		}()},
		"the longest codes": {enc, func() *predlog.Lines {
			// Bytes counted in Fibonacci numbers make the deepest Huffman
			// tree, cut back to the longest codes allowed or shorter; the
			// bytes not among them get the longest, and runs of them, once
			// the codes are made, go four codes to a word.
			var fib strings.Builder
			for i, a, b := 0, 1, 1; i < 25; i, a, b = i+1, b, a+b {
				fib.WriteString(strings.Repeat(string(rune('a'+i)), a))
			}
			skewed, rare := one, one
			skewed.S = []string{"", fib.String()}
			rare.S = []string{"", strings.Repeat("QZ~", 2000)}
			l := new(predlog.Lines)
			enc.Append(l, &skewed)
			for range 400 { // the rest of the sample
				enc.Append(l, &one)
			}
			enc.Append(l, &rare)
			return l
		}()},
		"two encoders' records": {enc, func() *predlog.Lines { // parts of other lengths: literals
			l := records(t, enc, s, 5)
			for i := range recs[:5] {
				chunkEnc.Append(l, &recs[i])
			}
			enc.Append(l, &one)
			return l
		}()},
		"over the window": {enc, func() *predlog.Lines {
			l := records(t, enc, s, 20)
			enc.Append(l, &huge)
			enc.Append(l, &one)
			enc.Append(l, &huge)
			return l
		}()},
	}
	for name, c := range cases {
		piece := c.enc.Piece([]byte("kept"), c.lines)
		if !bytes.HasPrefix(piece, []byte("kept")) {
			t.Fatalf("%s: dst not appended to", name)
		}
		var s predlog.Stream
		s.Add(piece[4:], c.lines.Bytes())
		gz := s.Finish()
		want := c.lines.Bytes()
		if back := gunzip(t, gz); !bytes.Equal(back, want) {
			t.Fatalf("%s: read back %d bytes differ from the %d written", name, len(back), len(want))
		}
		cmd := exec.Command("gzip", "-dc")
		cmd.Stdin = bytes.NewReader(gz)
		if back, err := cmd.Output(); err != nil || !bytes.Equal(back, want) {
			t.Fatalf("%s: gzip -dc: %v, %d bytes back of %d", name, err, len(back), len(want))
		}
		t.Logf("%s: %d bytes → %d", name, len(want), len(gz))
	}
	// As compact as a general gzip at its fastest level on real records.
	ours, general := len(object(chunkEnc, &chunk)), len(predlog.Compress(nil, chunk.Bytes()))
	if ours > general*11/10 {
		t.Errorf("1,000 records: %d bytes, a general gzip's %d", ours, general)
	}
}

// oneMember finishes a stream twice, which must give the same member,
// and checks that it reads back as want with a reader that stops after
// the first member, and with gzip(1).
func oneMember(t *testing.T, finish func() []byte, want []byte) []byte {
	t.Helper()
	obj := finish()
	if again := finish(); !bytes.Equal(again, obj) {
		t.Fatal("a second Finish changed the member")
	}
	zr, err := gzip.NewReader(bytes.NewReader(obj))
	if err != nil {
		t.Fatal(err)
	}
	zr.Multistream(false)
	if back, err := io.ReadAll(zr); err != nil || !bytes.Equal(back, want) {
		t.Fatalf("first member: %v, %d bytes of %d", err, len(back), len(want))
	}
	cmd := exec.Command("gzip", "-dc")
	cmd.Stdin = bytes.NewReader(obj)
	if back, err := cmd.Output(); err != nil || !bytes.Equal(back, want) {
		t.Fatalf("gzip -dc: %v, %d bytes of %d", err, len(back), len(want))
	}
	return obj
}

// TestStream: pieces compressed apart make one gzip member, which reads
// back whole with a reader that stops after the first member, and with
// gzip(1); an empty stream is a valid empty member.
func TestStream(t *testing.T) {
	t.Parallel()
	enc, recs := logChunk(t)
	var s predlog.Stream
	var want []byte
	for i := 0; i < len(recs); i += 150 { // pieces of 150 records, the last shorter
		var l predlog.Lines
		for j := i; j < min(i+150, len(recs)); j++ {
			enc.Append(&l, &recs[j])
		}
		s.Add(enc.Piece(nil, &l), l.Bytes())
		want = append(want, l.Bytes()...)
	}
	obj := oneMember(t, s.Finish, want)
	t.Logf("%d bytes in 7 pieces → %d (one piece: %d)", len(want), len(obj), len(object(enc, func() *predlog.Lines {
		var l predlog.Lines
		for i := range recs {
			enc.Append(&l, &recs[i])
		}
		return &l
	}())))

	// Drained after each piece, the member goes out the same.
	obj = bytes.Clone(obj) // Reset keeps, and reuses, the memory
	s.Reset()
	var drained bytes.Buffer
	for i := 0; i < len(recs); i += 150 {
		var l predlog.Lines
		for j := i; j < min(i+150, len(recs)); j++ {
			enc.Append(&l, &recs[j])
		}
		s.Add(enc.Piece(nil, &l), l.Bytes())
		if err := s.Drain(&drained); err != nil {
			t.Fatal(err)
		}
	}
	if got := append(drained.Bytes(), s.Finish()...); !bytes.Equal(got, obj) {
		t.Fatalf("drained member differs: %d bytes, %d whole", len(got), len(obj))
	}

	s.Reset()
	if back := gunzip(t, s.Finish()); len(back) != 0 {
		t.Fatalf("empty stream read back %d bytes", len(back))
	}
}

// TestLineStream: records compressed as they come, alone or a few at a
// time, before and after the codes are made, make one gzip member that
// reads back whole (with a reader that stops after the first member, and
// gzip(1)), also when another encoder's records and records over the
// window come between; the lines keep only what the next records refer to.
func TestLineStream(t *testing.T) {
	t.Parallel()
	enc, recs := logChunk(t)
	s, info := schema(t)
	other := predlog.NewEncoder("churn", "3", s, info)
	otherRec := predlog.Record{ID: predlog.NewID(), Time: time.Now(), Source: "http", X: []float64{1, 0}, Out: []float64{0.25, 0.75}}
	huge := recs[0]
	huge.ID = strings.Repeat("ü\"x", 20000) // a record longer than deflate's window

	var st predlog.LineStream
	l := st.Lines()
	var want []byte
	add := func(e *predlog.Encoder, rs ...predlog.Record) {
		before := l.Len()
		for i := range rs {
			e.Append(l, &rs[i])
		}
		want = append(want, l.Bytes()[before:]...)
		st.Compress(e)
	}
	step := []int{1, 1, 2, 7, 1, 30, 100, 1, 3}
	for i, k := 0, 0; i < len(recs); k++ {
		n := min(step[k%len(step)], len(recs)-i)
		add(enc, recs[i:i+n]...)
		i += n
		if i > 200 && l.Len() > 4<<10 { // a record is about 1 KB
			t.Fatalf("after %d records the lines hold %d bytes", i, l.Len())
		}
		switch k {
		case 20:
			add(enc, huge)
		case 30:
			add(other, otherRec, otherRec) // not referred to, nor referring
			add(enc, recs[:5]...)
		}
	}
	obj := oneMember(t, st.Finish, want)
	t.Logf("%d bytes → %d", len(want), len(obj))

	// Fewer records than the codes' sample, one at a time, and none.
	for _, n := range []int{0, 1, 5} {
		st.Reset()
		want = want[:0]
		for i := range n {
			add(enc, recs[i])
		}
		if back := gunzip(t, st.Finish()); !bytes.Equal(back, want) {
			t.Fatalf("%d records: %d bytes back of %d", n, len(back), len(want))
		}
	}
}

// FuzzEncoderCompress: any records (ids, sources and categorical values
// of any bytes, any numbers, records over deflate's window) read back
// exactly.
func FuzzEncoderCompress(f *testing.F) {
	s, info := schema(f)
	enc := predlog.NewEncoder("m", "1", s, info)
	f.Add("0193a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b", "http", "pro", 12.5, 0.25, uint16(3))
	f.Add("", "", "new \"plan\"\n", math.Inf(1), math.NaN(), uint16(200))
	f.Add("x\xff\"", "batch", strings.Repeat("ab", 20000), -0.0, 1e300, uint16(2))
	f.Fuzz(func(t *testing.T, id, source, plan string, x, p float64, n uint16) {
		// All the records, the same in two pieces, and a record at a
		// time; past the sample that fixes the codes.
		var lines, first, second predlog.Lines
		var ls predlog.LineStream
		for i := range int(n % 300) {
			r := predlog.Record{ID: id[:i%(len(id)+1)], Time: time.UnixMilli(int64(i) * 997), Source: source,
				X: []float64{x * float64(i), 0}, S: []string{"", plan[:len(plan)*(i%5/4)]}, Out: []float64{p, 1 - p}, Latency: time.Duration(i)}
			enc.Append(&lines, &r)
			enc.Append(ls.Lines(), &r)
			ls.Compress(enc)
			if i < int(n%300)/2 {
				enc.Append(&first, &r)
			} else {
				enc.Append(&second, &r)
			}
		}
		if back := gunzip(t, object(enc, &lines)); !bytes.Equal(back, lines.Bytes()) {
			t.Fatalf("read back differs: %q", back)
		}
		var st predlog.Stream
		st.Add(enc.Piece(nil, &first), first.Bytes())
		st.Add(enc.Piece(nil, &second), second.Bytes())
		if back := gunzip(t, st.Finish()); !bytes.Equal(back, lines.Bytes()) {
			t.Fatalf("two pieces read back differ: %q", back)
		}
		if back := gunzip(t, ls.Finish()); !bytes.Equal(back, lines.Bytes()) {
			t.Fatalf("a record at a time read back differs: %q", back)
		}
	})
}
