package graph

import (
	"fmt"
	"testing"
)

// BenchmarkGemm times the float32 product on the MLP fixture's three
// layer shapes at 1,000 rows (m×n×k), with the split rule in force.
func BenchmarkGemm(b *testing.B) {
	for _, sz := range [][3]int{{1000, 64, 64}, {1000, 32, 64}, {1000, 10, 32}} {
		m, n, k := sz[0], sz[1], sz[2]
		a, w, c := make([]float32, m*k), make([]float32, k*n), make([]float32, m*n)
		for i := range a {
			a[i] = float32(i%7) * 0.1
		}
		for i := range w {
			w[i] = float32(i%5) * 0.1
		}
		b.Run(fmt.Sprintf("%dx%dx%d", m, n, k), func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				gemmRowsParallel(m, n, k, a, k, w, n, c, nil, false)
			}
			b.ReportMetric(float64(2*m*n*k)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
		})
	}
}
