package drift

import (
	"encoding/json"
	"fmt"
	"math"
	"strings"
	"testing"
)

// Past SampleCap, results come from the sketches (or the samples), say so,
// and stay within their stated error bound of the exact raw-data values.
func TestSketchedResultsWithinBound(t *testing.T) {
	t.Parallel()
	ref, cur := table(11, 60000, 0), table(12, 40000, 0.1)
	opt := ProfileOptions{SampleCap: 2000}
	rp, cp := profileOf(ref, opt), profileOf(cur, opt)
	for _, method := range []string{MethodKS, MethodWasserstein, MethodPSI, MethodJS, MethodEnergy, MethodAnderson} {
		cfg := Config{Method: method}
		exact := CompareData(clone(ref), clone(cur), cfg).Columns[0]
		sk := Compare(rp, cp, cfg).Columns[0]
		if sk.Status != StatusOK {
			t.Fatalf("%s: %+v", method, sk)
		}
		diff := math.Abs(float64(sk.Statistic - exact.Statistic))
		switch method {
		case MethodKS, MethodWasserstein:
			if sk.Source != SourceSketch || sk.ErrorBound == nil {
				t.Fatalf("%s: source %q bound %v", method, sk.Source, sk.ErrorBound)
			}
			if diff > *sk.ErrorBound {
				t.Errorf("%s: sketch %.5f vs exact %.5f, off by %.5f > bound %.5f", method, sk.Statistic, exact.Statistic, diff, *sk.ErrorBound)
			}
		case MethodAnderson:
			if sk.Source != SourceSample {
				t.Errorf("%s: source %q", method, sk.Source)
			}
		default:
			if sk.Source != SourceSketch {
				t.Errorf("%s: source %q", method, sk.Source)
			}
			// No stated bound; a loose sanity check that it is the same quantity.
			if diff > 0.05*math.Max(float64(exact.Statistic), 0.01)+0.01 {
				t.Errorf("%s: sketch %.5f vs exact %.5f", method, sk.Statistic, exact.Statistic)
			}
		}
		if sk.Drifted != exact.Drifted {
			t.Errorf("%s: verdict differs: sketch %v exact %v (%.4f vs %.4f)", method, sk.Drifted, exact.Drifted, sk.Statistic, exact.Statistic)
		}
		t.Logf("%-16s exact %.6f sketch %.6f", method, float64(exact.Statistic), float64(sk.Statistic))
	}
	// Columns with few distinct values stay exact past the cap.
	y := Compare(rp, cp, Config{Method: MethodChiSquare}).Columns[1]
	ye := CompareData(clone(ref), clone(cur), Config{Method: MethodChiSquare}).Columns[1]
	if y.Source != SourceExact || !closeStat(float64(y.Statistic), float64(ye.Statistic)) {
		t.Errorf("few-valued column: %+v vs %+v", y, ye)
	}
}

func TestProfileAddAllocationFree(t *testing.T) {
	p := profileOf(table(1, 30000, 0), ProfileOptions{SampleCap: 1000})
	nums := []float64{0.5, 2, 0, 0.25}
	strs := []string{"", "", "b", ""}
	allocs := testing.AllocsPerRun(20000, func() { p.Add(nums, strs) })
	if allocs > 0.05 {
		t.Fatalf("%.3f allocations per Add", allocs)
	}
}

func f64(v float64) *float64 { return &v }

// Data quality: missing/extra columns, type errors, completeness,
// out-of-range and unseen categories, counted and judged.
func TestDataQuality(t *testing.T) {
	t.Parallel()
	refCols := []Column{{Name: "age", Kind: Numeric}, {Name: "city", Kind: Categorical}, {Name: "gone", Kind: Numeric}}
	ref := NewProfile(refCols, ProfileOptions{})
	for i := 0; i < 100; i++ {
		ref.Add([]float64{float64(20 + i%50), 0, 1}, []string{"", []string{"paris", "rome"}[i%2], ""})
	}
	schema := ref.Schema()
	if *schema[0].Min != 20 || *schema[0].Max != 69 || len(schema[1].Categories) != 2 {
		t.Fatalf("schema: %+v", schema)
	}
	curCols := []Column{schema[0], schema[1], {Name: "new", Kind: Numeric}}
	cur := NewProfile(curCols, ProfileOptions{})
	for i := 0; i < 100; i++ {
		age := float64(30 + i%50) // 10 values above 69
		city := []string{"paris", "rome", "oslo", ""}[i%4]
		switch {
		case i < 10:
			cur.AddRow([]float64{0, 0, 1}, []string{"", city, ""}, []int{0}) // age arrived as text
		case i < 20:
			cur.Add([]float64{math.NaN(), 0, 1}, []string{"", city, ""})
		default:
			cur.Add([]float64{age, 0, 1}, []string{"", city, ""})
		}
	}
	r := Compare(ref, cur, Config{})
	q := r.Quality
	if len(q.MissingColumns) != 1 || q.MissingColumns[0] != "gone" || len(q.ExtraColumns) != 1 || q.ExtraColumns[0] != "new" {
		t.Fatalf("columns: %+v %+v", q.MissingColumns, q.ExtraColumns)
	}
	age, city := q.Columns[0], q.Columns[1]
	if age.TypeErrors != 10 || age.Missing != 10 || age.Rows != 100 || age.Completeness != 0.9 {
		t.Errorf("age: %+v", age)
	}
	if age.OutOfRange != 20 || age.OutOfRangeEstimated { // ages 70..79: i%50 >= 40, i.e. i = 40..49 and 90..99
		t.Errorf("age out of range: %d", age.OutOfRange)
	}
	if city.UnseenCategories != 25 || city.Missing != 25 || city.UnseenExamples[0] != "oslo" {
		t.Errorf("city: %+v", city)
	}
	checks := map[string]bool{}
	for _, v := range q.Violations {
		checks[v.Feature+"/"+v.Check] = true
	}
	for _, want := range []string{"gone/" + CheckMissingColumn, "new/" + CheckExtraColumn, "age/" + CheckDataType,
		"age/" + CheckCompleteness, "age/" + CheckOutOfRange, "city/" + CheckCategorical, "city/" + CheckCompleteness} {
		if !checks[want] {
			t.Errorf("missing violation %s in %+v", want, q.Violations)
		}
	}
}

// NaN and ±Inf are dropped before any statistic (and counted): the result
// equals the one on the finite values alone.
func TestNonFiniteDropped(t *testing.T) {
	t.Parallel()
	ref, cur := table(21, 500, 0), table(22, 400, 0.2)
	clean := func(d *Data) *Data {
		c := clone(d)
		for i, x := range c.Nums {
			var keep []float64
			for _, v := range x {
				if !math.IsNaN(v) && !math.IsInf(v, 0) {
					keep = append(keep, v)
				}
			}
			if x != nil {
				c.Nums[i] = keep
			}
		}
		return c
	}
	dirty := func(d *Data) *Data {
		c := clone(d)
		c.Nums[0] = append(c.Nums[0], math.NaN(), math.Inf(-1), math.Inf(1), math.NaN())
		c.Strs[2] = append(c.Strs[2], "", "", "", "")
		c.Nums[1] = append(c.Nums[1], 1, 2, 3, 0)
		c.Nums[3] = append(c.Nums[3], math.NaN(), math.NaN(), math.NaN(), math.NaN())
		return c
	}
	for _, m := range []string{MethodKS, MethodWasserstein, MethodPSI, MethodAnderson, MethodCVM, MethodEnergy} {
		a := CompareData(clean(ref), clean(cur), Config{Method: m}).Columns[0]
		b := CompareData(dirty(ref), dirty(cur), Config{Method: m})
		if a.Statistic != b.Columns[0].Statistic || mustJSON(t, a.PValue) != mustJSON(t, b.Columns[0].PValue) {
			t.Errorf("%s: %v/%v with non-finite values, %v/%v without", m, b.Columns[0].Statistic, b.Columns[0].PValue, a.Statistic, a.PValue)
		}
		q := b.Quality.Columns[0]
		if q.Missing != 1+2 || q.NonFinite != 1+2 { // table() puts one NaN and one +Inf in column x
			t.Errorf("%s: missing %d non-finite %d", m, q.Missing, q.NonFinite)
		}
	}
}

// Comparisons only read their profiles: one reference may be compared
// with several windows at once (run with -race).
func TestConcurrentCompareSharedReference(t *testing.T) {
	t.Parallel()
	ref := profileOf(table(31, 5000, 0), ProfileOptions{SampleCap: 500})
	done := make(chan string, 4)
	for k := 0; k < 4; k++ {
		go func(k int) {
			cur := profileOf(table(uint64(40+k), 3000, 0.1*float64(k)), ProfileOptions{SampleCap: 500})
			r := Compare(ref, cur, Config{Also: Methods()})
			done <- mustJSON(t, r.Dataset)
		}(k)
	}
	for k := 0; k < 4; k++ {
		<-done
	}
}

// Categories past MaxCategories pool into one bucket; results say so.
func TestCategoryCap(t *testing.T) {
	t.Parallel()
	cols := []Column{{Name: "id", Kind: Categorical}}
	opt := ProfileOptions{MaxCategories: 5}
	ref, cur := NewProfile(cols, opt), NewProfile(cols, opt)
	for i := 0; i < 2000; i++ {
		ref.Add(nil, []string{fmt.Sprint(i % 8)})
		cur.Add(nil, []string{fmt.Sprint(i % 10)})
	}
	r := Compare(ref, cur, Config{Method: MethodChiSquare}).Columns[0]
	if r.Source != SourceSketch || r.Note == "" || r.Status != StatusOK {
		t.Fatalf("capped categories: %+v", r)
	}
	b, _ := json.Marshal(cur)
	if !strings.Contains(string(b), `"other":1000`) {
		t.Fatalf("other bucket: %s", b)
	}
}

// Without an allowed range in the current columns, out-of-range values are
// counted against the reference's observed range.
func TestOutOfRangeFromReference(t *testing.T) {
	t.Parallel()
	col := []Column{{Name: "v"}}
	ref := &Data{Columns: col, Nums: [][]float64{{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}}}
	cur := &Data{Columns: col, Nums: [][]float64{{-1, 0, 5, 9, 10, 10, math.NaN()}}}
	q := CompareData(ref, cur, Config{}).Quality.Columns[0]
	if q.OutOfRange != 3 || q.OutOfRangeEstimated || q.Rows != 7 || q.Missing != 1 {
		t.Fatalf("%+v", q)
	}
}

// Merging a profile with a small sample into one with a large cap keeps
// the merged sample uniform: each side contributes in proportion to rows.
func TestMergeSampleStaysUniform(t *testing.T) {
	t.Parallel()
	col := []Column{{Name: "v"}}
	big := NewProfile(col, ProfileOptions{SampleCap: 1000})
	small := NewProfile(col, ProfileOptions{SampleCap: 50})
	for i := 0; i < 5000; i++ {
		big.Add([]float64{0}, nil)
		small.Add([]float64{1}, nil)
	}
	if err := big.Merge(small); err != nil {
		t.Fatal(err)
	}
	vals := big.num[0].values
	ones := 0
	for _, v := range vals {
		if v == 1 {
			ones++
		}
	}
	if len(vals) == 0 || math.Abs(float64(ones)/float64(len(vals))-0.5) > 0.05 {
		t.Fatalf("merged sample has %d ones of %d; the rows are half ones", ones, len(vals))
	}
}
