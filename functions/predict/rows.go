package predict

import (
	"bytes"
	"io"
	"net/http"
	"time"

	"github.com/go-json-experiment/json/jsontext"

	"github.com/modelfn/modelfn/runtime"
)

// predict serves POST /predict: {"instances": [row, ...]}.
func (h *Handler) predict(r *http.Request, s *scratch) (int, []byte, *runtime.InputError) {
	start := time.Now()
	body, rest := s.readBody(r)
	if rest != nil || !s.batch.ScanInstances(body, h.maxRows, h.log != nil && h.log.WantsText()) {
		// Not the plain shape, or not readable in one piece: the full
		// decoder reads the same bytes and names whatever is wrong.
		if rest == nil {
			rest = bytes.NewReader(body)
		}
		if e := h.readInstances(s, rest); e != nil {
			st, e := readErr(e, e.Cause)
			return st, nil, e
		}
	}
	if e := h.score(r.Context(), s, start); e != nil {
		return statusOf(e), nil, e
	}
	return http.StatusOK, h.appendPredictions(s), nil
}

// readInstances reads {"instances": [row, ...]} from body into s.batch
// with the full decoder, which accepts every valid form.
func (h *Handler) readInstances(s *scratch, body io.Reader) *runtime.InputError {
	b := s.batch
	b.Reset()
	s.dec = runtime.JSONDecoder(s.dec, body)
	dec := s.dec
	if tok, err := dec.ReadToken(); err != nil {
		return runtime.SyntaxError(-1, err)
	} else if tok.Kind() != '{' {
		return runtime.Errorf(-1, "", runtime.CodeMalformed, `the body must be a JSON object {"instances": [...]}`)
	}
	seen := false
	for dec.PeekKind() != '}' {
		key, err := dec.ReadToken()
		if err != nil {
			return runtime.SyntaxError(-1, err)
		}
		if k := key.String(); k != "instances" {
			return runtime.Errorf(-1, clip(k), "unknown_field", `unknown field; the body is {"instances": [...]}`)
		}
		if seen {
			return runtime.Errorf(-1, "instances", runtime.CodeMalformed, "given twice")
		}
		seen = true
		if dec.PeekKind() != '[' {
			if dec.PeekKind() == 0 {
				_, err := dec.ReadToken()
				return runtime.SyntaxError(-1, err)
			}
			return runtime.Errorf(-1, "instances", runtime.CodeWrongShape, "must be an array of rows")
		}
		dec.ReadToken()
		for dec.PeekKind() != ']' {
			if b.Rows == h.maxRows {
				return runtime.Errorf(-1, "instances", runtime.CodeTooManyRows, "more than %d rows (limits.max_rows); split the request or use batch scoring", h.maxRows)
			}
			if e := b.ReadJSONRow(dec, b.Rows, false); e != nil {
				return e
			}
		}
		if _, err := dec.ReadToken(); err != nil {
			return runtime.SyntaxError(-1, err)
		}
	}
	if _, err := dec.ReadToken(); err != nil {
		return runtime.SyntaxError(-1, err)
	}
	if _, err := dec.ReadToken(); err != io.EOF {
		return runtime.Errorf(-1, "", runtime.CodeMalformed, "data after the JSON object")
	}
	if !seen {
		return runtime.Errorf(-1, "instances", runtime.CodeMissingFeature, `required: {"instances": [row, ...]}`)
	}
	if b.Rows == 0 {
		return runtime.Errorf(-1, "instances", runtime.CodeWrongShape, "no rows")
	}
	return nil
}

// readBody reads a body of known length whole, for ScanInstances. When the
// length is unknown or the read fails, rest is the body as the full
// decoder must see it: what was read, then the rest of the stream (and its
// error).
func (s *scratch) readBody(r *http.Request) (body []byte, rest io.Reader) {
	if r.ContentLength <= 0 {
		return nil, r.Body
	}
	// Grown as bytes arrive, not to the declared length up front: a client
	// cannot make the server hold memory for bytes it has not sent.
	buf := bytes.NewBuffer(s.body[:0])
	_, err := buf.ReadFrom(r.Body)
	s.body = buf.Bytes()
	if err != nil {
		return nil, io.MultiReader(bytes.NewReader(s.body), r.Body)
	}
	return s.body, nil
}

// appendPredictions encodes {"model","version","predictions":[...]}.
func (h *Handler) appendPredictions(s *scratch) []byte {
	k := h.info.Outputs
	buf := append(s.buf[:0], `{"model":`...)
	buf = append(buf, h.quotedName...)
	buf = append(buf, `,"version":`...)
	buf = append(buf, h.quotedVersion...)
	buf = append(buf, `,"predictions":[`...)
	text := s.outText
	next := func() []byte { // the next value's text
		v, rest, _ := bytes.Cut(text, []byte{','})
		text = rest
		return v
	}
	for i := 0; i < s.batch.Rows; i++ {
		if i > 0 {
			buf = append(buf, ',')
		}
		out := s.out[i*k : (i+1)*k]
		buf = append(buf, `{"id":"`...)
		buf = append(buf, s.id(i)...)
		buf = append(buf, '"')
		if h.info.Task == runtime.Classification {
			buf = append(buf, `,"label":`...)
			buf = append(buf, h.quotedClasses[argmax(out)]...)
			buf = append(buf, `,"probabilities":{`...)
			for j, c := range h.quotedClasses {
				if j > 0 {
					buf = append(buf, ',')
				}
				buf = append(buf, c...)
				buf = append(buf, ':')
				buf = append(buf, next()...)
			}
			buf = append(buf, '}')
		} else {
			buf = append(buf, `,"value":`...)
			buf = append(buf, next()...)
		}
		buf = append(buf, '}')
	}
	buf = append(buf, "]}\n"...)
	s.buf = buf
	return buf
}

func appendQuoted(dst []byte, s string) []byte {
	out, err := jsontext.AppendQuote(dst, s)
	if err != nil {
		return append(dst, `"\ufffd"`...)
	}
	return out
}

func argmax(v []float64) int {
	best := 0
	for i := range v {
		if v[i] > v[best] {
			best = i
		}
	}
	return best
}
