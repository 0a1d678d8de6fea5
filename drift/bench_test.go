package drift

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

func benchTable(rows, cols int, seed uint64, shift float64) *Data {
	rng := rand.New(rand.NewPCG(seed, 99))
	d := &Data{Columns: make([]Column, cols), Nums: make([][]float64, cols)}
	for j := range cols {
		d.Columns[j] = Column{Name: fmt.Sprintf("f%02d", j)}
		x := make([]float64, rows)
		for i := range x {
			x[i] = rng.NormFloat64() + shift*float64(j%2)
		}
		d.Nums[j] = x
	}
	return d
}

// BenchmarkFullReport1Mx20 is the benchmark: a full report (KS with
// p-value, normalised Wasserstein, PSI, Jensen-Shannon, data quality,
// plots) over reference and current tables of 1,000,000 rows × 20 numeric
// features. testing/drift/bench_driver.py compares it with scipy.
func BenchmarkFullReport1Mx20(b *testing.B) {
	ref, cur := benchTable(1_000_000, 20, 1, 0), benchTable(1_000_000, 20, 2, 0.05)
	rc, cc := cloneData(ref), cloneData(cur)
	cfg := Config{Method: MethodWasserstein, Also: []string{MethodKS, MethodPSI, MethodJS}}
	b.ResetTimer()
	for range b.N {
		b.StopTimer()
		for j := range ref.Nums {
			copy(rc.Nums[j], ref.Nums[j])
			copy(cc.Nums[j], cur.Nums[j])
		}
		b.StartTimer()
		CompareData(rc, cc, cfg)
	}
}

// BenchmarkProfileAdd is the steady-state cost of adding one row of 20
// numeric features to a profile past its sample cap.
func BenchmarkProfileAdd(b *testing.B) {
	d := benchTable(200_000, 20, 3, 0)
	p := NewProfile(d.Columns, ProfileOptions{})
	row := make([]float64, 20)
	b.ResetTimer()
	for i := range b.N {
		r := i % 200_000
		for j := range row {
			row[j] = d.Nums[j][r]
		}
		p.Add(row, nil)
	}
}
