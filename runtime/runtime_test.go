package runtime_test

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/go-json-experiment/json/jsontext"

	"github.com/modelfn/modelfn/runtime"
)

func schema(t *testing.T, strict bool) *runtime.Schema {
	lo, hi := 0.0, 100.0
	s, err := runtime.NewSchema([]runtime.Feature{
		{Name: "age", Type: runtime.Numeric, Min: &lo, Max: &hi},
		{Name: "plan", Type: runtime.Categorical, Categories: []string{"basic", "pro"}, Nullable: true},
		{Name: "score", Type: runtime.Numeric, Nullable: true},
	}, strict)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func readJSON(t *testing.T, s *runtime.Schema, row string) (*runtime.Batch, *runtime.InputError) {
	b := runtime.NewBatch(s, 1)
	return b, b.ReadJSONRow(jsontext.NewDecoder(strings.NewReader(row)), 7, false)
}

func TestJSONRows(t *testing.T) {
	s := schema(t, false)
	b, err := readJSON(t, s, `{"plan":"pro","score":null,"age":41}`)
	if err != nil {
		t.Fatal(err)
	}
	if r := b.Row(0); r[0] != 41 || r[1] != 1 || !math.IsNaN(r[2]) || b.S[1] != "pro" {
		t.Fatalf("row %v %v", r, b.S)
	}
	// Unseen categories and out-of-range numbers are scored (and monitored)
	// unless the schema is strict.
	b, err = readJSON(t, s, `[200,"gold",1]`)
	if err != nil {
		t.Fatal(err)
	}
	if r := b.Row(0); r[0] != 200 || !math.IsNaN(r[1]) || b.S[1] != "gold" {
		t.Fatalf("row %v %v", r, b.S)
	}
	strict := schema(t, true)
	for row, code := range map[string]string{
		`[200,"pro",1]`:                          runtime.CodeOutOfRange,
		`[20,"gold",1]`:                          runtime.CodeUnseenCategory,
		`[null,"pro",1]`:                         runtime.CodeNotNullable,
		`[20,"pro"]`:                             runtime.CodeWrongShape,
		`{"age":1,"plan":"pro","score":1,"x":2}`: runtime.CodeUnknownFeature,
		`{"age":1,"plan":"pro"}`:                 runtime.CodeMissingFeature,
		`{"age":"1","plan":"pro","score":1}`:     runtime.CodeInvalidType,
		`{"age":1,"plan":"pro","score":1e999}`:   runtime.CodeNonFinite,
		`{"age":1,"plan":{},"score":1}`:          runtime.CodeInvalidType,
		`{"age":1,"plan":"pro","score":1`:        runtime.CodeMalformed,
	} {
		b, err := readJSON(t, strict, row)
		if err == nil || err.Code != code || err.Row != 7 {
			t.Errorf("%s: %v, want %s at row 7", row, err, code)
		}
		if b.Rows != 0 || len(b.X) != 0 {
			t.Errorf("%s: a failed row was kept", row)
		}
	}
	// A categorical feature takes numbers as their text (integer codes).
	b, err = readJSON(t, s, `[1, 2, 3]`)
	if err != nil || b.S[1] != "2" {
		t.Fatalf("%v %q", err, b.S[1])
	}
}

func TestCSVRows(t *testing.T) {
	s := schema(t, false)
	in := "id,age,plan,score\n" +
		"a,30,pro,1.5\n" +
		"b,x,pro,1\n" +
		"\"c,1\",40,\"basic\",\n" +
		"d,50,pro\n" +
		"e,NaN,pro,2\n" +
		"f,60,,NA\n"
	rows, err := runtime.NewCSVRows(strings.NewReader(in), s)
	if err != nil {
		t.Fatal(err)
	}
	b := runtime.NewBatch(s, 8)
	var errs []string
	for {
		err := rows.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		var ie *runtime.InputError
		if errors.As(err, &ie) {
			errs = append(errs, ie.At("in.csv"))
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		if ie := rows.Fill(b); ie != nil {
			errs = append(errs, ie.At("in.csv"))
		}
	}
	want := []string{
		`in.csv:3: field "age": expected a number, got "x"`,
		`in.csv:5: wrong number of fields`,
		`in.csv:6: field "age": missing value not allowed`,
	}
	if len(errs) != len(want) {
		t.Fatalf("errors %q", errs)
	}
	for i := range want {
		if !strings.HasPrefix(errs[i], want[i]) {
			t.Errorf("error %q, want %q…", errs[i], want[i])
		}
	}
	if b.Rows != 3 || b.Row(1)[0] != 40 || !math.IsNaN(b.Row(1)[2]) || b.S[2*3+1] != "" {
		t.Fatalf("%d rows: %v %q", b.Rows, b.X, b.S)
	}
	if rows.Column("id") != 0 {
		t.Fatal("id column")
	}
	if _, err := runtime.NewCSVRows(strings.NewReader("id,age,score\n"), s); err == nil || !strings.Contains(err.Error(), `"plan"`) {
		t.Fatalf("missing column: %v", err)
	}
}

// Chunks come out whole however the reader splits the input: only the
// last one is short.
func TestCSVRowsChunks(t *testing.T) {
	s := schema(t, false)
	in := "age,plan,score\n" + strings.Repeat("30,pro,1.5\n\n31,\"pr\no\",2\n", 500)
	rows, err := runtime.NewCSVRows(iotest.HalfReader(strings.NewReader(in)), s)
	if err != nil {
		t.Fatal(err)
	}
	var ch runtime.CSVChunk
	var sizes []int
	read := 0
	for {
		err := rows.ReadChunk(&ch, 300, 3)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		sizes = append(sizes, ch.Records())
		read += ch.Records()
		// Record r (from 1) of the file starts on line 2r when r is even.
		if last := len(ch.Lines) - 1; ch.Raw[last] != "31,\"pr\no\",2" || ch.Lines[last] != 2*read {
			t.Fatalf("chunk %d ends with %q at line %d", len(sizes), ch.Raw[last], ch.Lines[last])
		}
	}
	if fmt.Sprint(sizes) != "[300 300 300 100]" {
		t.Fatalf("chunks of %v records", sizes)
	}
}

// TestCSVChunkMadeOnce: a chunk after the first is made as large as the
// largest before it at once, not grown to it: reading into a new chunk
// allocates its text and its five slices (growing them took a third of a
// 10,000-row batch's CPU, as the pipeline starts with six new chunks).
func TestCSVChunkMadeOnce(t *testing.T) {
	s := schema(t, false)
	in := "age,plan,score\n" + strings.Repeat("30,pro,1.5\n31,basic,2\n", 60_000)
	rows, err := runtime.NewCSVRows(strings.NewReader(in), s)
	if err != nil {
		t.Fatal(err)
	}
	var first runtime.CSVChunk
	if err := rows.ReadChunk(&first, 1000, 3); err != nil {
		t.Fatal(err)
	}
	allocs := testing.AllocsPerRun(100, func() {
		var ch runtime.CSVChunk
		if err := rows.ReadChunk(&ch, 1000, 3); err != nil || ch.Records() != 1000 {
			t.Fatalf("%d records, %v", ch.Records(), err)
		}
	})
	if allocs > 6 {
		t.Fatalf("%v allocations to read a chunk into a new CSVChunk, want 6", allocs)
	}
}

func TestOpenRecoversPanics(t *testing.T) {
	runtime.Register("test-panics", func([]byte, runtime.Spec) (runtime.Model, error) { panic("boom") })
	_, err := runtime.Open("test-panics", nil, runtime.Spec{})
	if err == nil || !strings.Contains(err.Error(), "boom") {
		t.Fatal(err)
	}
	if _, err := runtime.Open("nope", nil, runtime.Spec{}); err == nil || !strings.Contains(err.Error(), "test-panics") {
		t.Fatal(err)
	}

}

// FuzzCSVRows checks the CSV splitter against encoding/csv: on any input
// encoding/csv reads without error, both give the same records and lines.
// Read one byte at a time, so that every record straddles reads, the
// splitter gives exactly what it gives reading the input whole.
func FuzzCSVRows(f *testing.F) {
	for _, seed := range []string{
		"age,plan,score\n1,pro,2\n3,basic,4\n",
		"age,plan,score\r\n1,\"p,ro\",2\r\n\r\n3,\"a \"\"b\"\"\",4",
		"age,plan,score\n1,\"multi\nline\",2\n",
		"age,plan,score\n1,pro\n",
		"age,plan,score\n1,p\"ro,2\n5,x,6\n",
	} {
		f.Add(seed)
	}
	s, _ := runtime.NewSchema([]runtime.Feature{{Name: "age", Type: runtime.Numeric}}, false)
	f.Fuzz(func(t *testing.T, in string) {
		got, gotLines, ok, gerr := readAll(strings.NewReader(in), s)
		if !ok {
			return // no "age" column, or a bad header
		}
		slow, slowLines, _, serr := readAll(iotest.OneByteReader(strings.NewReader(in)), s)
		if fmt.Sprint(slow, slowLines, serr) != fmt.Sprint(got, gotLines, gerr) {
			t.Fatalf("%q read a byte at a time: %q %v %v; whole: %q %v %v", in, slow, slowLines, serr, got, gotLines, gerr)
		}
		var ie *runtime.InputError
		if gerr != nil && !errors.As(gerr, &ie) {
			t.Fatalf("%q: %v", in, gerr)
		}
		want, wantLines, werr := readAllStd(in)
		if gerr != nil && werr == nil {
			t.Fatalf("%q: %v, encoding/csv read it", in, gerr)
		}
		if werr != nil || gerr != nil || strings.Contains(in, "\r") {
			return // encoding/csv refused it, or rewrote \r\n inside quotes
		}
		if len(got) != len(want) {
			t.Fatalf("%q: %d records, encoding/csv %d", in, len(got), len(want))
		}
		for i := range want {
			if strings.Join(got[i], "\x00") != strings.Join(want[i], "\x00") || gotLines[i] != wantLines[i] {
				t.Fatalf("%q record %d: %q line %d, encoding/csv %q line %d", in, i, got[i], gotLines[i], want[i], wantLines[i])
			}
		}
	})
}

// readAll reads records with CSVRows up to the first error (ok is false
// when the header is refused).
func readAll(r io.Reader, s *runtime.Schema) (recs [][]string, lines []int, ok bool, err error) {
	rows, err := runtime.NewCSVRows(r, s)
	if err != nil {
		return nil, nil, false, err
	}
	for {
		err := rows.Next()
		if errors.Is(err, io.EOF) {
			return recs, lines, true, nil
		}
		if err != nil {
			return recs, lines, true, err
		}
		recs = append(recs, append([]string(nil), rows.Record...))
		lines = append(lines, rows.Line)
	}
}

func readAllStd(in string) ([][]string, []int, error) {
	r := csv.NewReader(strings.NewReader(in))
	if _, err := r.Read(); err != nil {
		return nil, nil, err
	}
	var recs [][]string
	var lines []int
	for {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			return recs, lines, nil
		}
		if err != nil {
			return nil, nil, err
		}
		line, _ := r.FieldPos(0)
		recs = append(recs, rec)
		lines = append(lines, line)
	}
}

// FuzzParseNumber: the fast path agrees with strconv.ParseFloat bit for
// bit, errors included, and so does a CSV field (RowWriter.String, which
// reads JSON-grammar numbers its own way) wherever strconv reads a finite
// number.
func FuzzParseNumber(f *testing.F) {
	for _, s := range []string{"0", "-0", "17.99", "0.1184", "1e5", "1E-5", "123456789012345", "1234567890123456", ".5", "5.", "+3", "1e22", "1e23", "9007199254740993", "0.000000000000000000000001", "abc", "", "-", "1e", "1_0", "0x10", "inf", "NaN", "00", "-01.5", "1e0400"} {
		f.Add(s)
	}
	one, err := runtime.NewSchema([]runtime.Feature{{Name: "x", Type: runtime.Numeric, Nullable: true}}, false)
	if err != nil {
		f.Fatal(err)
	}
	b := runtime.NewBatch(one, 1)
	f.Fuzz(func(t *testing.T, s string) {
		got, gerr := runtime.ParseNumber(s)
		want, werr := strconv.ParseFloat(s, 64)
		if (gerr == nil) != (werr == nil) || (gerr == nil && math.Float64bits(got) != math.Float64bits(want) && !(got != got && want != want)) {
			t.Fatalf("%q: %v %v, strconv %v %v", s, got, gerr, want, werr)
		}
		if werr != nil || math.IsNaN(want) || math.IsInf(want, 0) {
			return
		}
		b.Reset()
		r := b.Begin(0)
		if err := r.String(0, s, false); err != nil || r.End() != nil || math.Float64bits(b.X[0]) != math.Float64bits(want) {
			t.Fatalf("%q as a CSV field: %v %v, strconv %v", s, b.X[0], err, want)
		}
	})
}
