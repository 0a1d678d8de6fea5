package drift

import (
	"encoding/json"
	"math"
	"math/rand/v2"
	"reflect"
	"testing"
)

func testColumns() []Column {
	return []Column{
		{Name: "x", Kind: Numeric},
		{Name: "y", Kind: Numeric},
		{Name: "c", Kind: Categorical},
		{Name: "pred", Kind: Numeric, Role: Prediction},
	}
}

// table makes n rows of the test columns, shifted by shift.
func table(seed uint64, n int, shift float64) *Data {
	rng := rand.New(rand.NewPCG(seed, 1))
	d := &Data{Columns: testColumns(), Nums: make([][]float64, 4), Strs: make([][]string, 4)}
	cats := []string{"a", "b", "c", "d"}
	for i := 0; i < n; i++ {
		d.Nums[0] = append(d.Nums[0], rng.NormFloat64()+shift)
		d.Nums[1] = append(d.Nums[1], math.Floor(rng.Float64()*4))
		d.Strs[2] = append(d.Strs[2], cats[int(math.Min(3, math.Abs(rng.NormFloat64()+shift)*1.5))])
		d.Nums[3] = append(d.Nums[3], rng.Float64()+shift/4)
	}
	if n >= 3 {
		d.Nums[0][0] = math.NaN()
		d.Nums[0][1] = math.Inf(1)
		d.Strs[2][2] = ""
	}
	return d
}

func profileOf(d *Data, opt ProfileOptions) *Profile {
	p := NewProfile(d.Columns, opt)
	nums := make([]float64, len(d.Columns))
	strs := make([]string, len(d.Columns))
	for r := 0; r < int(d.Rows()); r++ {
		for i := range d.Columns {
			if d.Nums[i] != nil {
				nums[i] = d.Nums[i][r]
			}
			if d.Strs[i] != nil {
				strs[i] = d.Strs[i][r]
			}
		}
		p.Add(nums, strs)
	}
	return p
}

func clone(d *Data) *Data {
	c := &Data{Columns: d.Columns, Nums: make([][]float64, len(d.Nums)), Strs: d.Strs}
	for i, x := range d.Nums {
		c.Nums[i] = append([]float64(nil), x...)
	}
	return c
}

// Exact profiles (rows <= SampleCap) give the raw-data report exactly,
// whether built in one piece or merged from windows.
func TestCompareProfilesEqualsRawData(t *testing.T) {
	t.Parallel()
	ref, cur := table(1, 3000, 0), table(2, 2000, 0.3)
	cfg := Config{Also: Methods()}
	want := CompareData(clone(ref), clone(cur), cfg)

	rp := profileOf(ref, ProfileOptions{})
	cp := NewProfile(cur.Columns, ProfileOptions{})
	for w := 0; w < 4; w++ { // four windows of 500 rows, merged
		part := &Data{Columns: cur.Columns, Nums: make([][]float64, 4), Strs: make([][]string, 4)}
		for i := range cur.Columns {
			if cur.Nums[i] != nil {
				part.Nums[i] = cur.Nums[i][w*500 : (w+1)*500]
			}
			if cur.Strs[i] != nil {
				part.Strs[i] = cur.Strs[i][w*500 : (w+1)*500]
			}
		}
		if err := cp.Merge(profileOf(part, ProfileOptions{})); err != nil {
			t.Fatal(err)
		}
	}
	got := Compare(rp, cp, cfg)
	if !reflect.DeepEqual(mustJSON(t, got), mustJSON(t, want)) {
		t.Fatalf("profile report differs from raw report:\n got %s\nwant %s", mustJSON(t, got), mustJSON(t, want))
	}
	if len(got.PredictionDrift) != 1 || got.PredictionDrift[0].Name != "pred" || len(got.Columns) != 3 {
		t.Fatalf("prediction column not listed apart: %+v", got)
	}
	if got.Columns[0].Method != MethodWasserstein || !got.Columns[0].Drifted || got.Columns[0].Source != SourceExact {
		t.Fatalf("x: %+v", got.Columns[0])
	}
	if q := got.Quality.Columns[0]; q.Missing != 1 || q.NonFinite != 1 {
		t.Fatalf("x quality: %+v", q)
	}
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// JSON round-trips a profile exactly, exact or sketched, and its size is
// bounded by the caps, not the rows.
func TestProfileJSONRoundTrip(t *testing.T) {
	t.Parallel()
	for _, n := range []int{0, 1, 50, 30000} {
		p := profileOf(table(3, n, 0), ProfileOptions{SampleCap: 1000})
		b, err := json.Marshal(p)
		if err != nil {
			t.Fatal(err)
		}
		var q Profile
		if err := json.Unmarshal(b, &q); err != nil {
			t.Fatal(err)
		}
		b2, err := json.Marshal(&q)
		if err != nil {
			t.Fatal(err)
		}
		if string(b) != string(b2) {
			t.Fatalf("n=%d: round trip changed the profile", n)
		}
		// The restored profile keeps working the same way.
		more := table(4, 100, 0)
		p.Merge(profileOf(more, ProfileOptions{SampleCap: 1000}))
		q.Merge(profileOf(more, ProfileOptions{SampleCap: 1000}))
		if mustJSON(t, p) != mustJSON(t, &q) {
			t.Fatalf("n=%d: restored profile merges differently", n)
		}
		if q.Rows() != n+100 {
			t.Fatalf("rows %d", q.Rows())
		}
	}
	small, _ := json.Marshal(profileOf(table(5, 20000, 0), ProfileOptions{SampleCap: 1000}))
	large, _ := json.Marshal(profileOf(table(5, 200000, 0), ProfileOptions{SampleCap: 1000}))
	if float64(len(large)) > 1.3*float64(len(small)) {
		t.Fatalf("profile grows with rows: %d bytes at 20k rows, %d at 200k", len(small), len(large))
	}
}

func TestEmptyWindowIsNotEnoughData(t *testing.T) {
	t.Parallel()
	ref := profileOf(table(1, 100, 0), ProfileOptions{})
	cur := NewProfile(testColumns(), ProfileOptions{})
	r := Compare(ref, cur, Config{})
	for _, c := range r.All() {
		if c.Status != StatusNotEnoughData || c.Drifted || c.Reason == "" {
			t.Fatalf("empty window gave a verdict: %+v", c)
		}
	}
	if r.Dataset.Status != StatusNotEnoughData || r.Dataset.Drifted {
		t.Fatalf("dataset: %+v", r.Dataset)
	}
	if _, err := json.Marshal(r); err != nil {
		t.Fatal(err)
	}
}

// Methods and thresholds can be forced globally and per column; the
// dataset verdict is the share of drifted features against DriftShare.
func TestOverridesAndDatasetShare(t *testing.T) {
	t.Parallel()
	ref, cur := table(51, 3000, 0), table(52, 3000, 0.3)
	r := CompareData(clone(ref), clone(cur), Config{Method: MethodPSI, Threshold: 0.9,
		Columns: map[string]ColumnConfig{"y": {Method: MethodKS}, "c": {Threshold: 0.0005}}, DriftShare: 0.3})
	byName := map[string]ColumnResult{}
	for _, c := range r.All() {
		byName[c.Name] = c
	}
	if x := byName["x"]; x.Method != MethodPSI || x.Threshold != 0.9 || x.Drifted {
		t.Errorf("x: %+v", x)
	}
	if y := byName["y"]; y.Method != MethodKS || y.Threshold != 0.9 {
		t.Errorf("y: %+v", y)
	}
	if c := byName["c"]; c.Method != MethodPSI || c.Threshold != 0.0005 || !c.Drifted {
		t.Errorf("c: %+v", c)
	}
	d := r.Dataset
	if d.Columns != 3 || d.DriftedColumns != 1 || d.Share != 1.0/3 || !d.Drifted || d.Threshold != 0.3 {
		t.Errorf("dataset: %+v", d)
	}
	if err := (Config{Method: "nope"}).Validate(); err == nil {
		t.Error("unknown method validated")
	}
	if c := CompareData(clone(ref), clone(cur), Config{Method: "nope"}).Columns[0]; c.Status != StatusError {
		t.Errorf("unknown method: %+v", c)
	}
	// A numeric-only method forced on a categorical column falls back to auto.
	if c := CompareData(clone(ref), clone(cur), Config{Method: MethodKS}).Columns[2]; c.Method != MethodJS || c.Note == "" {
		t.Errorf("ks on categorical: %+v", c)
	}
}
