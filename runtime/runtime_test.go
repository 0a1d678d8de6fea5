package runtime_test

import (
	"errors"
	"io"
	"math"
	"strings"
	"testing"

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
