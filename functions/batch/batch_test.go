package batch_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/modelfn/modelfn/testing/example"
	"github.com/modelfn/modelfn/testing/tools"

	"gocloud.dev/blob"
	"gocloud.dev/blob/memblob"

	"github.com/modelfn/modelfn/functions/batch"
	"github.com/modelfn/modelfn/functions/predlog"
	"github.com/modelfn/modelfn/runtime"
	_ "github.com/modelfn/modelfn/runtime/xgboost"
)

var exampleDir = example.Dir

func newScorer(t testing.TB, b *blob.Bucket) *batch.Scorer {
	m, s := example.Model(t)
	return newScorerFor(b, m, s)
}

func newScorerFor(b *blob.Bucket, m runtime.Model, s *runtime.Schema) *batch.Scorer {
	return &batch.Scorer{Model: m, Schema: s, Bucket: b, InputPrefix: "input/", OutputPrefix: "output/", ErrorsPrefix: "errors/",
		ChunkRows: 7, LogBucket: b, LogPrefix: "predictions/breast-cancer/1/",
		Encoder: predlog.NewEncoder("breast-cancer", "1", s, m.Info())}
}

// holdoutWithBadRows is the example's holdout CSV with bad rows spliced in
// at known lines.
func holdoutWithBadRows(t testing.TB) (string, map[int]string) {
	data, err := os.ReadFile(filepath.Join(exampleDir, "holdout.csv"))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(data)), "\n")
	bad := map[int]string{}
	out := []string{lines[0]}
	for i, l := range lines[1:] {
		switch i {
		case 3:
			out = append(out, "x"+l) // not a number
			bad[len(out)] = "invalid_type"
		case 5:
			out = append(out, l+",extra") // ragged
			bad[len(out)] = "wrong_shape"
		case 9:
			f := strings.Split(l, ",")
			f[1] = "" // missing, not nullable
			out = append(out, strings.Join(f, ","))
			bad[len(out)] = "not_nullable"
		default:
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n") + "\n", bad
}

func TestCSV(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	b := memblob.OpenBucket(nil)
	sc := newScorer(t, b)
	in, bad := holdoutWithBadRows(t)
	if err := b.WriteAll(ctx, "input/day/one.csv", []byte(in), nil); err != nil {
		t.Fatal(err)
	}
	res, err := sc.Score(ctx, "input/day/one.csv")
	if err != nil {
		t.Fatal(err)
	}
	_, want := example.Holdout(t)
	if res.Rows != int64(len(want)) || res.Failed != 3 || res.Scored != int64(len(want)-3) {
		t.Fatalf("result %+v", res)
	}
	out, err := b.ReadAll(ctx, "output/day/one.csv")
	if err != nil {
		t.Fatal(err)
	}
	recs, err := csv.NewReader(bytes.NewReader(out)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	hdr := recs[0]
	if got := strings.Join(hdr[len(hdr)-4:], ","); got != "prediction_id,prediction,probability_malignant,probability_benign" {
		t.Fatalf("header ends %s", got)
	}
	// Good rows keep their order; compare each with xgboost's answer for
	// its holdout row.
	holdRow := 0
	for _, rec := range recs[1:] {
		for bad[holdRow+2] != "" {
			holdRow++
		}
		for j := 0; j < 2; j++ {
			p, _ := strconv.ParseFloat(rec[len(rec)-2+j], 64)
			if math.Abs(p-want[holdRow][j]) > 1e-5 {
				t.Fatalf("holdout row %d: %v, xgboost %v", holdRow, rec[len(rec)-2:], want[holdRow])
			}
		}
		holdRow++
	}
	errs, err := b.ReadAll(ctx, "errors/day/one.csv.errors.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	got := map[int]string{}
	for _, l := range strings.Split(strings.TrimSpace(string(errs)), "\n") {
		var e struct {
			Line        int
			Code, Error string
		}
		if err := json.Unmarshal([]byte(l), &e); err != nil || e.Error == "" {
			t.Fatalf("errors line %q: %v", l, err)
		}
		got[e.Line] = e.Code
	}
	if fmt.Sprint(got) != fmt.Sprint(bad) {
		t.Fatalf("errors %v, want %v", got, bad)
	}
	// Each scored row's record holds the probabilities the output has,
	// digit for digit.
	logKeys := tools.Keys(t, b, "predictions/")
	if len(logKeys) != 1 {
		t.Fatalf("log objects %v", logKeys)
	}
	gz, _ := b.ReadAll(ctx, logKeys[0])
	zr, err := gzip.NewReader(bytes.NewReader(gz))
	if err != nil {
		t.Fatal(err)
	}
	logged := map[string]string{}
	for dec := json.NewDecoder(zr); dec.More(); {
		var r struct {
			ID         string
			Prediction struct{ Probabilities map[string]json.Number }
		}
		if err := dec.Decode(&r); err != nil {
			t.Fatal(err)
		}
		logged[r.ID] = fmt.Sprintf("%s,%s", r.Prediction.Probabilities["malignant"], r.Prediction.Probabilities["benign"])
	}
	for _, rec := range recs[1:] {
		if id, p := rec[len(rec)-4], strings.Join(rec[len(rec)-2:], ","); logged[id] != p {
			t.Fatalf("row %s: logged %q, output %q", id, logged[id], p)
		}
	}
	if len(logged) != len(recs)-1 {
		t.Fatalf("%d records logged, %d rows scored", len(logged), len(recs)-1)
	}
}

// TestRerunIsIdempotent scores the same object twice: same output, same
// errors, the same log objects (overwritten, not added).
func TestRerunIsIdempotent(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	b := memblob.OpenBucket(nil)
	sc := newScorer(t, b)
	in, _ := holdoutWithBadRows(t)
	b.WriteAll(ctx, "input/a.csv", []byte(in), nil)
	snapshot := func() map[string]string {
		m := map[string]string{}
		it := b.List(nil)
		for {
			o, err := it.Next(ctx)
			if err != nil {
				break
			}
			data, _ := b.ReadAll(ctx, o.Key)
			if strings.HasPrefix(o.Key, "predictions/") {
				data = logIDs(t, data)
			}
			m[o.Key] = string(data)
		}
		return m
	}
	if _, err := sc.Score(ctx, "input/a.csv"); err != nil {
		t.Fatal(err)
	}
	first := snapshot()
	if _, err := sc.Score(ctx, "input/a.csv"); err != nil {
		t.Fatal(err)
	}
	second := snapshot()
	if len(first) != len(second) || len(first) != 4 { // input, output, errors, one log object
		t.Fatalf("objects %d then %d: %v", len(first), len(second), keys(second))
	}
	for k, v := range first {
		if second[k] != v {
			t.Fatalf("%s changed on re-run", k)
		}
	}
}

// TestSampledLog: with a sample rate, the log holds exactly the scored rows
// whose ids the rate keeps (every row is still scored and written out),
// and a re-run keeps the same ones.
func TestSampledLog(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	b := memblob.OpenBucket(nil)
	sc := newScorer(t, b)
	sc.LogSample = 0.5
	in, _ := holdoutWithBadRows(t)
	b.WriteAll(ctx, "input/a.csv", []byte(in), nil)
	var logged []string
	for run := 0; run < 2; run++ {
		res, err := sc.Score(ctx, "input/a.csv")
		if err != nil {
			t.Fatal(err)
		}
		out, _ := b.ReadAll(ctx, "output/a.csv")
		recs, err := csv.NewReader(bytes.NewReader(out)).ReadAll()
		if err != nil || int64(len(recs)-1) != res.Scored {
			t.Fatalf("%d output rows for %d scored: %v", len(recs)-1, res.Scored, err)
		}
		var want []string
		for _, rec := range recs[1:] {
			if id := rec[len(rec)-4]; sc.LogSample.Keep(id) {
				want = append(want, id)
			}
		}
		logKeys := tools.Keys(t, b, "predictions/")
		if len(logKeys) != 1 {
			t.Fatalf("log objects %v", logKeys)
		}
		gz, _ := b.ReadAll(ctx, logKeys[0])
		got := string(logIDs(t, gz))
		if got != strings.Join(want, ",") || len(want) == 0 || int64(len(want)) == res.Scored {
			t.Fatalf("run %d: logged %q, want the %d of %d scored rows the rate keeps: %q", run+1, got, len(want), res.Scored, want)
		}
		if run == 1 && got != logged[0] {
			t.Fatal("a re-run logged other rows")
		}
		logged = append(logged, got)
	}
}

// TestLogKeepsCSVText: a logged row's numbers are its CSV fields as
// written when they are JSON numbers ("12.50" stays "12.50", not 12.5); a
// row with a number that is not ("+5", " 7", ".5", "007") is logged with
// the values read, so every record is JSON. A refused row between them must
// not shift one row's text onto another's record, and columns out of the
// schema's order land on their own features.
func TestLogKeepsCSVText(t *testing.T) {
	t.Parallel()
	data, err := os.ReadFile(filepath.Join(exampleDir, "holdout.csv"))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(data)), "\n")
	asWritten := strings.Split(lines[1], ",")
	copy(asWritten, []string{"12.50", "1E1", "-0", "0.0", ""})
	notJSON := strings.Split(lines[2], ",")
	copy(notJSON, []string{"+5", " 7", ".5", "007", "12.50", "5.", "1e+01"})
	read := map[string]string{"+5": "5", " 7": "7", ".5": "0.5", "007": "7", "12.50": "12.5", "5.": "5", "1e+01": "10"}
	in := []string{lines[0], strings.Join(asWritten, ","), "x" + lines[3], strings.Join(notJSON, ",")}
	in = append(in, lines[4:]...)
	for _, swapped := range []bool{false, true} {
		rows := in
		if swapped { // the first two columns change places
			rows = nil
			for _, l := range in {
				f := strings.Split(l, ",")
				f[0], f[1] = f[1], f[0]
				rows = append(rows, strings.Join(f, ","))
			}
		}
		ctx := context.Background()
		b := memblob.OpenBucket(nil)
		sc := newScorer(t, b)
		sc.Schema.Features[4].Nullable = true // asWritten's empty field
		if err := b.WriteAll(ctx, "input/forms.csv", []byte(strings.Join(rows, "\n")+"\n"), nil); err != nil {
			t.Fatal(err)
		}
		if res, err := sc.Score(ctx, "input/forms.csv"); err != nil || res.Failed != 1 {
			t.Fatalf("result %+v, %v", res, err)
		}
		// Each output row is its input row as written, then its id.
		out, _ := b.ReadAll(ctx, "output/forms.csv")
		recs, err := csv.NewReader(bytes.NewReader(out)).ReadAll()
		if err != nil {
			t.Fatal(err)
		}
		header := recs[0]
		input := map[string][]string{}
		for _, rec := range recs[1:] {
			input[rec[len(rec)-4]] = rec
		}
		logKeys := tools.Keys(t, b, "predictions/")
		gz, _ := b.ReadAll(ctx, logKeys[0])
		zr, err := gzip.NewReader(bytes.NewReader(gz))
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for dec := json.NewDecoder(zr); dec.More(); n++ {
			var r struct {
				ID       string
				Features map[string]json.RawMessage
			}
			if err := dec.Decode(&r); err != nil {
				t.Fatal(err)
			}
			row := input[r.ID]
			if row == nil {
				t.Fatalf("record %s is no output row's", r.ID)
			}
			formatted := slices.Contains(row, notJSON[0])
			for i, name := range header[:len(sc.Schema.Features)] {
				want := row[i]
				if formatted && read[want] != "" {
					want = read[want]
				}
				if want == "" {
					want = "null"
				}
				if got := string(r.Features[name]); got != want {
					t.Errorf("swapped %v, row %s, %s: logged %s, want %s (written %q)", swapped, r.ID, name, got, want, row[i])
				}
			}
		}
		if n != len(recs)-1 {
			t.Fatalf("%d records for %d rows", n, len(recs)-1)
		}
	}
}

// logIDs reduces a log object to its record ids (timestamps and latency
// change between runs; the ids must not).
func logIDs(t testing.TB, gz []byte) []byte {
	zr, err := gzip.NewReader(bytes.NewReader(gz))
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	dec := json.NewDecoder(zr)
	for dec.More() {
		var r struct{ ID string }
		if err := dec.Decode(&r); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, r.ID)
	}
	return []byte(strings.Join(ids, ","))
}

func keys(m map[string]string) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	return ks
}

func TestJSONLinesGzip(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	b := memblob.OpenBucket(nil)
	sc := newScorer(t, b)
	m, s := example.Model(t)
	_ = m
	data, _ := os.ReadFile(filepath.Join(exampleDir, "holdout.csv"))
	recs, _ := csv.NewReader(bytes.NewReader(data)).ReadAll()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	for i, rec := range recs[1:6] {
		row := map[string]any{"customer": fmt.Sprint("c", i)} // passed through
		for j, h := range recs[0] {
			if _, ok := s.Index(h); ok {
				v, _ := strconv.ParseFloat(rec[j], 64)
				row[h] = v
			}
		}
		line, _ := json.Marshal(row)
		zw.Write(append(line, '\n'))
		if i == 2 {
			zw.Write([]byte("\n[1,2]\n{\"mean radius\": \"x\"}\n")) // blank, array, bad object
		}
	}
	zw.Close()
	b.WriteAll(ctx, "input/x.jsonl.gz", buf.Bytes(), nil)
	res, err := sc.Score(ctx, "input/x.jsonl.gz")
	if err != nil {
		t.Fatal(err)
	}
	if res.Scored != 5 || res.Failed != 2 {
		t.Fatalf("%+v", res)
	}
	out, _ := b.ReadAll(ctx, "output/x.jsonl")
	_, want := example.Holdout(t)
	for i, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		var r struct {
			Customer     string
			PredictionID string `json:"prediction_id"`
			Prediction   struct {
				Label         string
				Probabilities map[string]float64
			}
		}
		if err := json.Unmarshal([]byte(l), &r); err != nil {
			t.Fatalf("line %d %q: %v", i, l, err)
		}
		if r.Customer != fmt.Sprint("c", i) || r.PredictionID == "" || math.Abs(r.Prediction.Probabilities["benign"]-want[i][1]) > 1e-5 {
			t.Fatalf("line %d: %+v, want benign %v", i, r, want[i][1])
		}
	}
	errs, _ := b.ReadAll(ctx, res.Errors)
	if !strings.Contains(string(errs), `"line":5,"code":"wrong_shape"`) || !strings.Contains(string(errs), `"line":6,"code":"invalid_type","field":"mean radius"`) {
		t.Fatalf("errors: %s", errs)
	}
}

// failingModel fails on its n-th call, as a store or model failure
// half-way through a file would. The batch workers call it concurrently.
type failingModel struct {
	runtime.Model
	calls  atomic.Int64
	failAt int64
}

func (f *failingModel) Predict(ctx context.Context, b *runtime.Batch, out []float64) error {
	if f.calls.Add(1) == f.failAt {
		return errors.New("boom")
	}
	return f.Model.Predict(ctx, b, out)
}

func TestFailureLeavesNoOutput(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	b := memblob.OpenBucket(nil)
	sc := newScorer(t, b)
	sc.Model = &failingModel{Model: sc.Model, failAt: 3}
	in, _ := holdoutWithBadRows(t)
	b.WriteAll(ctx, "input/a.csv", []byte(in), nil)
	if _, err := sc.Score(ctx, "input/a.csv"); err == nil || !strings.Contains(err.Error(), "boom") {
		t.Fatalf("err %v", err)
	}
	for _, k := range []string{"output/a.csv", "errors/a.csv.errors.jsonl"} {
		if ok, _ := b.Exists(ctx, k); ok {
			t.Errorf("%s exists after a failed run", k)
		}
	}
	// The log part the run was writing, its first chunks' records in it,
	// is not committed either.
	if keys := tools.Keys(t, b, "predictions/"); len(keys) > 0 {
		t.Errorf("log objects after a failed run: %v", keys)
	}
}

func TestRefusesKeysOutsideInput(t *testing.T) {
	t.Parallel()
	sc := newScorer(t, memblob.OpenBucket(nil))
	for _, k := range []string{"output/a.csv", "input/../output/a.csv", "input/", "input//a.csv", "input/./a.csv", "input/a\\..\\b.csv", "other.csv"} {
		if _, err := sc.Score(context.Background(), k); !errors.Is(err, batch.ErrNotInput) {
			t.Errorf("%q: %v", k, err)
		}
	}
	_, err := sc.Score(context.Background(), "input/a.parquet")
	if !errors.Is(err, batch.ErrBadInput) || !batch.Permanent(err) || !strings.Contains(err.Error(), "unknown format") {
		t.Errorf("parquet: %v", err)
	}
}

func TestHeaderProblems(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	b := memblob.OpenBucket(nil)
	sc := newScorer(t, b)
	b.WriteAll(ctx, "input/a.csv", []byte("mean radius,foo\n1,2\n"), nil)
	if _, err := sc.Score(ctx, "input/a.csv"); !errors.Is(err, batch.ErrBadInput) || !strings.Contains(err.Error(), `line 1`) || !strings.Contains(err.Error(), "feature") {
		t.Fatalf("err %v", err)
	}
	if ok, _ := b.Exists(ctx, "output/a.csv"); ok {
		t.Fatal("output written for a file with a bad header")
	}
}
