package gcp

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
)

// The predict handler never streams: it sets Content-Length, so an answer
// over Cloud Functions' 32 MiB response limit is replaced before any byte
// of it is sent.
func TestCappedWriter(t *testing.T) {
	for _, n := range []int{10, MaxResponseBytes, MaxResponseBytes + 1} {
		rec := httptest.NewRecorder()
		w := &cappedWriter{ResponseWriter: rec}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Content-Length", strconv.Itoa(n))
		w.WriteHeader(http.StatusOK)
		for sent := 0; sent < n; sent += 1 << 20 {
			w.Write(make([]byte, min(1<<20, n-sent)))
		}
		if n <= MaxResponseBytes {
			if rec.Code != http.StatusOK || rec.Body.Len() != n {
				t.Errorf("%d bytes: %d, %d bytes sent", n, rec.Code, rec.Body.Len())
			}
			continue
		}
		var e struct{ Error, Code string }
		if rec.Code != http.StatusRequestEntityTooLarge || json.Unmarshal(rec.Body.Bytes(), &e) != nil || e.Code != "response_too_large" {
			t.Errorf("%d bytes: %d %.200s", n, rec.Code, rec.Body.Bytes())
		}
		if cl := rec.Header().Get("Content-Length"); cl != strconv.Itoa(rec.Body.Len()) {
			t.Errorf("Content-Length %s for a %d-byte error", cl, rec.Body.Len())
		}
	}
}

func TestStripServicePrefix(t *testing.T) {
	t.Setenv("K_SERVICE", "churn-predict")
	for in, want := range map[string]string{
		"/churn-predict/predict":               "/predict",
		"/churn-predict":                       "/",
		"/churn-predict/v2/models/churn/infer": "/v2/models/churn/infer",
		"/predict":                             "/predict",
		"/churn-predictor/predict":             "/churn-predictor/predict",
	} {
		r := httptest.NewRequest(http.MethodPost, in, nil)
		stripServicePrefix(r)
		if r.URL.Path != want {
			t.Errorf("%s → %s, want %s", in, r.URL.Path, want)
		}
	}
}
