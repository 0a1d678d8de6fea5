package runtime_test

import (
	"io"
	"math"
	"strings"
	"testing"

	"github.com/go-json-experiment/json/jsontext"

	"github.com/modelfn/modelfn/runtime"
)

// readInstances is the full decoder's reading of {"instances": [row, ...]},
// the reference ScanInstances must agree with.
func readInstances(s *runtime.Schema, body string, maxRows int) (*runtime.Batch, bool) {
	b := runtime.NewBatch(s, 4)
	dec := runtime.JSONDecoder(nil, strings.NewReader(body))
	if tok, err := dec.ReadToken(); err != nil || tok.Kind() != '{' {
		return b, false
	}
	if tok, err := dec.ReadToken(); err != nil || tok.String() != "instances" {
		return b, false
	}
	if tok, err := dec.ReadToken(); err != nil || tok.Kind() != '[' {
		return b, false
	}
	for dec.PeekKind() != ']' {
		if b.Rows == maxRows || b.ReadJSONRow(dec, b.Rows, false) != nil {
			return b, false
		}
	}
	for _, want := range []jsontext.Kind{']', '}'} {
		if tok, err := dec.ReadToken(); err != nil || tok.Kind() != want {
			return b, false
		}
	}
	_, err := dec.ReadToken()
	return b, err == io.EOF && b.Rows > 0
}

func numbers(t testing.TB) *runtime.Schema {
	s, err := runtime.NewSchema([]runtime.Feature{
		{Name: "age", Type: runtime.Numeric},
		{Name: "income", Type: runtime.Numeric},
		{Name: "score é", Type: runtime.Numeric},
	}, false)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestScanInstances(t *testing.T) {
	s := numbers(t)
	for _, tc := range []struct {
		body string
		fast bool // ScanInstances takes it; otherwise the full decoder must
	}{
		{`{"instances":[{"age":41,"income":5.2e4,"score é":-0.5}]}`, true},
		{` { "instances" : [ { "score é" : 1 , "income" : 2 , "age" : 3 } , [4, 5, 6E-2] ] } ` + "\n", true},
		{`{"instances":[{"age":1,"income":2,"score é":3},{"income":2,"age":1,"score é":3},{"score é":3,"age":1,"income":2}]}`, true},
		{`{"instances":[[0,-0,1234567890.1234567890123]]}`, true},
		{`{"instances":[[1e400,0,0]]}`, false},                           // overflows: the full decoder's error
		{`{"instances":[[01,0,0]]}`, false},                              // not JSON
		{`{"instances":[[1.,0,0]]}`, false},                              // not JSON
		{`{"instances":[[.5,0,0]]}`, false},                              // not JSON
		{`{"instances":[[+5,0,0]]}`, false},                              // not JSON
		{`{"instances":[[1e,0,0]]}`, false},                              // not JSON
		{`{"instances":[[1,0]]}`, false},                                 // too short
		{`{"instances":[[1,0,0,0]]}`, false},                             // too long
		{`{"instances":[{"age":1,"income":2}]}`, false},                  // missing
		{`{"instances":[{"age":1,"income":2,"age":1}]}`, false},          // twice
		{`{"instances":[{"age":1,"income":2,"score \u00e9":3}]}`, false}, // an escape: the full decoder unquotes it
		{`{"instances":[{"age":1,"income":2,"score é":null}]}`, false},
		{`{"instances":[{"age":"1","income":2,"score é":3}]}`, false},
		{`{"instances":[{"age":1,"income":2,"score é":3,"x":1}]}`, false},
		{`{"instances":[]}`, false},
		{`{"instances":[[1,2,3]],"x":1}`, false},
		{`{"instances":[[1,2,3]]}x`, false},
		{`{"instances":[[1,2,3]]`, false},
		{`{"instances":[[1,2,3],]}`, false},
		{`{"instances":[[1,2,3] [1,2,3]]}`, false},
		{`{"instances":[{"age" "age":1,"income":2,"score é":3}]}`, false},
		{`{"instances":[{"age":1,"income" "income":2,"score é":3}]}`, false},
	} {
		for _, keepText := range []bool{false, true} {
			fast := runtime.NewBatch(s, 1)
			if got := fast.ScanInstances([]byte(tc.body), 10, keepText); got != tc.fast {
				t.Errorf("%s (text %v): ScanInstances %v, want %v", tc.body, keepText, got, tc.fast)
				continue
			}
			if tc.fast {
				full, ok := readInstances(s, tc.body, 10)
				if !ok {
					t.Errorf("%s: the full decoder refuses what the fast path took", tc.body)
				}
				sameBatch(t, tc.body, fast, full)
			} else if fast.Rows != 0 || fast.Text != nil {
				t.Errorf("%s: refused but left %d rows", tc.body, fast.Rows)
			}
		}
	}
	b := runtime.NewBatch(s, 1)
	body := []byte(`{"instances":[{"age":1.50,"income":2e3,"score é":-0}]}`)
	if !b.ScanInstances(body, 10, true) || strings.Join(b.Text, " ") != "1.50 2e3 -0" {
		t.Errorf("Text %q, want the numbers as written", b.Text)
	}
	if !b.ScanInstances(body, 10, false) || b.Text != nil {
		t.Errorf("Text %q kept when not asked for", b.Text)
	}
	if b.ScanInstances([]byte(`{"instances":[[1,2,3],[4,5,6]]}`), 1, false) {
		t.Error("took more rows than maxRows")
	}
	if n := testing.AllocsPerRun(100, func() { b.ScanInstances(body, 10, false) }); n != 0 {
		t.Errorf("%v allocations per body without text, want none", n)
	}
}

func sameBatch(t testing.TB, body string, got, want *runtime.Batch) {
	t.Helper()
	if got.Rows != want.Rows || len(got.X) != len(want.X) {
		t.Fatalf("%s: %d rows, the full decoder %d", body, got.Rows, want.Rows)
	}
	for i := range got.X {
		if math.Float64bits(got.X[i]) != math.Float64bits(want.X[i]) {
			t.Fatalf("%s: cell %d is %v, the full decoder's %v", body, i, got.X[i], want.X[i])
		}
	}
}

// FuzzScanInstances: whatever the fast path accepts, the full decoder
// accepts too, with the same values bit for bit.
func FuzzScanInstances(f *testing.F) {
	for _, s := range []string{
		`{"instances":[{"age":41,"income":5.2e4,"score é":-0.5}]}`,
		`{"instances":[[1,2,3],[4,5,6]]}`,
		`{"instances":[{"income":2,"age":1,"score é":3},{"score é":3,"age":1,"income":2}]}`,
		`{"instances":[[1e22,1e23,123456789012345678]]}`,
		`{"instances":[[0.000001,-0,1E+2]]}`,
		`{"instances":[{"age":1,"income" "income":2,"score é":3}]}`,
	} {
		f.Add(s)
	}
	s := numbers(f)
	f.Fuzz(func(t *testing.T, body string) {
		fast, withText := runtime.NewBatch(s, 1), runtime.NewBatch(s, 1)
		ok := fast.ScanInstances([]byte(body), 5, false)
		if ok != withText.ScanInstances([]byte(body), 5, true) {
			t.Fatalf("%q: the fast path's answer depends on keeping the text", body)
		}
		if !ok {
			return
		}
		full, ok := readInstances(s, body, 5)
		if !ok {
			t.Fatalf("%q: the full decoder refuses what the fast path took", body)
		}
		sameBatch(t, body, fast, full)
		sameBatch(t, body, withText, full)
	})
}
