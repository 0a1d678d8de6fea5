package batch

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"time"

	"github.com/go-json-experiment/json/jsontext"
	"gocloud.dev/blob"
	"golang.org/x/sync/errgroup"

	"github.com/modelfn/modelfn/functions/predlog"
	mrt "github.com/modelfn/modelfn/runtime"
)

// maxLine bounds one JSON line, so a file without newlines cannot make the
// reader buffer it whole.
const maxLine = 8 << 20

// A run is a pipeline: one reader splits the object into chunks of rows,
// workers (one per CPU) validate, score and encode each chunk, and one
// writer emits the chunks in input order. Memory is bounded by the chunks
// in flight, whatever the object's size.
type run struct {
	s    *Scorer
	res  *Result
	out  *bufio.Writer
	seed string
	when time.Time
	csv  *mrt.CSVRows // the CSV header's mapping; nil for JSON Lines
	info mrt.Info
	// predictionSize bounds what a row's prediction adds to its text.
	predictionSize int

	openErrors func() (io.Writer, error)
	errBuf     *bufio.Writer

	log     predlog.Stream // the log part being written
	logW    *blob.Writer   // its object, open from its first piece
	logKey  string
	logCtx  context.Context
	logN    int
	logPart int
}

// chunk is a run of consecutive rows.
type chunk struct {
	// From the reader: CSV records, or JSON lines.
	csv   mrt.CSVChunk
	raw   []byte
	ends  []int
	lines []int
	bad   []rowError // rows the reader could not split
	rows  int        // data rows read, bad ones included

	// From a worker.
	out     []byte
	records predlog.Lines // the chunk's prediction-log records
	log     []byte        // the same, gzip-compressed: a piece of a log part
	logN    int
	done    chan struct{}

	batch *mrt.Batch
	outv  []float64
	keep  []int // positions of the rows that passed validation
	// Their lines, stable ids, and whether their CSV numbers are JSON as
	// written.
	keptLines []int
	ids       []string
	asJSON    []bool
}

type rowError struct {
	line int
	err  *mrt.InputError
}

// stream runs the pipeline over in, whose format is "csv" or "jsonl".
func (r *run) stream(ctx context.Context, in io.Reader, format string) error {
	r.info = r.s.Model.Info()
	r.predictionSize = predictionSize(r.info)
	// A log part goes to its object as its pieces come, under a context
	// of its own, cancelled before a part a failed run left open is
	// closed, so that it is not committed.
	logCtx, cancelLog := context.WithCancel(ctx)
	defer func() {
		cancelLog()
		if r.logW != nil {
			r.logW.Close()
		}
	}()
	r.logCtx = logCtx
	if format == "csv" {
		rows, err := mrt.NewCSVRows(in, r.s.Schema)
		if err != nil {
			var ie *mrt.InputError
			if errors.As(err, &ie) {
				return badLine(ie)
			}
			return err
		}
		r.csv = rows
		if err := r.header(); err != nil {
			return err
		}
	}
	workers := runtime.GOMAXPROCS(0)
	work := make(chan *chunk, workers)
	ordered := make(chan *chunk, 2*workers)
	free := make(chan *chunk, 3*workers)
	for i := 0; i < 3*workers; i++ {
		free <- &chunk{batch: mrt.NewBatch(r.s.Schema, r.s.ChunkRows)}
	}
	g, ctx := errgroup.WithContext(ctx)
	g.Go(func() error {
		defer close(work)
		defer close(ordered)
		if r.csv != nil {
			return r.readCSV(ctx, free, work, ordered)
		}
		return r.readJSONL(ctx, in, free, work, ordered)
	})
	for i := 0; i < workers; i++ {
		g.Go(func() error {
			var dec *jsontext.Decoder
			for c := range work {
				if err := r.score(ctx, c, &dec); err != nil {
					return err
				}
				close(c.done)
			}
			return nil
		})
	}
	g.Go(func() error {
		for c := range ordered {
			select {
			case <-c.done:
			case <-ctx.Done():
				return ctx.Err()
			}
			if err := r.emit(ctx, c); err != nil {
				return err
			}
			free <- c
		}
		return nil
	})
	if err := g.Wait(); err != nil {
		return err
	}
	return r.finish()
}

// next takes a free chunk and resets it.
func next(ctx context.Context, free chan *chunk) (*chunk, error) {
	select {
	case c := <-free:
		c.raw, c.ends, c.lines, c.bad, c.rows = c.raw[:0], c.ends[:0], c.lines[:0], c.bad[:0], 0
		c.done = make(chan struct{})
		return c, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func send(ctx context.Context, c *chunk, work, ordered chan *chunk) error {
	for _, ch := range []chan *chunk{ordered, work} {
		select {
		case ch <- c:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}

// readCSV reads CSV records a chunk at a time.
func (r *run) readCSV(ctx context.Context, free, work, ordered chan *chunk) error {
	for {
		c, err := next(ctx, free)
		if err != nil {
			return err
		}
		err = r.csv.ReadChunk(&c.csv, r.s.ChunkRows, len(r.csv.Header))
		if err == io.EOF {
			free <- c
			return nil
		}
		var ie *mrt.InputError
		if errors.As(err, &ie) {
			return badLine(ie) // a record that never ends
		}
		if err != nil {
			return err
		}
		c.rows, c.lines = c.csv.Records(), append(c.lines, c.csv.Lines...)
		for _, e := range c.csv.Bad {
			c.bad = append(c.bad, rowError{e.Row, e})
		}
		if err := send(ctx, c, work, ordered); err != nil {
			return err
		}
	}
}

// badLine makes a whole-file input error, naming its line.
func badLine(ie *mrt.InputError) error {
	msg := *ie
	msg.Row = -1
	return fmt.Errorf("%w: line %d: %s", ErrBadInput, max(ie.Row, 1), msg.Error())
}

// readJSONL splits JSON Lines into chunks of raw lines.
func (r *run) readJSONL(ctx context.Context, in io.Reader, free, work, ordered chan *chunk) error {
	br := bufio.NewReaderSize(in, 64<<10)
	c, err := next(ctx, free)
	if err != nil {
		return err
	}
	var line []byte
	for lineNo := 1; ; lineNo++ {
		line, err = readLine(br, line[:0])
		if err == io.EOF && len(line) == 0 {
			break
		}
		switch {
		case err == errLineTooLong:
			c.rows++
			c.bad = append(c.bad, rowError{lineNo, mrt.Errorf(lineNo, "", mrt.CodeTooLarge, "line longer than %d bytes", maxLine)})
			continue
		case err != nil && err != io.EOF:
			return err
		}
		line = bytes.TrimSpace(line)
		if len(line) == 0 {
			continue
		}
		c.rows++
		c.raw = append(c.raw, line...)
		c.ends = append(c.ends, len(c.raw))
		c.lines = append(c.lines, lineNo)
		if len(c.lines) == r.s.ChunkRows {
			if err := send(ctx, c, work, ordered); err != nil {
				return err
			}
			if c, err = next(ctx, free); err != nil {
				return err
			}
		}
	}
	return send(ctx, c, work, ordered)
}

var errLineTooLong = errors.New("line too long")

// readLine appends the next line to buf; a line over maxLine is skipped.
func readLine(br *bufio.Reader, buf []byte) ([]byte, error) {
	for {
		frag, err := br.ReadSlice('\n')
		if len(buf)+len(frag) > maxLine {
			for err == bufio.ErrBufferFull {
				_, err = br.ReadSlice('\n')
			}
			if err != nil && err != io.EOF {
				return buf[:0], err
			}
			return buf[:0], errLineTooLong
		}
		buf = append(buf, frag...)
		if err != bufio.ErrBufferFull {
			return buf, err
		}
	}
}

// score validates, predicts and encodes one chunk (a worker's job).
func (r *run) score(ctx context.Context, c *chunk, dec **jsontext.Decoder) error {
	b := c.batch
	b.Reset()
	c.keep = slices.Grow(c.keep[:0], len(c.lines))
	c.asJSON = slices.Grow(c.asJSON[:0], len(c.lines))
	for i, line := range c.lines {
		var ie *mrt.InputError
		asJSON := false
		if r.csv != nil {
			asJSON, ie = r.csv.FillRecord(b, c.csv.Record(i, len(r.csv.Header)), line)
		} else {
			ie = r.fillJSON(b, c.row(i), line, dec)
		}
		if ie != nil {
			c.bad = append(c.bad, rowError{line, ie})
			continue
		}
		c.keep = append(c.keep, i)
		c.asJSON = append(c.asJSON, asJSON)
	}
	sort.Slice(c.bad, func(i, j int) bool { return c.bad[i].line < c.bad[j].line })

	k := r.info.Outputs
	c.outv = grow(c.outv, b.Rows*k)
	start := time.Now()
	if b.Rows > 0 {
		if err := r.s.Model.Predict(ctx, b, c.outv); err != nil {
			return fmt.Errorf("model: %w", err)
		}
	}
	latency := time.Since(start) / time.Duration(max(b.Rows, 1))

	c.out, c.logN = c.out[:0], 0
	c.records.Reset()
	rec := predlog.Record{Time: time.Now(), Source: predlog.SourceBatch, Latency: latency}
	w := b.Width()
	var text []string // FeatureText's room (columns out of schema order); nil unless a CSV is logged
	if r.csv != nil && r.s.LogBucket != nil {
		text = make([]string, w)
	}
	c.keptLines = slices.Grow(c.keptLines[:0], len(c.keep))
	size := len(c.keep) * r.predictionSize // the output, made once rather than grown to
	for _, i := range c.keep {
		c.keptLines = append(c.keptLines, c.lines[i])
		if r.csv != nil {
			size += len(c.csv.Raw[i])
		} else {
			size += len(c.row(i))
		}
	}
	c.out = slices.Grow(c.out, size)
	c.ids = predlog.StableIDs(c.ids[:0], r.when, r.seed, c.keptLines)
	var values int // where the CSV output's values begin
	for j, i := range c.keep {
		id := c.ids[j]
		out := c.outv[j*k : (j+1)*k]
		if r.csv != nil {
			c.out = append(c.out, c.csv.Raw[i]...) // the record as it was written
			c.out, values = appendCSVPrediction(c.out, id, r.info, out)
		} else {
			row := c.row(i)
			c.out = append(c.out, row[:len(row)-1]...) // the object without its closing brace
			c.out = appendJSONPrediction(c.out, id, r.info, out)
		}
		if r.s.LogBucket != nil && r.s.LogSample.Keep(id) {
			if text != nil {
				rec.Text = nil // formatted again where some number is not JSON as written ("+1")
				if c.asJSON[j] {
					rec.Text = r.csv.FeatureText(c.csv.Record(i, len(r.csv.Header)), text)
				}
				rec.OutText = nil
				if finite(out) { // the output's text, copied
					rec.OutText = c.out[values : len(c.out)-1]
				}
			}
			rec.ID, rec.X, rec.Out = id, b.X[j*w:(j+1)*w], out
			if b.S != nil {
				rec.S = b.S[j*w : (j+1)*w]
			}
			r.s.Encoder.Append(&c.records, &rec)
			c.logN++
		}
	}
	if c.logN > 0 { // compressed here, the log's cost is spread over the workers
		c.log = r.s.Encoder.Piece(c.log[:0], &c.records)
	}
	return nil
}

func (c *chunk) row(i int) []byte {
	begin := 0
	if i > 0 {
		begin = c.ends[i-1]
	}
	return c.raw[begin:c.ends[i]]
}

// fillJSON reads one JSON Lines row: an object, other members passed
// through.
func (r *run) fillJSON(b *mrt.Batch, line []byte, lineNo int, dec **jsontext.Decoder) *mrt.InputError {
	if line[0] != '{' {
		return mrt.Errorf(lineNo, "", mrt.CodeWrongShape, "each line must be a JSON object of feature values")
	}
	*dec = mrt.JSONDecoder(*dec, bytes.NewReader(line))
	if ie := b.ReadJSONRow(*dec, lineNo, true); ie != nil {
		return ie
	}
	if _, err := (*dec).ReadToken(); err != io.EOF {
		b.Truncate(b.Rows - 1)
		return mrt.Errorf(lineNo, "", mrt.CodeMalformed, "data after the JSON object")
	}
	return nil
}

// emit writes a scored chunk (the writer's job, in input order).
func (r *run) emit(ctx context.Context, c *chunk) error {
	r.res.Rows += int64(c.rows)
	r.res.Scored += int64(len(c.keep))
	for _, e := range c.bad {
		if err := r.reject(e.err); err != nil {
			return err
		}
	}
	if _, err := r.out.Write(c.out); err != nil {
		return err
	}
	if c.logN > 0 {
		if err := r.addLog(c); err != nil {
			return err
		}
	}
	if r.logN >= logPartRows {
		if err := r.endLogPart(); err != nil {
			return err
		}
	}
	if r.s.Progress != nil {
		r.s.Progress(r.res.Rows)
	}
	return nil
}

// header writes the CSV output header: the input's, then the predictions.
func (r *run) header() error {
	extra := []string{"prediction_id", "prediction"}
	if r.info.Task == mrt.Classification {
		for _, c := range r.info.Classes {
			extra = append(extra, "probability_"+c)
		}
	}
	for _, name := range extra {
		if r.csv.Column(name) >= 0 {
			return fmt.Errorf("%w: line 1: the input already has a column %q, which the output adds", ErrBadInput, name)
		}
	}
	var hdr []byte
	for i, h := range append(append([]string(nil), r.csv.Header...), extra...) {
		if i > 0 {
			hdr = append(hdr, ',')
		}
		hdr = appendCSVField(hdr, h)
	}
	_, err := r.out.Write(append(hdr, '\n'))
	return err
}

// addLog adds a chunk's log piece to the part being written, which it
// opens at the part's first piece. The pieces go out as they come: held
// whole, a part was 8.5 MB of memory written at once.
func (r *run) addLog(c *chunk) error {
	if r.logW == nil {
		r.logKey = logKey(r.s.LogPrefix, r.when, r.seed, r.logPart)
		w, err := predlog.NewObjectWriter(r.logCtx, r.s.LogBucket, r.logKey)
		if err != nil {
			return err
		}
		r.logW = w
	}
	r.log.Add(c.log, c.records.Bytes())
	r.logN += c.logN
	if err := r.log.Drain(r.logW); err != nil {
		return fmt.Errorf("prediction log %s: %w", r.logKey, err)
	}
	return nil
}

// endLogPart ends the part being written, if any, and commits it.
func (r *run) endLogPart() error {
	if r.logW == nil {
		return nil
	}
	if _, err := r.logW.Write(r.log.Finish()); err != nil {
		return fmt.Errorf("prediction log %s: %w", r.logKey, err) // aborted by stream
	}
	err := r.logW.Close()
	r.logW = nil
	if err != nil {
		return fmt.Errorf("prediction log %s: %w", r.logKey, err)
	}
	r.logPart++
	r.res.LogKeys++
	r.log.Reset()
	r.logN = 0
	return nil
}

// reject records a failed row in the errors object.
func (r *run) reject(ie *mrt.InputError) error {
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

// finish ends the last log part and flushes the buffers.
func (r *run) finish() error {
	if err := r.endLogPart(); err != nil {
		return err
	}
	if r.errBuf != nil {
		if err := r.errBuf.Flush(); err != nil {
			return fmt.Errorf("errors object: %w", err)
		}
	}
	return r.out.Flush()
}

func grow(s []float64, n int) []float64 {
	if cap(s) < n {
		return make([]float64, n)
	}
	return s[:n]
}

// appendCSVPrediction appends a row's prediction columns and its line
// break, and says where the output values' text begins.
func appendCSVPrediction(b []byte, id string, info mrt.Info, out []float64) ([]byte, int) {
	b = append(b, ',')
	b = append(b, id...)
	b = append(b, ',')
	values := len(b)
	if info.Task == mrt.Classification {
		b = appendCSVField(b, info.Classes[argmax(out)])
		values = len(b) + 1
		for _, p := range out {
			b = append(b, ',')
			b = strconv.AppendFloat(b, p, 'g', -1, 64)
		}
	} else {
		b = strconv.AppendFloat(b, out[0], 'g', -1, 64)
	}
	return append(b, '\n'), values
}

// predictionSize bounds the text a row's prediction adds to the row in
// either format: its id, label and values of up to 24 characters, with
// JSON's names and punctuation.
func predictionSize(info mrt.Info) int {
	n := predlog.IDLen + 64 + 26*max(info.Outputs, 1)
	for _, c := range info.Classes {
		n += 2*len(c) + 8
	}
	return n
}

func finite(v []float64) bool {
	for _, x := range v {
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return false
		}
	}
	return true
}

func appendJSONPrediction(b []byte, id string, info mrt.Info, out []float64) []byte {
	if b[len(b)-1] != '{' {
		b = append(b, ',')
	}
	b = append(b, `"prediction_id":"`...)
	b = append(b, id...)
	b = append(b, `","prediction":{`...)
	if info.Task == mrt.Classification {
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
