package main

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// A run against a real HTTP server: every request it counts was answered,
// the bodies go in turn, and the percentiles are of those requests.
func TestRun(t *testing.T) {
	var mu sync.Mutex
	seen := map[string]int{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		if r.Method != http.MethodPost || r.URL.Path != "/predict" || r.Header.Get("Content-Type") != "application/json" {
			http.Error(w, "bad request", http.StatusBadRequest)
			return
		}
		if string(b) == `{"slow":true}` {
			time.Sleep(2 * time.Millisecond)
		}
		mu.Lock()
		seen[string(b)]++
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"ok":true}`)
	}))
	defer srv.Close()

	bodies := [][]byte{[]byte(`{"fast":true}`), []byte(`{"fast":true}`), []byte(`{"fast":true}`), []byte(`{"slow":true}`)}
	r, err := Run(context.Background(), srv.URL+"/predict", 4, 300*time.Millisecond, bodies)
	if err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	fast, slow := seen[`{"fast":true}`], seen[`{"slow":true}`]
	mu.Unlock()
	if r.Requests != fast+slow || r.Requests < 20 {
		t.Errorf("counted %d requests; the server answered %d fast and %d slow", r.Requests, fast, slow)
	}
	// In turn: three fast to one slow, give or take the last round.
	if d := fast - 3*slow; d < -12 || d > 12 {
		t.Errorf("sent %d fast and %d slow bodies, want 3:1", fast, slow)
	}
	// A quarter of the requests sleep 2 ms: the median is below that, the
	// 99th percentile above.
	if !(r.P50 < 2 && r.P99 >= 2) || r.RPS <= 0 {
		t.Errorf("p50 %.3f ms, p99 %.3f ms, %.0f req/s: want p50 < 2 ms <= p99", r.P50, r.P99, r.RPS)
	}
}

// Anything but a 200 with a Content-Length fails the run, naming it.
func TestRunFailures(t *testing.T) {
	for _, tc := range []struct {
		name    string
		handler http.HandlerFunc
		want    string
	}{
		{"server error", func(w http.ResponseWriter, r *http.Request) { http.Error(w, "boom", http.StatusInternalServerError) }, "HTTP/1.1 500"},
		{"no length", func(w http.ResponseWriter, r *http.Request) {
			io.WriteString(w, "part")
			w.(http.Flusher).Flush() // chunked from here
		}, "without a Content-Length"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(tc.handler)
			defer srv.Close()
			_, err := Run(context.Background(), srv.URL+"/predict", 2, time.Second, [][]byte{[]byte(`{}`)})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err %v, want one saying %q", err, tc.want)
			}
		})
	}
	if _, err := Run(context.Background(), "localhost:1/predict", 1, time.Second, [][]byte{[]byte(`{}`)}); err == nil || !strings.Contains(err.Error(), "want http://") {
		t.Errorf("a URL without a scheme: err %v", err)
	}
}

// wrk's correction, worked by hand: four requests on one connection in
// 400 µs make an interval of 100 µs, so the 1,000 µs one adds the eight
// requests the connection would have sent meanwhile (900 µs down to 200).
func TestWrkCorrected(t *testing.T) {
	got := wrkCorrected([]int64{100, 100, 100, 1000}, 400*time.Microsecond, 1)
	want := []int64{100, 100, 100, 1000, 900, 800, 700, 600, 500, 400, 300, 200}
	if !slices.Equal(got, want) {
		t.Fatalf("corrected %v, want %v", got, want)
	}
	// wrk's ranks: round(p% of 12 + 0.5), the 7th and the 12th value.
	if p50, p99 := wrkPercentile(got, 50), wrkPercentile(got, 99); p50 != 500 || p99 != 1000 {
		t.Errorf("p50 %v, p99 %v µs, want 500 and 1000", p50, p99)
	}
	// Below twice the interval nothing is added.
	if got := wrkCorrected([]int64{100, 199}, 200*time.Microsecond, 1); len(got) != 2 {
		t.Errorf("added %v", got[2:])
	}
}
