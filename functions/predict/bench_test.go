package predict_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"github.com/modelfn/modelfn/functions/predict"
	"github.com/modelfn/modelfn/functions/predlog"
	"github.com/modelfn/modelfn/testing/example"
	"gocloud.dev/blob/memblob"
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
			postRepeatedly(b, h, body, n)
		})
	}
}

func benchName(n int) string {
	if n == 1 {
		return "1row"
	}
	return strconv.Itoa(n) + "rows"
}

// postRepeatedly posts body (of rows rows) to h b.N times, failing on any
// answer but 200, and reports rows/s.
func postRepeatedly(b *testing.B, h http.Handler, body []byte, rows int) {
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		req := httptest.NewRequest("POST", "/predict", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != 200 {
			b.Fatal(rec.Body.String())
		}
	}
	b.ReportMetric(float64(rows)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
}

// BenchmarkPredictHTTPLogged is a request with the prediction log on
// (into a memory bucket): what a served request costs in all, with every
// prediction logged and with a 10% sample.
func BenchmarkPredictHTTPLogged(b *testing.B) {
	for _, n := range []int{1, 100} {
		for _, sample := range []predlog.Sample{1, 0.1} {
			b.Run(benchName(n)+"/sample="+strconv.FormatFloat(float64(sample), 'g', -1, 64), func(b *testing.B) {
				m, s := example.Model(b)
				l := predlog.NewLogger(memblob.OpenBucket(nil), predlog.NewEncoder("breast-cancer", "1", s, m.Info()),
					predlog.Options{Prefix: "p/", FlushRecords: 1000, FlushInterval: time.Second, MaxBuffered: 1 << 30, Sample: sample})
				defer l.Close(context.Background())
				h := predict.New(m, s, predict.Options{Name: "breast-cancer", Version: "1", MaxRows: 1000, MaxBodyBytes: 1 << 24, Log: l})
				rows, _ := example.Holdout(b)
				body, _ := json.Marshal(map[string]any{"instances": rows[:n]})
				postRepeatedly(b, h, body, n)
			})
		}
	}
}
