package predlog

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/go-json-experiment/json/jsontext"
	"github.com/klauspost/compress/gzip"
	"gocloud.dev/blob"

	"github.com/modelfn/modelfn/runtime"
)

// MaxObjectBytes bounds the decompressed size of one log object, so a
// corrupt or hostile object (a gzip bomb) cannot exhaust memory.
const MaxObjectBytes = 512 << 20

// Entry is a record read back; its features are a row of the batch given
// to ReadObject.
type Entry struct {
	ID     string
	Time   time.Time
	Source string
	// Out is the prediction: class probabilities in the model's class
	// order, or the one regression value.
	Out []float64
}

// Decoder reads records written by an Encoder for the same schema.
type Decoder struct {
	// MaxBytes bounds an object's decompressed size (MaxObjectBytes).
	MaxBytes int64

	schema  *runtime.Schema
	info    runtime.Info
	classes map[string]int
}

// NewDecoder prepares a decoder.
func NewDecoder(s *runtime.Schema, info runtime.Info) *Decoder {
	d := &Decoder{MaxBytes: MaxObjectBytes, schema: s, info: info, classes: map[string]int{}}
	for i, c := range info.Classes {
		d.classes[c] = i
	}
	return d
}

// ErrCorrupt marks an object that could not be read whole.
var ErrCorrupt = errors.New("corrupt prediction-log object")

// ReadObject reads every record of a gzip JSON Lines object into b (one row
// each) and entries. Any unreadable byte makes the whole object corrupt
// (ErrCorrupt), so that a partial object is never half counted.
func (d *Decoder) ReadObject(ctx context.Context, bucket *blob.Bucket, key string, b *runtime.Batch, entries []Entry) ([]Entry, error) {
	r, err := bucket.NewReader(ctx, key, nil)
	if err != nil {
		return entries, err
	}
	defer r.Close()
	start, n := b.Rows, len(entries)
	entries, err = d.Read(r, b, entries)
	if err != nil {
		b.Truncate(start)
		return entries[:n], fmt.Errorf("%s: %w", key, err)
	}
	return entries, nil
}

// Read decodes a gzip JSON Lines stream. A failure of r itself (the store
// or the network going away mid-object) is returned as it is, not as
// ErrCorrupt: the object may well be whole, and a later read may succeed.
func (d *Decoder) Read(r io.Reader, b *runtime.Batch, entries []Entry) ([]Entry, error) {
	src := &sourceReader{r: r}
	corrupt := func(format string, args ...any) error {
		if src.err != nil {
			return fmt.Errorf("reading the object: %w", src.err)
		}
		return fmt.Errorf("%w: "+format, append([]any{ErrCorrupt}, args...)...)
	}
	zr, err := gzip.NewReader(src)
	if err != nil {
		return entries, corrupt("%v", err)
	}
	lim := &io.LimitedReader{R: zr, N: d.MaxBytes + 1}
	sc := bufio.NewScanner(lim)
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	var dec *jsontext.Decoder
	line := 0
	for sc.Scan() {
		line++
		if len(bytes.TrimSpace(sc.Bytes())) == 0 {
			continue
		}
		dec = runtime.JSONDecoder(dec, bytes.NewReader(sc.Bytes()))
		e, err := d.readRecord(dec, b, line)
		if err != nil {
			return entries, corrupt("line %d: %v", line, err)
		}
		entries = append(entries, e)
	}
	if lim.N <= 0 {
		return entries, fmt.Errorf("%w: more than %d bytes decompressed", ErrCorrupt, d.MaxBytes)
	}
	if err := sc.Err(); err != nil {
		return entries, corrupt("%v", err)
	}
	return entries, nil
}

// sourceReader remembers the first error of the underlying reader other
// than io.EOF, which tells a failed read from a corrupt object.
type sourceReader struct {
	r   io.Reader
	err error
}

func (s *sourceReader) Read(p []byte) (int, error) {
	n, err := s.r.Read(p)
	if err != nil && err != io.EOF && s.err == nil {
		s.err = err
	}
	return n, err
}

// readRecord reads one record; on error, b is as it was.
func (d *Decoder) readRecord(dec *jsontext.Decoder, b *runtime.Batch, line int) (e Entry, err error) {
	rows := b.Rows
	defer func() {
		if err != nil {
			b.Truncate(rows)
		}
	}()
	if tok, err := dec.ReadToken(); err != nil || tok.Kind() != '{' {
		return e, fmt.Errorf("not a JSON object")
	}
	haveFeatures, havePrediction := false, false
	for dec.PeekKind() != '}' {
		k, err := dec.ReadToken()
		if err != nil {
			return e, err
		}
		switch k.String() {
		case "id":
			e.ID, err = readString(dec)
		case "ts":
			var s string
			if s, err = readString(dec); err == nil {
				e.Time, err = time.Parse(time.RFC3339Nano, s)
			}
		case "source":
			e.Source, err = readString(dec)
		case "features":
			if haveFeatures {
				return e, fmt.Errorf("features given twice")
			}
			if ierr := b.ReadJSONRow(dec, line, false); ierr != nil {
				return e, ierr
			}
			haveFeatures = true
		case "prediction":
			e.Out, err = d.readPrediction(dec)
			havePrediction = err == nil
		default:
			err = dec.SkipValue()
		}
		if err != nil {
			return e, err
		}
	}
	if _, err := dec.ReadToken(); err != nil {
		return e, err
	}
	if _, err := dec.ReadToken(); err != io.EOF {
		return e, fmt.Errorf("data after the record")
	}
	if !haveFeatures || !havePrediction || e.ID == "" || e.Time.IsZero() {
		return e, fmt.Errorf("record lacks id, ts, features or prediction")
	}
	return e, nil
}

func (d *Decoder) readPrediction(dec *jsontext.Decoder) ([]float64, error) {
	out := make([]float64, d.info.Outputs)
	if tok, err := dec.ReadToken(); err != nil || tok.Kind() != '{' {
		return nil, fmt.Errorf("prediction is not an object")
	}
	got := 0
	for dec.PeekKind() != '}' {
		k, err := dec.ReadToken()
		if err != nil {
			return nil, err
		}
		switch k.String() {
		case "value":
			if d.info.Task != runtime.Regression {
				return nil, fmt.Errorf("a value for a classifier")
			}
			if out[0], err = readFloat(dec); err != nil {
				return nil, err
			}
			got = 1
		case "probabilities":
			if _, err := dec.ReadToken(); err != nil {
				return nil, err
			}
			for dec.PeekKind() != '}' {
				c, err := dec.ReadToken()
				if err != nil {
					return nil, err
				}
				i, ok := d.classes[c.String()]
				if !ok {
					return nil, fmt.Errorf("unknown class %q", c.String())
				}
				if out[i], err = readFloat(dec); err != nil {
					return nil, err
				}
				got++
			}
			if _, err := dec.ReadToken(); err != nil {
				return nil, err
			}
		default:
			if err := dec.SkipValue(); err != nil {
				return nil, err
			}
		}
	}
	if _, err := dec.ReadToken(); err != nil {
		return nil, err
	}
	if got != d.info.Outputs {
		return nil, fmt.Errorf("prediction has %d of %d outputs", got, d.info.Outputs)
	}
	return out, nil
}

func readString(dec *jsontext.Decoder) (string, error) {
	tok, err := dec.ReadToken()
	if err != nil {
		return "", err
	}
	if tok.Kind() != '"' {
		return "", fmt.Errorf("expected a string")
	}
	return tok.String(), nil
}

func readFloat(dec *jsontext.Decoder) (float64, error) {
	tok, err := dec.ReadToken()
	if err != nil {
		return 0, err
	}
	if tok.Kind() == 'n' {
		return runtime.NaN, nil
	}
	if tok.Kind() != '0' {
		return 0, fmt.Errorf("expected a number")
	}
	return tok.Float()
}
