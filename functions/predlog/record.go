// Package predlog is the prediction log: every prediction, from HTTP or
// batch, becomes one JSON line in a gzip object under a time-partitioned key
//
//	predictions/<model>/<version>/dt=YYYY-MM-DD/hr=HH/<unique>.jsonl.gz
//
// so the monitor (and Athena, BigQuery or a person with zcat) can read it
// back. A record:
//
//	{"id":"0193…","ts":"2026-11-25T20:00:00.123Z","model":"churn","version":"3",
//	 "source":"http","features":{"tenure":12,"plan":"pro"},
//	 "prediction":{"label":"stay","probabilities":{"leave":0.1,"stay":0.9}},
//	 "latency_ms":0.41}
//
// A regressor's prediction is {"value":12.5}. A missing feature is null.
package predlog

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/go-json-experiment/json/jsontext"
	"github.com/google/uuid"

	"github.com/modelfn/modelfn/runtime"
)

// Sources of a record.
const (
	SourceHTTP  = "http"
	SourceBatch = "batch"
)

// IDLen is the length of a prediction id's text.
const IDLen = 36

// NewID returns a prediction id: a UUIDv7, whose first 48 bits are the
// time in milliseconds, so a label that arrives later finds the log
// partition of its prediction from the id alone.
func NewID() string {
	var text [IDLen]byte
	return string(AppendIDs(text[:0], 1, time.Now()))
}

// AppendIDs appends the text of n prediction ids for the rows of one
// request, IDLen bytes each, made at time t (the request's arrival: the
// clock is read once a request), with one read of randomness per 64 ids.
// Made one at a time, ids were 4% of a 100-row request; made as strings
// when no log keeps them, they were most of a one-row request's garbage.
func AppendIDs(dst []byte, n int, t time.Time) []byte {
	ms := uint64(t.UnixMilli())
	var random [10 * 64]byte // 74 random bits an id, read for 64 ids at a time
	for i := range n {
		if i%64 == 0 {
			rand.Read(random[:10*min(64, n-i)])
		}
		text := idText(v7(ms, random[i%64*10:][:10]))
		dst = append(dst, text[:]...)
	}
	return dst
}

// StableID is a UUIDv7-shaped id fixed by t and seed, for batch rows: a
// re-run of the same input gives the same ids.
func StableID(t time.Time, seed string) string {
	h := sha256.Sum256([]byte(seed))
	text := idText(v7(uint64(t.UnixMilli()), h[:10]))
	return string(text[:])
}

// StableIDs appends the stable ids of rows of one input, seed being the
// input's identity: StableID(t, seed+"#"+line) for each line, made
// together in one string (one per row, with the seed converted for each,
// was a seventh of a batch's CPU).
func StableIDs(dst []string, t time.Time, seed string, lines []int) []string {
	ms := uint64(t.UnixMilli())
	in := append(append(make([]byte, 0, len(seed)+21), seed...), '#')
	var b strings.Builder
	b.Grow(IDLen * len(lines))
	for _, line := range lines {
		h := sha256.Sum256(strconv.AppendInt(in[:len(seed)+1], int64(line), 10))
		text := idText(v7(ms, h[:10]))
		b.Write(text[:])
	}
	all := b.String()
	dst = slices.Grow(dst, len(lines))
	for i := range lines {
		dst = append(dst, all[i*IDLen:(i+1)*IDLen])
	}
	return dst
}

// v7 is the UUIDv7 of the time ms and 10 bytes of which 74 bits are kept.
func v7(ms uint64, random []byte) (u uuid.UUID) {
	binary.BigEndian.PutUint16(u[0:2], uint16(ms>>32))
	binary.BigEndian.PutUint32(u[2:6], uint32(ms))
	copy(u[6:], random)
	u[6] = 0x70 | u[6]&0x0f // version 7
	u[8] = 0x80 | u[8]&0x3f // RFC 9562 variant
	return u
}

// idText is u's text form, xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx.
func idText(u uuid.UUID) (text [IDLen]byte) {
	hex.Encode(text[0:8], u[0:4])
	hex.Encode(text[9:13], u[4:6])
	hex.Encode(text[14:18], u[6:8])
	hex.Encode(text[19:23], u[8:10])
	hex.Encode(text[24:], u[10:])
	text[8], text[13], text[18], text[23] = '-', '-', '-', '-'
	return text
}

// Sample is the share of predictions the log keeps; 0 (unset) and 1 keep
// all. Which ones is decided by the random bits of the prediction id (the
// last 48 of a UUIDv7; StableID's come from a hash), so a batch re-run keeps
// the same rows, and whether a prediction was kept follows from its id.
type Sample float64

// All reports whether every prediction is logged.
func (s Sample) All() bool { return s <= 0 || s >= 1 }

// Keep reports whether the prediction with this id is logged.
func (s Sample) Keep(id string) bool {
	if s.All() || len(id) < 12 {
		return true
	}
	return s.keepBits(id[len(id)-12:])
}

// keepText is Keep for an id's text, which it does not copy.
func (s Sample) keepText(id []byte) bool {
	if s.All() || len(id) < 12 {
		return true
	}
	return s.keepBits(string(id[len(id)-12:])) // 12 bytes: converted on the stack
}

// keepBits decides by an id's last 12 hex digits.
func (s Sample) keepBits(hex12 string) bool {
	v, err := strconv.ParseUint(hex12, 16, 64)
	return err != nil || float64(v) < float64(s)*(1<<48)
}

// IDTime is the time a UUIDv7 id was made.
func IDTime(id string) (time.Time, bool) {
	u, err := uuid.Parse(id)
	if err != nil || u.Version() != 7 {
		return time.Time{}, false
	}
	sec, nsec := u.Time().UnixTime()
	return time.Unix(sec, nsec).UTC(), true
}

// Partition is the key prefix of the hour t falls in, under prefix (which
// ends with "/", e.g. "predictions/churn/3/").
func Partition(prefix string, t time.Time) string {
	t = t.UTC()
	return fmt.Sprintf("%sdt=%s/hr=%02d/", prefix, t.Format("2006-01-02"), t.Hour())
}

// Prefix is where a model version's records live.
func Prefix(root, model, version string) string {
	return root + model + "/" + version + "/"
}

// Encoder writes records for one model. A record is values between
// constant parts (punctuation, keys, feature and class names), which are
// quoted once here; Compress relies on them to find what repeats.
type Encoder struct {
	// parts[i] precedes value i: the id, the time, the source, each
	// feature, the label and each probability (or the value), the latency;
	// the last part ends the line.
	parts    [][]byte
	partLens []uint32 // len(parts[i]): all the compressor needs of them
	classes  [][]byte // `"class"` per class
	cats     []bool   // categorical features
	numeric  bool     // no categorical features
	task     runtime.Task
}

// NewEncoder prepares an encoder.
func NewEncoder(model, version string, s *runtime.Schema, info runtime.Info) *Encoder {
	e := &Encoder{task: info.Task}
	add := func(format string, a ...any) { e.parts = append(e.parts, fmt.Appendf(nil, format, a...)) }
	add(`{"id":`)
	add(`,"ts":`)
	add(`,"model":%s,"version":%s,"source":`, quote(model), quote(version))
	open := func(i int, first string) string { // what precedes the first key of an object, and the others
		if i == 0 {
			return first
		}
		return ","
	}
	for i, f := range s.Features {
		add(`%s%s:`, open(i, `,"features":{`), quote(f.Name))
		e.cats = append(e.cats, f.Type == runtime.Categorical)
	}
	e.numeric = !slices.Contains(e.cats, true)
	if e.task == runtime.Classification {
		add(`},"prediction":{"label":`)
		for i, c := range info.Classes {
			e.classes = append(e.classes, quote(c))
			add(`%s%s:`, open(i, `,"probabilities":{`), quote(c))
		}
		add(`}},"latency_ms":`)
	} else {
		add(`},"prediction":{"value":`)
		add(`},"latency_ms":`)
	}
	add("}\n")
	for _, p := range e.parts {
		e.partLens = append(e.partLens, uint32(len(p)))
	}
	return e
}

// Record is one prediction, by reference into a batch and its output.
type Record struct {
	ID     string
	Time   time.Time
	Source string
	X      []float64 // the row's values
	S      []string  // the row's raw categorical values (nil when none)
	// Text, when set, is each numeric feature's number as it was written,
	// in JSON's grammar, or "" to format X's (runtime.Batch.Text, a CSV
	// row's fields): copied, which is the same number and much cheaper than
	// formatting it again. A categorical feature's is not read.
	Text []string
	Out  []float64 // the model's output for the row
	// OutText, when set, is Out as text already, comma-separated (a CSV
	// row's, an HTTP answer's): copied rather than formatted again. Each
	// must be JSON: a number, or null where Out is not finite.
	OutText []byte
	Latency time.Duration

	// The time's and latency's text, kept for the next record: a caller
	// reuses one Record for rows that share them.
	ts, latency     []byte
	tsMilli, latFor int64
}

// Lines are records as an Encoder wrote them, and where each of their
// constant parts starts, so Compress knows where to look instead of
// parsing. The zero value is empty and ready.
type Lines struct {
	text  []byte
	parts []uint32 // per record, the offset of each of the encoder's parts
	by    *Encoder // who wrote them all (nil when two encoders did)
}

// Bytes is the JSON lines; they stay the Lines' own.
func (l *Lines) Bytes() []byte { return l.text }

// Len is the size of the lines in bytes.
func (l *Lines) Len() int { return len(l.text) }

// Reset empties l, keeping its memory.
func (l *Lines) Reset() { l.text, l.parts = l.text[:0], l.parts[:0] }

// Append encodes r as one JSON line at the end of l.
func (e *Encoder) Append(l *Lines, r *Record) {
	if len(l.parts) == 0 {
		l.by = e
	} else if l.by != e {
		l.by = nil // another encoder's parts: Compress must not refer to them
	}
	dst, at, p := l.text, l.parts, e.parts
	// part writes the i-th constant part, noting where it starts.
	part := func(dst []byte, i int) []byte {
		at = append(at, uint32(len(dst)))
		return append(dst, p[i]...)
	}
	dst = part(dst, 0)
	dst = append(append(append(dst, '"'), r.ID...), '"')
	dst = part(dst, 1)
	if ms := r.Time.UnixMilli(); r.ts == nil || ms != r.tsMilli {
		r.ts, r.tsMilli = r.Time.UTC().AppendFormat(append(r.ts[:0], '"'), "2006-01-02T15:04:05.000Z07:00"), ms
		r.ts = append(r.ts, '"')
	}
	dst = append(dst, r.ts...)
	dst = part(dst, 2)
	dst = append(append(append(dst, '"'), r.Source...), '"')
	next := 3
	if e.numeric && len(r.Text) == len(e.cats) {
		// A row's numbers as written: the loop below without its
		// questions, a tenth of the record's cost.
		for i, t := range r.Text {
			at = append(at, uint32(len(dst)))
			dst = append(dst, p[next+i]...)
			if t == "" {
				dst = AppendFloat(dst, r.X[i])
			} else {
				dst = append(dst, t...)
			}
		}
	} else {
		for i, cat := range e.cats {
			dst = part(dst, next+i)
			switch {
			case cat && r.S != nil && r.S[i] != "":
				dst = appendString(dst, r.S[i])
			case r.Text != nil && !cat && r.Text[i] != "":
				dst = append(dst, r.Text[i]...)
			default:
				dst = AppendFloat(dst, r.X[i])
			}
		}
	}
	next += len(e.cats)
	dst = part(dst, next)
	next++
	text := r.OutText
	value := func(dst []byte, i int) []byte {
		if text == nil {
			return AppendFloat(dst, r.Out[i])
		}
		var v []byte
		v, text, _ = bytes.Cut(text, []byte{','})
		return append(dst, v...)
	}
	if e.task == runtime.Classification {
		dst = append(dst, e.classes[argmax(r.Out[:len(e.classes)])]...)
		for i := range e.classes {
			dst = part(dst, next+i)
			dst = value(dst, i)
		}
		next += len(e.classes)
	} else {
		dst = value(dst, 0)
	}
	dst = part(dst, next)
	if us := r.Latency.Microseconds(); r.latency == nil || us != r.latFor {
		r.latency, r.latFor = strconv.AppendFloat(r.latency[:0], float64(us)/1000, 'f', -1, 64), us
	}
	dst = append(dst, r.latency...)
	l.text, l.parts = part(dst, next+1), at
}

// AppendFloat writes v as a JSON number, or null when it is not finite.
func AppendFloat(dst []byte, v float64) []byte {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return append(dst, "null"...)
	}
	return strconv.AppendFloat(dst, v, 'g', -1, 64)
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

func quote(s string) []byte {
	return appendString(nil, s)
}

func appendString(dst []byte, s string) []byte {
	out, err := jsontext.AppendQuote(dst, s)
	if err != nil { // invalid UTF-8: replaced, never fatal
		out, _ = jsontext.AppendQuote(dst, strings.ToValidUTF8(s, "\uFFFD"))
	}
	return out
}
