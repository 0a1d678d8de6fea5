package runtime

import (
	"bytes"
	"errors"
	"io"

	"github.com/go-json-experiment/json/jsontext"
)

// JSONDecoder starts d (a new decoder when d is nil) reading r with the
// options rows are read with: the decoder's own tracking of duplicate
// member names is off, since it allocates per member and the RowWriter
// already refuses a feature given twice.
func JSONDecoder(d *jsontext.Decoder, r io.Reader) *jsontext.Decoder {
	if d == nil {
		return jsontext.NewDecoder(r, jsontext.AllowDuplicateNames(true))
	}
	d.Reset(r, jsontext.AllowDuplicateNames(true))
	return d
}

// ReadJSONRow reads one row from dec: an object of feature name to value, or
// an array of values in schema order. label is the row number errors report.
// A field that is not a feature is an error unless skipUnknown (batch files
// may carry ids and other columns through). On error the row is discarded
// and the decoder is left mid-value.
func (b *Batch) ReadJSONRow(dec *jsontext.Decoder, label int, skipUnknown bool) *InputError {
	r := b.Begin(label)
	var err *InputError
	switch dec.PeekKind() {
	case '{':
		err = r.readObject(dec, skipUnknown)
	case '[':
		err = r.readArray(dec)
	case 0:
		_, e := dec.ReadToken()
		err = SyntaxError(label, e)
	default:
		err = Errorf(label, "", CodeWrongShape, "a row must be an object of feature values or an array in schema order, got %s", kindName(dec.PeekKind()))
	}
	if err == nil {
		err = r.End()
	}
	if err != nil {
		r.Abort()
	}
	return err
}

func (r *RowWriter) readObject(dec *jsontext.Decoder, skipUnknown bool) *InputError {
	if _, err := dec.ReadToken(); err != nil {
		return SyntaxError(r.row, err)
	}
	var unq []byte
	for dec.PeekKind() != '}' {
		key, err := dec.ReadValue() // raw, so the lookup needs no allocation
		if err != nil {
			return SyntaxError(r.row, err)
		}
		name := key[1 : len(key)-1]
		if bytes.IndexByte(name, '\\') >= 0 {
			unq, _ = jsontext.AppendUnquote(unq[:0], key)
			name = unq
		}
		col, ok := r.b.Schema.index[string(name)]
		if !ok && skipUnknown {
			if err := dec.SkipValue(); err != nil {
				return SyntaxError(r.row, err)
			}
			continue
		}
		if !ok {
			return Errorf(r.row, clip(string(name)), CodeUnknownFeature, "not a feature of this model (features: %s)", featureList(r.b.Schema))
		}
		if e := r.readValue(dec, col); e != nil {
			return e
		}
	}
	if _, err := dec.ReadToken(); err != nil {
		return SyntaxError(r.row, err)
	}
	return nil
}

func (r *RowWriter) readArray(dec *jsontext.Decoder) *InputError {
	if _, err := dec.ReadToken(); err != nil {
		return SyntaxError(r.row, err)
	}
	w := r.b.Width()
	col := 0
	for dec.PeekKind() != ']' {
		if dec.PeekKind() == 0 {
			_, err := dec.ReadToken()
			return SyntaxError(r.row, err)
		}
		if col == w {
			return Errorf(r.row, "", CodeWrongShape, "row has more than the %d values the schema has", w)
		}
		if e := r.readValue(dec, col); e != nil {
			return e
		}
		col++
	}
	if _, err := dec.ReadToken(); err != nil {
		return SyntaxError(r.row, err)
	}
	if col != w {
		return Errorf(r.row, r.field(col), CodeWrongShape, "row has %d values, the schema has %d", col, w)
	}
	return nil
}

func (r *RowWriter) readValue(dec *jsontext.Decoder, col int) *InputError {
	switch k := dec.PeekKind(); k {
	case '0':
		raw, err := dec.ReadValue() // raw bytes: parsed without an allocation
		if err != nil {
			return SyntaxError(r.row, err)
		}
		v, err := parseNumberBytes(raw)
		if err != nil {
			r.b.set[col] = true
			return Errorf(r.row, r.field(col), CodeNonFinite, "%s overflows a 64-bit float", clip(string(raw)))
		}
		text := ""
		if r.b.Schema.Features[col].Type == Categorical {
			text = string(raw)
		}
		return r.Number(col, v, text)
	case '"':
		tok, err := dec.ReadToken()
		if err != nil {
			return SyntaxError(r.row, err)
		}
		return r.String(col, tok.String(), true)
	case 'n':
		if _, err := dec.ReadToken(); err != nil {
			return SyntaxError(r.row, err)
		}
		return r.Missing(col)
	case 't', 'f':
		if _, err := dec.ReadToken(); err != nil {
			return SyntaxError(r.row, err)
		}
		if r.b.Schema.Features[col].Type != Categorical {
			return r.Invalid(col, "boolean")
		}
		if k == 't' {
			return r.String(col, "true", true)
		}
		return r.String(col, "false", true)
	case '{', '[':
		return r.Invalid(col, kindName(k))
	default:
		_, err := dec.ReadToken()
		return SyntaxError(r.row, err)
	}
}

// SyntaxError turns a JSON reading error into an InputError.
func SyntaxError(row int, err error) *InputError {
	var e *InputError
	var se *jsontext.SyntacticError
	switch {
	case err == nil || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF):
		e = Errorf(row, "", CodeMalformed, "unexpected end of JSON")
	case errors.As(err, &se):
		e = Errorf(row, "", CodeMalformed, "invalid JSON at byte %d: %v", se.ByteOffset, se.Err)
	default:
		e = Errorf(row, "", CodeMalformed, "invalid JSON: %v", err)
	}
	e.Cause = err
	return e
}

func kindName(k jsontext.Kind) string {
	switch k {
	case '{':
		return "object"
	case '[':
		return "array"
	case '"':
		return "string"
	case '0':
		return "number"
	case 'n':
		return "null"
	case 't', 'f':
		return "boolean"
	}
	return "end of input"
}

func featureList(s *Schema) string {
	names := s.Names()
	if len(names) > 8 {
		return quoteJoin(names[:8]) + ", …"
	}
	return quoteJoin(names)
}

func quoteJoin(names []string) string {
	var b bytes.Buffer
	for i, n := range names {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(`"` + n + `"`)
	}
	return b.String()
}
