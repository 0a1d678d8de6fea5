package predict

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/go-json-experiment/json/jsontext"

	"github.com/modelfn/modelfn/runtime"
)

// Open Inference Protocol: an inference request carries tensors, either
// one [N, features] tensor in schema order, or one [N] (or [N, 1]) tensor
// per feature named after it. Numeric tensors feed numeric features; a
// BYTES tensor's strings feed categorical features (and numeric ones, read
// as numbers, as in a CSV).

type oipRequest struct {
	id     string
	inputs []oipInput
}

type oipInput struct {
	name     string
	datatype string
	shape    []int64
	nums     []float64
	strs     []string
	present  []bool // false where the element was null
}

func (in *oipInput) reset() {
	*in = oipInput{shape: in.shape[:0], nums: in.nums[:0], strs: in.strs[:0], present: in.present[:0]}
}

var numericTypes = map[string]bool{"BOOL": true, "UINT8": true, "UINT16": true, "UINT32": true, "UINT64": true,
	"INT8": true, "INT16": true, "INT32": true, "INT64": true, "FP16": true, "FP32": true, "FP64": true}

// infer serves POST /v2/models/{name}/infer.
func (h *Handler) infer(r *http.Request, s *scratch) (int, []byte, *runtime.InputError) {
	start := time.Now()
	fail := func(e *runtime.InputError) (int, []byte, *runtime.InputError) {
		st, e := readErr(e, e.Cause)
		return st, nil, e
	}
	req := &s.oip
	if e := h.readOIP(s, r.Body, req); e != nil {
		return fail(e)
	}
	b := s.batch
	b.Reset()
	if e := h.oipRows(req, b); e != nil {
		return fail(e)
	}
	if e := h.score(r.Context(), s, start); e != nil {
		return fail(e)
	}
	return http.StatusOK, h.appendOIPResponse(s, req.id), nil
}

// readOIP decodes the request, bounding the number of elements by the row
// limit so a huge tensor is refused as it streams in.
func (h *Handler) readOIP(s *scratch, body io.Reader, req *oipRequest) *runtime.InputError {
	s.dec = runtime.JSONDecoder(s.dec, body)
	dec := s.dec
	req.id = ""
	req.inputs = req.inputs[:0]
	limit := h.maxRows * h.schema.Width()
	total := 0
	if tok, err := dec.ReadToken(); err != nil {
		return runtime.SyntaxError(-1, err)
	} else if tok.Kind() != '{' {
		return runtime.Errorf(-1, "", runtime.CodeMalformed, `the body must be a JSON object {"inputs": [...]}`)
	}
	for dec.PeekKind() != '}' {
		key, err := dec.ReadToken()
		if err != nil {
			return runtime.SyntaxError(-1, err)
		}
		switch key.String() {
		case "id":
			tok, err := dec.ReadToken()
			if err != nil {
				return runtime.SyntaxError(-1, err)
			}
			if tok.Kind() != '"' {
				return runtime.Errorf(-1, "id", runtime.CodeInvalidType, "must be a string")
			}
			req.id = clip(tok.String())
		case "inputs":
			if dec.PeekKind() != '[' {
				if dec.PeekKind() == 0 { // not JSON, or the body cut at its limit
					_, err := dec.ReadToken()
					return runtime.SyntaxError(-1, err)
				}
				return runtime.Errorf(-1, "inputs", runtime.CodeWrongShape, "must be an array of tensors")
			}
			dec.ReadToken()
			for dec.PeekKind() != ']' {
				if len(req.inputs) == h.schema.Width() {
					return runtime.Errorf(-1, "inputs", runtime.CodeWrongShape, "more tensors than the model's %d features", h.schema.Width())
				}
				if len(req.inputs) < cap(req.inputs) {
					req.inputs = req.inputs[:len(req.inputs)+1]
				} else {
					req.inputs = append(req.inputs, oipInput{})
				}
				in := &req.inputs[len(req.inputs)-1]
				in.reset()
				if e := readTensor(dec, in, limit-total); e != nil {
					return e
				}
				total += len(in.present)
			}
			dec.ReadToken()
		default: // parameters, outputs and extensions: every output is always returned
			if err := dec.SkipValue(); err != nil {
				return runtime.SyntaxError(-1, err)
			}
		}
	}
	if _, err := dec.ReadToken(); err != nil {
		return runtime.SyntaxError(-1, err)
	}
	if _, err := dec.ReadToken(); err != io.EOF {
		return runtime.Errorf(-1, "", runtime.CodeMalformed, "data after the JSON object")
	}
	if len(req.inputs) == 0 {
		return runtime.Errorf(-1, "inputs", runtime.CodeMissingFeature, `required: {"inputs": [{"name", "shape", "datatype", "data"}]}`)
	}
	return nil
}

func readTensor(dec *jsontext.Decoder, in *oipInput, limit int) *runtime.InputError {
	if dec.PeekKind() != '{' {
		return runtime.Errorf(-1, "inputs", runtime.CodeWrongShape, "each input must be an object")
	}
	dec.ReadToken()
	haveData := false
	for dec.PeekKind() != '}' {
		key, err := dec.ReadToken()
		if err != nil {
			return runtime.SyntaxError(-1, err)
		}
		switch k := key.String(); k {
		case "name", "datatype":
			tok, err := dec.ReadToken()
			if err != nil {
				return runtime.SyntaxError(-1, err)
			}
			if tok.Kind() != '"' {
				return runtime.Errorf(-1, k, runtime.CodeInvalidType, "must be a string")
			}
			if k == "name" {
				in.name = tok.String()
			} else {
				in.datatype = tok.String()
			}
		case "shape":
			if dec.PeekKind() != '[' {
				return runtime.Errorf(-1, "shape", runtime.CodeInvalidType, "must be an array of integers")
			}
			dec.ReadToken()
			for dec.PeekKind() != ']' {
				tok, err := dec.ReadToken()
				if err != nil {
					return runtime.SyntaxError(-1, err)
				}
				if tok.Kind() != '0' || len(in.shape) == 8 {
					return runtime.Errorf(-1, "shape", runtime.CodeInvalidType, "must be an array of up to 8 integers")
				}
				d, err := tok.Int()
				if err != nil || d < 0 {
					return runtime.Errorf(-1, "shape", runtime.CodeInvalidType, "%s is not a dimension", clip(tok.String()))
				}
				in.shape = append(in.shape, d)
			}
			dec.ReadToken()
		case "data":
			if e := readData(dec, in, limit, 0); e != nil {
				return e
			}
			haveData = true
		default:
			if err := dec.SkipValue(); err != nil {
				return runtime.SyntaxError(-1, err)
			}
		}
	}
	dec.ReadToken()
	switch {
	case in.name == "":
		return runtime.Errorf(-1, "inputs", runtime.CodeMissingFeature, "an input has no name")
	case !haveData:
		return runtime.Errorf(-1, in.name, runtime.CodeMissingFeature, "input has no data")
	case in.datatype != "BYTES" && !numericTypes[in.datatype]:
		return runtime.Errorf(-1, in.name, runtime.CodeInvalidType, "datatype %q is not an Open Inference Protocol type", clip(in.datatype))
	}
	n := int64(1)
	for _, d := range in.shape {
		n *= d
		if n > int64(limit)+1 {
			break
		}
	}
	if len(in.shape) == 0 || n != int64(len(in.present)) {
		return runtime.Errorf(-1, in.name, runtime.CodeWrongShape, "shape %v does not hold the %d data elements", in.shape, len(in.present))
	}
	return nil
}

// readData flattens data, nested or not, row-major.
func readData(dec *jsontext.Decoder, in *oipInput, limit, depth int) *runtime.InputError {
	if dec.PeekKind() != '[' {
		return runtime.Errorf(-1, in.name, runtime.CodeWrongShape, "data must be an array")
	}
	if depth == 8 {
		return runtime.Errorf(-1, in.name, runtime.CodeWrongShape, "data nested deeper than 8")
	}
	dec.ReadToken()
	for dec.PeekKind() != ']' {
		if len(in.present) >= limit {
			return runtime.Errorf(-1, in.name, runtime.CodeTooManyRows, "more elements than the row limit allows (limits.max_rows)")
		}
		if dec.PeekKind() == '[' {
			if e := readData(dec, in, limit, depth+1); e != nil {
				return e
			}
			continue
		}
		// Read before its kind is trusted: a kind is peeked from the first
		// byte alone, and "0.A" peeks as a number.
		tok, err := dec.ReadToken()
		if err != nil {
			return runtime.SyntaxError(-1, err)
		}
		switch tok.Kind() {
		case '0':
			v, err := tok.Float()
			if err != nil {
				return runtime.Errorf(len(in.present), in.name, runtime.CodeNonFinite, "%s overflows a 64-bit float", clip(tok.String()))
			}
			in.nums = append(in.nums, v)
			in.strs = append(in.strs, "")
			in.present = append(in.present, true)
		case '"':
			in.nums = append(in.nums, 0)
			in.strs = append(in.strs, tok.String())
			in.present = append(in.present, true)
		case 't', 'f':
			v := 0.0
			if tok.Bool() {
				v = 1
			}
			in.nums = append(in.nums, v)
			in.strs = append(in.strs, tok.String())
			in.present = append(in.present, true)
		case 'n':
			in.nums = append(in.nums, 0)
			in.strs = append(in.strs, "")
			in.present = append(in.present, false)
		default:
			return runtime.Errorf(len(in.present), in.name, runtime.CodeInvalidType, "data elements must be numbers, strings, booleans or null")
		}
	}
	dec.ReadToken()
	return nil
}

// oipRows turns the tensors into batch rows.
func (h *Handler) oipRows(req *oipRequest, b *runtime.Batch) *runtime.InputError {
	w := h.schema.Width()
	if len(req.inputs) == 1 {
		if _, isFeature := h.schema.Index(req.inputs[0].name); !isFeature || w == 1 {
			in := &req.inputs[0]
			sh := in.shape
			if len(sh) == 1 && sh[0] == int64(w) {
				sh = []int64{1, int64(w)}
			}
			if len(sh) != 2 || sh[1] != int64(w) {
				return runtime.Errorf(-1, in.name, runtime.CodeWrongShape, "a single input must have shape [rows, %d] (the features in schema order), got %v", w, in.shape)
			}
			return h.fill(b, int(sh[0]), func(row, col int) *oipInput { return in }, func(row, col int) int { return row*w + col })
		}
	}
	// One tensor per feature.
	byCol := make([]*oipInput, w)
	rows := -1
	for i := range req.inputs {
		in := &req.inputs[i]
		col, ok := h.schema.Index(in.name)
		if !ok {
			return runtime.Errorf(-1, clip(in.name), runtime.CodeUnknownFeature, "no feature of that name; send one tensor per feature, or one [rows, %d] tensor", w)
		}
		if byCol[col] != nil {
			return runtime.Errorf(-1, in.name, runtime.CodeMalformed, "input given twice")
		}
		if len(in.shape) > 2 || (len(in.shape) == 2 && in.shape[1] != 1) {
			return runtime.Errorf(-1, in.name, runtime.CodeWrongShape, "a per-feature input must have shape [rows] or [rows, 1], got %v", in.shape)
		}
		if rows >= 0 && int(in.shape[0]) != rows {
			return runtime.Errorf(-1, in.name, runtime.CodeWrongShape, "has %d rows, other inputs have %d", in.shape[0], rows)
		}
		rows = int(in.shape[0])
		byCol[col] = in
	}
	for col, in := range byCol {
		if in == nil {
			return runtime.Errorf(-1, h.schema.Features[col].Name, runtime.CodeMissingFeature, "no input for this feature")
		}
	}
	return h.fill(b, rows, func(row, col int) *oipInput { return byCol[col] }, func(row, col int) int { return row })
}

func (h *Handler) fill(b *runtime.Batch, rows int, tensor func(row, col int) *oipInput, at func(row, col int) int) *runtime.InputError {
	if rows == 0 {
		return runtime.Errorf(-1, "inputs", runtime.CodeWrongShape, "no rows")
	}
	if rows > h.maxRows {
		return runtime.Errorf(-1, "inputs", runtime.CodeTooManyRows, "%d rows, more than %d (limits.max_rows)", rows, h.maxRows)
	}
	for row := 0; row < rows; row++ {
		rw := b.Begin(row)
		for col := 0; col < h.schema.Width(); col++ {
			in, i := tensor(row, col), at(row, col)
			var e *runtime.InputError
			switch {
			case !in.present[i]:
				e = rw.Missing(col)
			case in.datatype == "BYTES":
				e = rw.String(col, in.strs[i], h.schema.Features[col].Type == runtime.Categorical)
			case h.schema.Features[col].Type == runtime.Categorical:
				e = rw.Number(col, in.nums[i], in.strs[i])
			default:
				e = rw.Number(col, in.nums[i], "")
			}
			if e != nil {
				rw.Abort()
				return e
			}
		}
		if e := rw.End(); e != nil {
			rw.Abort()
			return e
		}
	}
	return nil
}

// appendOIPResponse encodes the inference response.
func (h *Handler) appendOIPResponse(s *scratch, id string) []byte {
	n, k := s.batch.Rows, h.info.Outputs
	buf := append(s.buf[:0], `{"model_name":`...)
	buf = append(buf, h.quotedName...)
	buf = append(buf, `,"model_version":`...)
	buf = append(buf, h.quotedVersion...)
	if id != "" {
		buf = append(buf, `,"id":`...)
		buf = appendQuoted(buf, id)
	}
	buf = append(buf, `,"parameters":{"prediction_ids":[`...)
	for i := range n {
		if i > 0 {
			buf = append(buf, ',')
		}
		buf = append(buf, '"')
		buf = append(buf, s.id(i)...)
		buf = append(buf, '"')
	}
	buf = append(buf, `]},"outputs":[`...)
	if h.info.Task == runtime.Classification {
		buf = append(buf, `{"name":"label","datatype":"BYTES","shape":[`...)
		buf = strconv.AppendInt(buf, int64(n), 10)
		buf = append(buf, `],"data":[`...)
		for i := 0; i < n; i++ {
			if i > 0 {
				buf = append(buf, ',')
			}
			buf = append(buf, h.quotedClasses[argmax(s.out[i*k:(i+1)*k])]...)
		}
		buf = append(buf, `]},{"name":"probabilities","datatype":"FP64","shape":[`...)
		buf = fmt.Appendf(buf, "%d,%d", n, k)
		buf = append(buf, `],"parameters":{"classes":[`...)
		for j, c := range h.quotedClasses {
			if j > 0 {
				buf = append(buf, ',')
			}
			buf = append(buf, c...)
		}
		buf = append(buf, `]},"data":[`...)
	} else {
		buf = append(buf, `{"name":"value","datatype":"FP64","shape":[`...)
		buf = strconv.AppendInt(buf, int64(n), 10)
		buf = append(buf, `],"data":[`...)
	}
	buf = append(buf, bytes.TrimSuffix(s.outText, []byte{','})...)
	buf = append(buf, "]}]}\n"...)
	s.buf = buf
	return buf
}

// metadata is the model metadata document.
func (h *Handler) metadata() []byte {
	buf := []byte(`{"name":`)
	buf = appendQuoted(buf, h.name)
	buf = append(buf, `,"versions":[`...)
	buf = appendQuoted(buf, h.version)
	buf = append(buf, `],"platform":`...)
	buf = appendQuoted(buf, "modelfn/"+h.info.Format)
	buf = append(buf, `,"inputs":[`...)
	for i, f := range h.schema.Features {
		if i > 0 {
			buf = append(buf, ',')
		}
		dt := "FP64"
		if f.Type == runtime.Categorical {
			dt = "BYTES"
		}
		buf = append(buf, `{"name":`...)
		buf = appendQuoted(buf, f.Name)
		buf = fmt.Appendf(buf, `,"datatype":%q,"shape":[-1]}`, dt)
	}
	buf = append(buf, `],"outputs":[`...)
	if h.info.Task == runtime.Classification {
		buf = fmt.Appendf(buf, `{"name":"label","datatype":"BYTES","shape":[-1]},{"name":"probabilities","datatype":"FP64","shape":[-1,%d]}`, h.info.Outputs)
	} else {
		buf = append(buf, `{"name":"value","datatype":"FP64","shape":[-1]}`...)
	}
	buf = append(buf, `],"parameters":{"task":`...)
	buf = appendQuoted(buf, string(h.info.Task))
	if len(h.info.Classes) > 0 {
		buf = append(buf, `,"classes":[`...)
		for i, c := range h.info.Classes {
			if i > 0 {
				buf = append(buf, ',')
			}
			buf = appendQuoted(buf, c)
		}
		buf = append(buf, ']')
	}
	return append(buf, "}}\n"...)
}
