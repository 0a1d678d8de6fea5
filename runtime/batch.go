package runtime

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Batch holds validated rows in schema order, ready for a model.
//
// X is row-major, Rows x Width. A missing value is NaN. A categorical
// feature's X value is its category's position in the schema (NaN when the
// category is unseen or missing) and its raw text is in S, which is only
// allocated for schemas with categorical features.
//
// Rows are filled through a RowWriter, which checks every value against the
// schema; the first error names the row and field.
type Batch struct {
	Schema *Schema
	Rows   int
	X      []float64
	S      []string
	// Text is each cell's number as the client wrote it, when ScanInstances
	// read the batch (nil otherwise): the prediction log copies it instead
	// of formatting the float again. It is always a number in JSON's
	// grammar, which the scanner checked, or "" for a cell left out. Its
	// strings share the request body's memory: read them before the body
	// is reused, and copy what is kept.
	Text []string

	text []string // Text's memory, kept across Reset
	next []int    // ScanInstances' guess at the column order
	set  []bool   // which cells of the row being written were given
}

// NewBatch makes an empty batch with room for capacity rows.
func NewBatch(s *Schema, capacity int) *Batch {
	b := &Batch{Schema: s, set: make([]bool, s.Width())}
	b.X = make([]float64, 0, capacity*s.Width())
	if s.HasCategorical() {
		b.S = make([]string, 0, capacity*s.Width())
	}
	return b
}

// Width is the number of features per row.
func (b *Batch) Width() int { return b.Schema.Width() }

// Row returns row i's values.
func (b *Batch) Row(i int) []float64 { w := b.Width(); return b.X[i*w : (i+1)*w] }

// Reset empties the batch, keeping its memory.
func (b *Batch) Reset() {
	b.Rows = 0
	b.X = b.X[:0]
	b.Text = nil
	if b.S != nil {
		b.S = b.S[:0]
	}
}

// Truncate drops rows from n on (used to discard a row that failed).
func (b *Batch) Truncate(n int) {
	w := b.Width()
	b.Rows = n
	b.X = b.X[:n*w]
	if b.S != nil {
		b.S = b.S[:n*w]
	}
	if b.Text != nil {
		b.Text = b.Text[:n*w]
	}
}

// InputError is a value that does not fit the schema, or a request that
// cannot be read. Row is the 0-based row (or, for files, the 1-based line)
// and is -1 when the error is not about one row; Field is "" when it is not
// about one feature.
type InputError struct {
	Row   int    `json:"row"`
	Field string `json:"field,omitempty"`
	Code  string `json:"code"`
	Msg   string `json:"message"`
	// Cause is the reading error behind a malformed input, if any (for
	// example *http.MaxBytesError when a body was cut at its limit).
	Cause error `json:"-"`
}

// Unwrap exposes the cause.
func (e *InputError) Unwrap() error { return e.Cause }

// Error codes, stable for clients.
const (
	CodeMalformed      = "malformed"       // not valid JSON/CSV
	CodeInvalidType    = "invalid_type"    // a string where a number belongs, ...
	CodeMissingFeature = "missing_feature" // a feature the row does not give
	CodeUnknownFeature = "unknown_feature" // a field the schema does not know
	CodeNotNullable    = "not_nullable"    // a missing value where none is allowed
	CodeNonFinite      = "non_finite"      // NaN/±Inf given as a value, or overflow
	CodeOutOfRange     = "out_of_range"    // strict schemas only
	CodeUnseenCategory = "unseen_category" // strict schemas only
	CodeTooManyRows    = "too_many_rows"
	CodeTooLarge       = "body_too_large"
	CodeWrongShape     = "wrong_shape" // a row array of the wrong length, a bad tensor shape
)

func (e *InputError) Error() string {
	var sb strings.Builder
	if e.Row >= 0 {
		fmt.Fprintf(&sb, "row %d", e.Row)
	}
	if e.Field != "" {
		if sb.Len() > 0 {
			sb.WriteString(", ")
		}
		fmt.Fprintf(&sb, "field %q", e.Field)
	}
	if sb.Len() > 0 {
		sb.WriteString(": ")
	}
	sb.WriteString(e.Msg)
	return sb.String()
}

// Errorf builds an InputError.
func Errorf(row int, field, code, format string, args ...any) *InputError {
	return &InputError{Row: row, Field: field, Code: code, Msg: fmt.Sprintf(format, args...)}
}

// RowWriter fills one row of a batch. Call Begin, then set each feature
// once, then End; on any error, Abort discards the row.
type RowWriter struct {
	b   *Batch
	row int // number reported in errors
	off int // offset of the row in X
	// asJSON says every number String was given is in JSON's grammar as
	// written (or empty), so the row's text can be logged as it is.
	asJSON bool
}

// Begin starts a new row; label is the row number errors report.
func (b *Batch) Begin(label int) RowWriter {
	w := b.Width()
	off := len(b.X)
	for i := 0; i < w; i++ {
		b.X = append(b.X, NaN)
		b.set[i] = false
	}
	if b.S != nil {
		for i := 0; i < w; i++ {
			b.S = append(b.S, "")
		}
	}
	return RowWriter{b: b, row: label, off: off, asJSON: true}
}

func (r *RowWriter) field(col int) string { return r.b.Schema.Features[col].Name }

func (r *RowWriter) mark(col int) *InputError {
	if r.b.set[col] {
		return Errorf(r.row, r.field(col), CodeMalformed, "given twice")
	}
	r.b.set[col] = true
	return nil
}

// Number sets a numeric value. For a categorical feature the number's text
// is the category (a reference column of integer codes reads as categories).
func (r *RowWriter) Number(col int, v float64, text string) *InputError {
	if err := r.mark(col); err != nil {
		return err
	}
	f := &r.b.Schema.Features[col]
	if f.Type == Categorical {
		if text == "" {
			text = strconv.FormatFloat(v, 'g', -1, 64)
		}
		return r.category(col, text)
	}
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return Errorf(r.row, f.Name, CodeNonFinite, "%v is not a finite number; send null for a missing value", v)
	}
	if r.b.Schema.Strict && !f.inRange(v) {
		return Errorf(r.row, f.Name, CodeOutOfRange, "%v is outside the reference range [%v, %v]", v, deref(f.Min), deref(f.Max))
	}
	r.b.X[r.off+col] = v
	return nil
}

// String sets a value given as text: a category, or for a numeric feature a
// number written as text (CSV). From JSON, a string for a numeric feature is
// a type error; in CSV, text is all there is. A number in JSON's grammar,
// the common case, is checked and read in one pass; strconv reads the rest
// ("+1", ".5", " 1", "1e400", "NaN").
func (r *RowWriter) String(col int, s string, fromJSON bool) *InputError {
	f := &r.b.Schema.Features[col]
	if f.Type == Categorical {
		if s == "" && !fromJSON {
			return r.Missing(col)
		}
		if err := r.mark(col); err != nil {
			return err
		}
		return r.category(col, s)
	}
	if fromJSON {
		r.b.set[col] = true
		return Errorf(r.row, f.Name, CodeInvalidType, "expected a number, got string %q", clip(s))
	}
	if v, end, ok := jsonNumber(s, 0); ok && end == len(s) {
		return r.Number(col, v, "")
	}
	r.asJSON = r.asJSON && s == ""
	v, err := ParseNumber(s)
	if err != nil && strings.TrimSpace(s) != s {
		v, err = ParseNumber(strings.TrimSpace(s))
	}
	if err != nil {
		if s == "" || isNaNText(s) {
			return r.Missing(col)
		}
		r.b.set[col] = true
		if ne, ok := err.(*strconv.NumError); ok && ne.Err == strconv.ErrRange {
			return Errorf(r.row, f.Name, CodeNonFinite, "%q overflows a 64-bit float", clip(s))
		}
		return Errorf(r.row, f.Name, CodeInvalidType, "expected a number, got %q", clip(s))
	}
	if v != v { // "NaN" in a CSV is a missing value
		return r.Missing(col)
	}
	return r.Number(col, v, "")
}

// Missing marks a value as missing (JSON null, an empty CSV field).
func (r *RowWriter) Missing(col int) *InputError {
	if err := r.mark(col); err != nil {
		return err
	}
	f := &r.b.Schema.Features[col]
	if !f.Nullable {
		return Errorf(r.row, f.Name, CodeNotNullable, "missing value not allowed (the reference data had none; set nullable: true in modelfn.yaml to accept it)")
	}
	return nil
}

// Invalid reports a value of a JSON type no feature accepts (object, array,
// bool for a numeric feature).
func (r *RowWriter) Invalid(col int, jsonType string) *InputError {
	r.b.set[col] = true
	want := "a number"
	if r.b.Schema.Features[col].Type == Categorical {
		want = "a string"
	}
	return Errorf(r.row, r.field(col), CodeInvalidType, "expected %s, got %s", want, jsonType)
}

func (r *RowWriter) category(col int, s string) *InputError {
	f := &r.b.Schema.Features[col]
	code := r.b.Schema.categoryCode(col, s)
	if code < 0 && r.b.Schema.Strict {
		return Errorf(r.row, f.Name, CodeUnseenCategory, "category %q was not in the reference data", clip(s))
	}
	if code >= 0 {
		r.b.X[r.off+col] = float64(code)
	}
	r.b.S[r.off+col] = s
	return nil
}

// End checks that every feature was given and commits the row.
func (r *RowWriter) End() *InputError {
	for col, ok := range r.b.set {
		if !ok {
			return Errorf(r.row, r.field(col), CodeMissingFeature, "feature missing from the row")
		}
	}
	r.b.Rows++
	return nil
}

// Abort discards the row.
func (r *RowWriter) Abort() { r.b.Truncate(r.b.Rows) }

func isNaNText(s string) bool {
	s = strings.TrimSpace(s)
	return strings.EqualFold(s, "nan") || strings.EqualFold(s, "na") || strings.EqualFold(s, "null")
}

func deref(p *float64) any {
	if p == nil {
		return "∞"
	}
	return *p
}

// clip keeps error messages short when a client sends a huge string, and
// valid UTF-8 whatever the client sent.
func clip(s string) string {
	if len(s) > 64 {
		s = s[:64] + "…"
	}
	return strings.ToValidUTF8(s, "\uFFFD")
}
