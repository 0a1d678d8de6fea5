package predlog_test

import (
	"bytes"
	"math/rand/v2"
	"strconv"
	"testing"
	"time"

	"github.com/modelfn/modelfn/functions/predlog"
	"github.com/modelfn/modelfn/runtime"
	"github.com/modelfn/modelfn/testing/example"
)

// logChunk is 1,000 records of the example model as HTTP writes them:
// holdout rows scaled by up to ±20% (so no two records repeat, as in real
// traffic), the numbers' text as a client would send them.
func logChunk(b testing.TB) (*predlog.Encoder, []predlog.Record) {
	m, s := example.Model(b)
	rows, _ := example.Holdout(b)
	rng := rand.New(rand.NewPCG(1, 2))
	recs := make([]predlog.Record, 1000)
	now := time.Now()
	for i := range recs {
		x, text := make([]float64, s.Width()), make([]string, s.Width())
		for j, f := range s.Features {
			x[j] = rows[i%len(rows)][f.Name] * (0.8 + 0.4*rng.Float64())
			text[j] = strconv.FormatFloat(x[j], 'g', 4, 64)
		}
		p := rng.Float64()
		recs[i] = predlog.Record{ID: predlog.NewID(), Time: now, Source: predlog.SourceHTTP, X: x, Text: text,
			Out: []float64{p, 1 - p}, Latency: time.Duration(rng.IntN(1e6))}
	}
	return predlog.NewEncoder("breast-cancer", "1", s, m.Info()), recs
}

// BenchmarkEncode is the cost of a record's JSON line.
func BenchmarkEncode(b *testing.B) {
	enc, recs := logChunk(b)
	var lines predlog.Lines
	for i := range recs {
		enc.Append(&lines, &recs[i])
	}
	b.SetBytes(int64(lines.Len() / len(recs)))
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		if i%len(recs) == 0 {
			lines.Reset()
		}
		enc.Append(&lines, &recs[i%len(recs)])
	}
}

// BenchmarkCompress is the cost of gzipping a chunk of 1,000 records:
// with the encoder's own writer in one piece (as a batch worker), a
// record at a time as each is written (as the logger, for one-row
// requests), and with a general gzip at its fastest level.
func BenchmarkCompress(b *testing.B) {
	enc, recs := logChunk(b)
	var lines predlog.Lines
	for i := range recs {
		enc.Append(&lines, &recs[i])
	}
	var stream predlog.Stream
	var piece []byte
	var ls predlog.LineStream
	for name, compress := range map[string]func(dst []byte) []byte{
		"encoder": func([]byte) []byte {
			stream.Reset()
			piece = enc.Piece(piece[:0], &lines)
			stream.Add(piece, lines.Bytes())
			return stream.Finish()
		},
		"encoder_record_at_a_time": func([]byte) []byte {
			ls.Reset()
			for i := range recs {
				enc.Append(ls.Lines(), &recs[i])
				ls.Compress(enc)
			}
			return ls.Finish()
		},
		"general": func(dst []byte) []byte { return predlog.Compress(dst, lines.Bytes()) },
	} {
		b.Run(name, func(b *testing.B) {
			var out []byte
			b.SetBytes(int64(lines.Len()))
			b.ReportAllocs()
			for b.Loop() {
				out = compress(out[:0])
			}
			b.ReportMetric(float64(lines.Len())/float64(len(out)), "ratio")
		})
	}
}

// BenchmarkRead is the monitor's side: reading a gzip object of 1,000
// records back into a batch.
func BenchmarkRead(b *testing.B) {
	enc, recs := logChunk(b)
	var lines predlog.Lines
	for i := range recs {
		enc.Append(&lines, &recs[i])
	}
	gz := object(enc, &lines)
	m, s := example.Model(b)
	dec := predlog.NewDecoder(s, m.Info())
	batch := runtime.NewBatch(s, len(recs))
	var entries []predlog.Entry
	b.SetBytes(int64(lines.Len()))
	b.ReportAllocs()
	for b.Loop() {
		batch.Reset()
		var err error
		if entries, err = dec.Read(bytes.NewReader(gz), batch, entries[:0]); err != nil || len(entries) != len(recs) {
			b.Fatal(len(entries), err)
		}
	}
	b.ReportMetric(float64(len(recs))*float64(b.N)/b.Elapsed().Seconds(), "records/s")
}
