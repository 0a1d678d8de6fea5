package onnx

import (
	"context"
	"fmt"
	"testing"

	"github.com/modelfn/modelfn/runtime"
)

// BenchCase is one model and batch size of the speed comparison with
// onnxruntime (testing/onnx/benchcmp runs the same through both).
type benchCase struct {
	fixture string
	rows    int
}

var benchCases = []benchCase{
	{"rf_digits", 1}, {"rf_digits", 1000}, // 100 trees, depth 6
	{"mlp_digits", 1}, {"mlp_digits", 1000}, // 64 -> 64 -> 32 -> 10
}

// repeatBatch builds n rows by cycling through the fixture's rows.
func repeatBatch(t testing.TB, f *fixture, s *runtime.Schema, n int) *runtime.Batch {
	b := runtime.NewBatch(s, n)
	for i := 0; i < n; i++ {
		one := f.batch(t, s, i%len(f.Rows), i%len(f.Rows)+1)
		r := b.Begin(i)
		for c := range one.X[:s.Width()] {
			if e := r.Number(c, one.X[c], ""); e != nil {
				t.Fatal(e)
			}
		}
		if e := r.End(); e != nil {
			t.Fatal(e)
		}
	}
	return b
}

func fixtureByName(t testing.TB, name string) *fixture {
	for _, f := range loadFixtures(t) {
		if f.Name == name {
			return f
		}
	}
	t.Fatalf("no fixture %s", name)
	return nil
}

// BenchmarkPredict times Predict per batch; allocs/op is per batch.
func BenchmarkPredict(b *testing.B) {
	for _, c := range benchCases {
		b.Run(fmt.Sprintf("%s/batch=%d", c.fixture, c.rows), func(b *testing.B) {
			f := fixtureByName(b, c.fixture)
			s := f.schema(b)
			m, err := Open(f.model, runtime.Spec{Schema: s})
			if err != nil {
				b.Fatal(err)
			}
			batch := repeatBatch(b, f, s, c.rows)
			out := make([]float64, c.rows*m.Info().Outputs)
			ctx := context.Background()
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if err := m.Predict(ctx, batch, out); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// TestOneRowAllocations: a warmed-up one-row prediction allocates nothing
// in proportion to the model (the frames and scratch are pooled).
func TestOneRowAllocations(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are not meaningful under the race detector (sync.Pool drops items)")
	}
	for _, name := range []string{"rf_digits", "mlp_digits", "pipeline_breast", "logreg_iris", "gbc_breast", "gbr_diabetes"} {
		f := fixtureByName(t, name)
		s := f.schema(t)
		m, err := Open(f.model, runtime.Spec{Schema: s})
		if err != nil {
			t.Fatal(err)
		}
		b := f.batch(t, s, 0, 1)
		out := make([]float64, m.Info().Outputs)
		allocs := testing.AllocsPerRun(50, func() {
			if err := m.Predict(context.Background(), b, out); err != nil {
				t.Fatal(err)
			}
		})
		t.Logf("%s: %.0f allocations per one-row prediction", name, allocs)
		if allocs > 4 {
			t.Errorf("%s: %.0f allocations per one-row prediction", name, allocs)
		}
	}
}
