package batch

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/go-json-experiment/json/jsontext"

	"github.com/modelfn/modelfn/functions/predlog"
	"github.com/modelfn/modelfn/runtime"
)

// maxLine bounds one JSON line, so a file without newlines cannot make the
// reader buffer it whole.
const maxLine = 8 << 20

// run is one object being scored: a chunk of rows at a time.
type run struct {
	s    *Scorer
	ctx  context.Context
	res  *Result
	out  *bufio.Writer
	seed string
	when time.Time

	openErrors func() (io.Writer, error)
	errBuf     *bufio.Writer

	batch *runtime.Batch
	outv  []float64
	// The chunk's rows as they will be echoed: arena[ends[i-1]:ends[i]].
	arena []byte
	ends  []int
	lines []int
	ids   []string

	logBuf  []byte
	logN    int
	logPart int
	rec     predlog.Record
	line    []byte
}

func (r *run) init() {
	if r.batch == nil {
		r.batch = runtime.NewBatch(r.s.Schema, r.s.ChunkRows)
	}
}

// csv streams a CSV object.
func (r *run) csv(in io.Reader) error {
	r.init()
	rows, err := runtime.NewCSVRows(in, r.s.Schema)
	if err != nil {
		var ie *runtime.InputError
		if errors.As(err, &ie) {
			return fmt.Errorf("line %d: %s", max(ie.Row, 1), ie.Msg)
		}
		return err
	}
	k := r.s.Model.Info()
	extra := []string{"prediction_id", "prediction"}
	if k.Task == runtime.Classification {
		for _, c := range k.Classes {
			extra = append(extra, "probability_"+c)
		}
	}
	for _, name := range extra {
		if rows.Column(name) >= 0 {
			return fmt.Errorf("line 1: the input already has a column %q, which the output adds", name)
		}
	}
	var hdr []byte
	for i, h := range append(append([]string(nil), rows.Header...), extra...) {
		if i > 0 {
			hdr = append(hdr, ',')
		}
		hdr = appendCSVField(hdr, h)
	}
	r.out.Write(append(hdr, '\n'))
	for {
		err := rows.Next()
		if err == io.EOF {
			break
		}
		r.res.Rows++
		if err != nil {
			var ie *runtime.InputError
			if !errors.As(err, &ie) {
				return err // the store failed, not the row
			}
			if err := r.reject(ie); err != nil {
				return err
			}
			continue
		}
		if ie := rows.Fill(r.batch); ie != nil {
			if err := r.reject(ie); err != nil {
				return err
			}
			continue
		}
		for i, f := range rows.Record {
			if i > 0 {
				r.arena = append(r.arena, ',')
			}
			r.arena = appendCSVField(r.arena, f)
		}
		r.ends = append(r.ends, len(r.arena))
		r.lines = append(r.lines, rows.Line)
		if r.batch.Rows == r.s.ChunkRows {
			if err := r.flushChunk(false); err != nil {
				return err
			}
		}
	}
	return r.flushChunk(false)
}

// jsonl streams a JSON Lines object: one object per line.
func (r *run) jsonl(in io.Reader) error {
	r.init()
	br := bufio.NewReaderSize(in, 64<<10)
	var dec *jsontext.Decoder
	for lineNo := 1; ; lineNo++ {
		line, err := r.readLine(br)
		if err == io.EOF && len(line) == 0 {
			break
		}
		if err != nil && err != io.EOF && err != errLineTooLong {
			return err
		}
		if err == errLineTooLong {
			r.res.Rows++
			if err := r.reject(runtime.Errorf(lineNo, "", runtime.CodeTooLarge, "line longer than %d bytes", maxLine)); err != nil {
				return err
			}
			continue
		}
		line = bytes.TrimSpace(line)
		if len(line) == 0 {
			continue
		}
		r.res.Rows++
		if line[0] != '{' {
			if err := r.reject(runtime.Errorf(lineNo, "", runtime.CodeWrongShape, "each line must be a JSON object of feature values")); err != nil {
				return err
			}
			continue
		}
		dec = runtime.JSONDecoder(dec, bytes.NewReader(line))
		ie := r.batch.ReadJSONRow(dec, lineNo, true)
		if ie == nil {
			if _, err := dec.ReadToken(); err != io.EOF {
				r.batch.Truncate(r.batch.Rows - 1)
				ie = runtime.Errorf(lineNo, "", runtime.CodeMalformed, "data after the JSON object")
			}
		}
		if ie != nil {
			if err := r.reject(ie); err != nil {
				return err
			}
			continue
		}
		// Echo the object without its closing brace; the predictions are
		// appended as more members.
		r.arena = append(r.arena, line[:len(line)-1]...)
		r.ends = append(r.ends, len(r.arena))
		r.lines = append(r.lines, lineNo)
		if r.batch.Rows == r.s.ChunkRows {
			if err := r.flushChunk(true); err != nil {
				return err
			}
		}
	}
	return r.flushChunk(true)
}

var errLineTooLong = errors.New("line too long")

// readLine returns the next line; a line over maxLine is skipped whole.
func (r *run) readLine(br *bufio.Reader) ([]byte, error) {
	r.line = r.line[:0]
	for {
		frag, err := br.ReadSlice('\n')
		if len(r.line)+len(frag) > maxLine {
			for err == bufio.ErrBufferFull {
				_, err = br.ReadSlice('\n')
			}
			if err != nil && err != io.EOF {
				return nil, err
			}
			return nil, errLineTooLong
		}
		r.line = append(r.line, frag...)
		if err == bufio.ErrBufferFull {
			continue
		}
		return r.line, err
	}
}

// flushChunk scores the chunk's rows and writes them out.
func (r *run) flushChunk(jsonOut bool) error {
	n := r.batch.Rows
	if n == 0 {
		return nil
	}
	info := r.s.Model.Info()
	k := info.Outputs
	if cap(r.outv) < n*k {
		r.outv = make([]float64, n*k)
	}
	r.outv = r.outv[:n*k]
	start := time.Now()
	if err := r.s.Model.Predict(r.ctx, r.batch, r.outv); err != nil {
		return fmt.Errorf("model: %w", err)
	}
	latency := time.Since(start) / time.Duration(n)
	r.ids = r.ids[:0]
	for i := 0; i < n; i++ {
		r.ids = append(r.ids, predlog.StableID(r.when, r.seed+"#"+strconv.Itoa(r.lines[i])))
	}
	var buf []byte
	begin := 0
	for i := 0; i < n; i++ {
		buf = append(buf[:0], r.arena[begin:r.ends[i]]...)
		begin = r.ends[i]
		out := r.outv[i*k : (i+1)*k]
		if jsonOut {
			buf = appendJSONPrediction(buf, r.ids[i], info, out)
		} else {
			buf = appendCSVPrediction(buf, r.ids[i], info, out)
		}
		if _, err := r.out.Write(buf); err != nil {
			return err
		}
	}
	r.res.Scored += int64(n)
	if r.s.LogBucket != nil {
		if err := r.log(latency); err != nil {
			return err
		}
	}
	r.batch.Reset()
	r.arena, r.ends, r.lines = r.arena[:0], r.ends[:0], r.lines[:0]
	if r.s.Progress != nil {
		r.s.Progress(r.res.Rows)
	}
	return r.ctx.Err()
}

// log appends the chunk's records to the current log part, writing parts
// as they fill.
func (r *run) log(latency time.Duration) error {
	b, k, w := r.batch, r.s.Model.Info().Outputs, r.batch.Width()
	r.rec = predlog.Record{Time: time.Now(), Source: predlog.SourceBatch, Latency: latency}
	for i := 0; i < b.Rows; i++ {
		r.rec.ID, r.rec.X, r.rec.Out = r.ids[i], b.X[i*w:(i+1)*w], r.outv[i*k:(i+1)*k]
		if b.S != nil {
			r.rec.S = b.S[i*w : (i+1)*w]
		}
		r.logBuf = r.s.Encoder.Append(r.logBuf, &r.rec)
		r.logN++
		if r.logN == logPartRows {
			if err := r.writeLogPart(); err != nil {
				return err
			}
		}
	}
	return nil
}

func (r *run) writeLogPart() error {
	if r.logN == 0 {
		return nil
	}
	key := logKey(r.s.LogPrefix, r.when, r.seed, r.logPart)
	if err := predlog.WriteObject(r.ctx, r.s.LogBucket, key, r.logBuf); err != nil {
		return err
	}
	r.logPart++
	r.res.LogKeys++
	r.logBuf, r.logN = r.logBuf[:0], 0
	return nil
}

// reject records a failed row in the errors object.
func (r *run) reject(ie *runtime.InputError) error {
	r.res.Failed++
	if r.errBuf == nil {
		w, err := r.openErrors()
		if err != nil {
			return fmt.Errorf("errors object: %w", err)
		}
		r.errBuf = bufio.NewWriter(w)
	}
	b := []byte(`{"line":`)
	b = strconv.AppendInt(b, int64(ie.Row), 10)
	b = append(b, `,"code":`...)
	b, _ = jsontext.AppendQuote(b, ie.Code)
	if ie.Field != "" {
		b = append(b, `,"field":`...)
		b, _ = jsontext.AppendQuote(b, ie.Field)
	}
	msg := *ie
	msg.Row = -1
	b = append(b, `,"error":`...)
	b, _ = jsontext.AppendQuote(b, msg.Error())
	b = append(b, "}\n"...)
	_, err := r.errBuf.Write(b)
	return err
}

// finish writes the last log part and flushes the buffers.
func (r *run) finish() error {
	if r.s.LogBucket != nil {
		if err := r.writeLogPart(); err != nil {
			return err
		}
	}
	if r.errBuf != nil {
		if err := r.errBuf.Flush(); err != nil {
			return fmt.Errorf("errors object: %w", err)
		}
	}
	return r.out.Flush()
}

func appendCSVPrediction(b []byte, id string, info runtime.Info, out []float64) []byte {
	b = append(b, ',')
	b = append(b, id...)
	b = append(b, ',')
	if info.Task == runtime.Classification {
		b = appendCSVField(b, info.Classes[argmax(out)])
		for _, p := range out {
			b = append(b, ',')
			b = strconv.AppendFloat(b, p, 'g', -1, 64)
		}
	} else {
		b = strconv.AppendFloat(b, out[0], 'g', -1, 64)
	}
	return append(b, '\n')
}

func appendJSONPrediction(b []byte, id string, info runtime.Info, out []float64) []byte {
	if b[len(b)-1] != '{' {
		b = append(b, ',')
	}
	b = append(b, `"prediction_id":"`...)
	b = append(b, id...)
	b = append(b, `","prediction":{`...)
	if info.Task == runtime.Classification {
		b = append(b, `"label":`...)
		b, _ = jsontext.AppendQuote(b, info.Classes[argmax(out)])
		b = append(b, `,"probabilities":{`...)
		for j, c := range info.Classes {
			if j > 0 {
				b = append(b, ',')
			}
			b, _ = jsontext.AppendQuote(b, c)
			b = append(b, ':')
			b = predlog.AppendFloat(b, out[j])
		}
		b = append(b, '}')
	} else {
		b = append(b, `"value":`...)
		b = predlog.AppendFloat(b, out[0])
	}
	return append(b, "}}\n"...)
}

// appendCSVField quotes a field when CSV requires it (RFC 4180).
func appendCSVField(b []byte, f string) []byte {
	needs := f != "" && (f[0] == ' ' || f[0] == '\t')
	for i := 0; i < len(f) && !needs; i++ {
		switch f[i] {
		case ',', '"', '\n', '\r':
			needs = true
		}
	}
	if !needs {
		return append(b, f...)
	}
	b = append(b, '"')
	for i := 0; i < len(f); i++ {
		if f[i] == '"' {
			b = append(b, '"')
		}
		b = append(b, f[i])
	}
	return append(b, '"')
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
