package predlog_test

import (
	"bytes"
	"testing"
	"time"

	"github.com/modelfn/modelfn/functions/predlog"
	"github.com/modelfn/modelfn/runtime"
)

// FuzzRead feeds arbitrary bytes to the log reader the monitor uses, both
// as they are and gzip-wrapped (so the fuzzer reaches the JSON decoding):
// never a panic, and an object is either read whole (one row per entry)
// or refused.
func FuzzRead(f *testing.F) {
	s, info := schema(f)
	f.Add(records(f, predlog.NewEncoder("m", "1", s, info), s, 3).Bytes())
	f.Add([]byte(`{"id":"x","features":{"age":"NaN"}}` + "\n"))
	f.Add([]byte("\x1f\x8b\x08\x00"))
	f.Fuzz(func(t *testing.T, data []byte) {
		dec := predlog.NewDecoder(s, info)
		dec.MaxBytes = 1 << 20
		for _, obj := range [][]byte{data, predlog.Compress(nil, data)} {
			back := runtime.NewBatch(s, 4)
			entries, err := dec.Read(bytes.NewReader(obj), back, nil)
			if err == nil && len(entries) != back.Rows {
				t.Fatalf("%d entries for %d rows", len(entries), back.Rows)
			}
		}
	})
}

// records is n of rows' records as enc writes them.
func records(t testing.TB, enc *predlog.Encoder, s *runtime.Schema, n int) *predlog.Lines {
	b, out, ids := rows(t, s, n)
	lines := new(predlog.Lines)
	for i := 0; i < n; i++ {
		enc.Append(lines, &predlog.Record{ID: ids[i], Time: time.Unix(1700000000, 0), Source: "http", X: b.Row(i), S: b.S[2*i : 2*i+2], Out: out[2*i : 2*i+2]})
	}
	return lines
}
