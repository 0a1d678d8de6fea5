package batch_test

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gocloud.dev/blob/fileblob"

	"github.com/modelfn/modelfn/functions/batch"
	"github.com/modelfn/modelfn/functions/predlog"
)

// rowsReader streams a CSV of n data rows, cycling the example's holdout
// rows, without holding it in memory.
type rowsReader struct {
	lines []string
	n, i  int
	buf   []byte
}

func newRowsReader(t testing.TB, n int) *rowsReader {
	data, err := os.ReadFile(filepath.Join(exampleDir, "holdout.csv"))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(data)), "\n")
	r := &rowsReader{lines: lines[1:], n: n}
	r.buf = []byte(lines[0] + "\n")
	return r
}

func (r *rowsReader) Read(p []byte) (int, error) {
	for len(r.buf) < len(p) && r.i < r.n {
		r.buf = append(r.buf, r.lines[r.i%len(r.lines)]...)
		r.buf = append(r.buf, '\n')
		r.i++
	}
	if len(r.buf) == 0 {
		return 0, io.EOF
	}
	n := copy(p, r.buf)
	r.buf = r.buf[:copy(r.buf, r.buf[n:])] // the rest to the front: no garbage of its own
	return n, nil
}

// BenchmarkBatchCSV scores a 1,000,000-row CSV (about 190 MB) from a
// stream to a discarding writer: parsing, validation, scoring and output
// encoding, without the prediction log.
func BenchmarkBatchCSV(b *testing.B) {
	const rows = 1_000_000
	sc := newScorer(b, nil)
	sc.ChunkRows = 1024
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		res, err := sc.Stream(context.Background(), newRowsReader(b, rows), "csv", io.Discard, nil)
		if err != nil || res.Scored != rows {
			b.Fatal(res, err)
		}
	}
	b.ReportMetric(float64(rows)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
}

// BenchmarkBatchObject scores a 1,000,000-row object from a filesystem
// bucket into the same bucket, prediction log included: the whole batch
// function as it runs locally.
func BenchmarkBatchObject(b *testing.B) {
	const rows = 1_000_000
	dir := b.TempDir()
	bucket, err := fileblob.OpenBucket(dir, &fileblob.Options{NoTempDir: true, Metadata: fileblob.MetadataDontWrite})
	if err != nil {
		b.Fatal(err)
	}
	w, err := bucket.NewWriter(context.Background(), "input/big.csv", nil)
	if err != nil {
		b.Fatal(err)
	}
	io.Copy(w, newRowsReader(b, rows))
	w.Close()
	sc := newScorer(b, bucket)
	sc.ChunkRows = 1024
	sc.Encoder = predlog.NewEncoder("breast-cancer", "1", sc.Schema, sc.Model.Info())
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		res, err := sc.Score(context.Background(), "input/big.csv")
		if err != nil || res.Scored != rows {
			b.Fatal(res, err)
		}
	}
	b.ReportMetric(float64(rows)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
	_ = batch.ErrNotInput
}
