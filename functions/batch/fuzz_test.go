package batch_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"strings"
	"testing"

	"gocloud.dev/blob/memblob"

	"github.com/modelfn/modelfn/functions/predlog"
	"github.com/modelfn/modelfn/runtime"
	"github.com/modelfn/modelfn/testing/example"
	"github.com/modelfn/modelfn/testing/tools"
)

// FuzzScore scores arbitrary bytes as a CSV, JSON Lines or gzip object.
// Never a panic; a failed run commits no output; a run that succeeds
// accounts for every row it read (scored + failed), writes one output
// record per scored row, and logs exactly one prediction per scored row.
func FuzzScore(f *testing.F) {
	holdout, _ := holdoutWithBadRows(f)
	short := strings.Join(strings.SplitN(holdout, "\n", 6)[:5], "\n") + "\n"
	names := []string{"in.csv", "in.jsonl", "in.csv.gz", "in.jsonl.gz"}
	f.Add([]byte(short), uint8(0))
	f.Add([]byte("mean radius,\"a\nb\"\n1,2\n"), uint8(0))
	f.Add([]byte(`{"mean radius": 1, "mean texture": "x"}`+"\n[1,2]\n"), uint8(1))
	f.Add(predlog.Compress(nil, []byte(short)), uint8(2))
	m, s := example.Model(f)
	f.Fuzz(func(t *testing.T, data []byte, kind uint8) {
		ctx := context.Background()
		b := memblob.OpenBucket(nil)
		defer b.Close()
		sc := newScorerFor(b, m, s)
		key := "input/" + names[int(kind)%len(names)]
		if err := b.WriteAll(ctx, key, data, nil); err != nil {
			t.Fatal(err)
		}
		res, err := sc.Score(ctx, key)
		outKey, _ := sc.OutputKey(key)
		if err != nil {
			if ok, _ := b.Exists(ctx, outKey); ok {
				t.Fatalf("failed run (%v) committed %s", err, outKey)
			}
			return
		}
		if res.Scored+res.Failed != res.Rows {
			t.Fatalf("%+v: scored + failed != rows", res)
		}
		out, err := b.ReadAll(ctx, outKey)
		if err != nil {
			t.Fatal(err)
		}
		var records int64
		if strings.Contains(key, ".csv") {
			all, err := csv.NewReader(bytes.NewReader(out)).ReadAll()
			if err != nil {
				t.Fatalf("output is not CSV: %v", err)
			}
			records = int64(len(all)) - 1 // header
		} else {
			records = int64(bytes.Count(out, []byte("\n")))
		}
		if records != res.Scored {
			t.Fatalf("%d output records for %d scored rows", records, res.Scored)
		}
		dec := predlog.NewDecoder(s, m.Info())
		var logged int
		for _, k := range tools.Keys(t, b, sc.LogPrefix) {
			e, err := dec.ReadObject(ctx, b, k, runtime.NewBatch(s, 16), nil)
			if err != nil {
				t.Fatalf("log object %s: %v", k, err)
			}
			logged += len(e)
		}
		if int64(logged) != res.Scored {
			t.Fatalf("%d predictions logged for %d scored rows", logged, res.Scored)
		}
	})
}
