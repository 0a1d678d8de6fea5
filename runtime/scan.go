package runtime

import (
	"strconv"
	"strings"
	"unicode/utf8"
	"unsafe"
)

// ScanInstances is the fast path for the request body almost every client
// sends: {"instances": [row, ...]} whose rows are objects of numbers keyed
// by feature name, or arrays of numbers in schema order, with no escapes,
// no strings, no nulls. It fills b in one pass over body and reports true;
// with keepText, b.Text holds each cell's number as written (for the
// prediction log), as strings sharing body's memory: they are valid only
// while body is unchanged.
//
// For anything else (other value types, unknown or repeated fields, more
// than maxRows rows, a value the schema refuses, any syntax error) it
// reports false with b reset, and the caller reads body with the full
// decoder (ReadJSONRow), which accepts every valid form and names the row
// and field of an error. Whichever path reads a body, the batch is the
// same; the fast one is about three times cheaper because it neither
// tokenizes twice nor looks up a field that arrives in the order the row
// before used.
//
// Not inlined: inlined into a caller in another package (as profile-guided
// optimization does), its scanner moved to the heap, for the escape facts
// of the generic scanner's methods were not at hand there.
//
//go:noinline
func (b *Batch) ScanInstances(body []byte, maxRows int, keepText bool) bool {
	b.Reset()
	var ok bool
	if keepText {
		b.Text = b.text[:0]
		// Not string(body): that copy was 5% of a logged 100-row request.
		// The log copies what it keeps before the request's body is reused.
		ok = (&scanner[string]{s: unsafe.String(unsafe.SliceData(body), len(body)), b: b, keepText: true}).instances(maxRows)
		b.text = b.Text
	} else {
		ok = (&scanner[[]byte]{s: body, b: b}).instances(maxRows)
	}
	if !ok {
		b.Reset()
	}
	return ok
}

// nextCol is the column order the last object row was read in (see
// scanner.object), schema order at first.
func (b *Batch) nextCol() []int {
	if b.next == nil {
		w := b.Width()
		b.next = make([]int, w+1)
		for i := range b.next {
			b.next[i] = i
		}
		b.next[w] = -1
	}
	return b.next
}

type scanner[T string | []byte] struct {
	s        T
	i        int
	b        *Batch
	keepText bool // fill b.Text (T is then string)
}

func (sc *scanner[T]) ws() {
	for sc.i < len(sc.s) {
		switch sc.s[sc.i] {
		case ' ', '\t', '\n', '\r':
			sc.i++
		default:
			return
		}
	}
}

// byte consumes c after optional whitespace.
func (sc *scanner[T]) byte(c byte) bool {
	sc.ws()
	if sc.i < len(sc.s) && sc.s[sc.i] == c {
		sc.i++
		return true
	}
	return false
}

func (sc *scanner[T]) peek() byte {
	sc.ws()
	if sc.i < len(sc.s) {
		return sc.s[sc.i]
	}
	return 0
}

// key reads a member name without escapes or control characters, and
// the colon after it.
func (sc *scanner[T]) key() (T, bool) {
	var none T
	if !sc.byte('"') {
		return none, false
	}
	start := sc.i
	for sc.i < len(sc.s) {
		c := sc.s[sc.i]
		if c == '"' {
			k := sc.s[start:sc.i]
			sc.i++
			return k, sc.byte(':')
		}
		if c == '\\' || c < 0x20 {
			return none, false
		}
		sc.i++
	}
	return none, false
}

// expectKey consumes "name": when the next member is named name, which
// must need no escaping, and consumes nothing otherwise.
func (sc *scanner[T]) expectKey(name string) bool {
	sc.ws()
	start := sc.i
	if n := len(name); start+n+1 < len(sc.s) && sc.s[start] == '"' && sc.s[start+1+n] == '"' && string(sc.s[start+1:start+1+n]) == name {
		sc.i = start + n + 2
		if sc.byte(':') {
			return true
		}
	}
	sc.i = start
	return false
}

func (sc *scanner[T]) instances(maxRows int) bool {
	if !sc.byte('{') {
		return false
	}
	if k, ok := sc.key(); !ok || string(k) != "instances" || !sc.byte('[') {
		return false
	}
	if sc.peek() == ']' {
		return false // no rows: the full decoder says so
	}
	for {
		if sc.b.Rows == maxRows || !sc.row() {
			return false
		}
		if sc.byte(']') {
			break
		}
		if !sc.byte(',') {
			return false
		}
	}
	if !sc.byte('}') {
		return false
	}
	sc.ws()
	return sc.i == len(sc.s)
}

func (sc *scanner[T]) row() bool {
	r := sc.b.Begin(sc.b.Rows)
	w := sc.b.Width()
	if sc.keepText {
		for range w {
			sc.b.Text = append(sc.b.Text, "")
		}
	}
	var ok bool
	switch sc.peek() {
	case '{':
		ok = sc.object(&r)
	case '[':
		ok = sc.array(&r, w)
	}
	if ok && r.End() == nil {
		return true
	}
	r.Abort()
	return false
}

func (sc *scanner[T]) object(r *RowWriter) bool {
	sc.i++ // '{'
	if sc.byte('}') {
		return false
	}
	features, plain := sc.b.Schema.Features, sc.b.Schema.plain
	// Clients send every row's fields in one order (schema order, or
	// sorted by name when they come from a map): next[c+1] is the column
	// that followed column c in the last row, tried before a lookup.
	next := sc.b.nextCol()
	prev := -1
	for {
		col := next[prev+1]
		if col < 0 || !plain[col] || !sc.expectKey(features[col].Name) {
			k, ok := sc.key()
			if !ok {
				return false
			}
			if col, ok = sc.b.Schema.index[string(k)]; !ok || !plain[col] {
				return false
			}
			next[prev+1] = col
		}
		if !sc.number(r, col) {
			return false
		}
		prev = col
		if sc.byte('}') {
			return true
		}
		if !sc.byte(',') {
			return false
		}
	}
}

func (sc *scanner[T]) array(r *RowWriter, w int) bool {
	sc.i++ // '['
	for col := 0; col < w; col++ {
		if col > 0 && !sc.byte(',') {
			return false
		}
		if !sc.number(r, col) {
			return false
		}
	}
	return sc.byte(']')
}

// number reads a JSON number into the row's column col.
func (sc *scanner[T]) number(r *RowWriter, col int) bool {
	sc.ws()
	start := sc.i
	v, end, ok := jsonNumber(sc.s, start)
	if !ok {
		return false
	}
	sc.i = end
	text := sc.s[start:end]
	cat := ""
	if sc.b.Schema.Features[col].Type == Categorical {
		cat = strings.Clone(string(text)) // its own memory, whatever body's (a number given for a category is rare)
	}
	if r.Number(col, v, cat) != nil {
		return false
	}
	if sc.keepText {
		sc.b.Text[r.off+col] = string(text) // T is string: no copy
	}
	return true
}

// jsonNumber reads the number -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
// at s[i:] and returns its value and end. Like ParseNumber it takes
// Clinger's fast path when it can (fastNumber) and strconv otherwise, but
// it checks JSON's grammar and computes the value in the same pass. ok is
// false when s[i:] is not a number or the number overflows.
func jsonNumber[T string | []byte](s T, i int) (v float64, end int, ok bool) {
	start := i
	neg := i < len(s) && s[i] == '-'
	if neg {
		i++
	}
	var mant uint64
	digits, exp := 0, 0 // significant digits; power of ten to apply
	intStart := i
	i, mant, digits = decimalRun(s, i, mant, digits)
	if i == intStart || (s[intStart] == '0' && i > intStart+1) {
		return 0, i, false // no digits, or a leading zero
	}
	if i < len(s) && s[i] == '.' {
		i++
		fracStart := i
		i, mant, digits = decimalRun(s, i, mant, digits)
		if i == fracStart {
			return 0, i, false
		}
		exp -= i - fracStart
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		eneg := i < len(s) && s[i] == '-'
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		e, before := 0, i
		for ; i < len(s) && s[i] >= '0' && s[i] <= '9'; i++ {
			if e < 10000 {
				e = e*10 + int(s[i]-'0')
			}
		}
		if i == before {
			return 0, i, false
		}
		if eneg {
			e = -e
		}
		exp += e
	}
	if digits <= 15 && exp >= -22 && exp <= 22 { // mant < 10^15 < 2^53
		return clinger(mant, exp, neg), i, true
	}
	v, err := strconv.ParseFloat(string(s[start:i]), 64)
	return v, i, err == nil // an error here is out of range
}

// decimalRun reads the digits at s[i:] into mant, counting significant
// ones (those from the first non-zero digit on; mant keeps the first 19).
func decimalRun[T string | []byte](s T, i int, mant uint64, digits int) (int, uint64, int) {
	for ; i < len(s) && s[i] >= '0' && s[i] <= '9'; i++ {
		if d := s[i] - '0'; mant != 0 || d != 0 {
			if digits < 19 {
				mant = mant*10 + uint64(d)
			}
			digits++
		}
	}
	return i, mant, digits
}

// plainName reports whether a feature name is written in JSON as it is
// (valid UTF-8, nothing to escape), so a raw member name can be compared
// with it byte for byte.
func plainName(name string) bool {
	for i := 0; i < len(name); i++ {
		if c := name[i]; c == '"' || c == '\\' || c < 0x20 {
			return false
		}
	}
	return utf8.ValidString(name)
}
