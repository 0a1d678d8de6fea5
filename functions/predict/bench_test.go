package predict_test

import (
	"encoding/json"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/modelfn/modelfn/testing/example"
)

// BenchmarkPredictHTTP measures a request through the handler: decoding,
// validation, scoring and encoding (no network, no prediction log).
func BenchmarkPredictHTTP(b *testing.B) {
	for _, n := range []int{1, 100, 1000} {
		b.Run(benchName(n), func(b *testing.B) {
			m, s := example.Model(b)
			h := predictHandler(m, s, 10000)
			rows, _ := example.Holdout(b)
			inst := make([]map[string]float64, n)
			for i := range inst {
				inst[i] = rows[i%len(rows)]
			}
			body, _ := json.Marshal(map[string]any{"instances": inst})
			b.SetBytes(int64(len(body)))
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				req := httptest.NewRequest("POST", "/predict", strings.NewReader(string(body)))
				req.Header.Set("Content-Type", "application/json")
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, req)
				if rec.Code != 200 {
					b.Fatal(rec.Body.String())
				}
			}
			b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
		})
	}
}

func benchName(n int) string {
	if n == 1 {
		return "1row"
	}
	return itoa(n) + "rows"
}

func itoa(n int) string {
	s := ""
	for ; n > 0; n /= 10 {
		s = string(rune('0'+n%10)) + s
	}
	return s
}
