package xgboost

import (
	"context"
	"fmt"
	"math/rand"
	"testing"

	"github.com/modelfn/modelfn/runtime"
)

// BenchmarkPredict scores 1,000 rows with the binary fixture (40 trees):
// its rows over and over, and rows no tree has seen before (each value
// scaled at random). The walk is branchy, so repeated rows, whose splits
// the branch predictor learns, score much faster than fresh ones, as in
// real traffic. (A branchless walk of four trees at once, which doubled
// the ONNX forest's speed, was slower here on both.)
func BenchmarkPredict(b *testing.B) {
	exp, s, m := openFixture(b, "binary_logistic")
	rng := rand.New(rand.NewSource(1))
	for _, fresh := range []bool{false, true} {
		const n = 1000
		batch := runtime.NewBatch(s, n)
		for i := 0; i < n; i++ {
			r := batch.Begin(i)
			for c, v := range exp.Rows[i%len(exp.Rows)] {
				x := 0.0
				if v != nil {
					x = *v
				}
				if fresh {
					x *= 0.5 + rng.Float64()
				}
				if e := r.Number(c, x, ""); e != nil {
					b.Fatal(e)
				}
			}
			if e := r.End(); e != nil {
				b.Fatal(e)
			}
		}
		out := make([]float64, n*m.Info().Outputs)
		b.Run(fmt.Sprintf("fresh=%v", fresh), func(b *testing.B) {
			for range b.N {
				if err := m.Predict(context.Background(), batch, out); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
		})
	}
}
