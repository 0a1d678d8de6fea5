package gcp

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"strconv"
	"strings"

	"github.com/modelfn/modelfn/runtime"
)

// Cloud Functions (2nd gen) limits on an HTTP function: the request body,
// and a response that is not streamed (the predict API never streams).
// Above them the adapter answers 413 in the predict API's error shape
// rather than let Google's front end cut the exchange.
const (
	MaxRequestBytes  = 32 << 20
	MaxResponseBytes = 32 << 20
)

// Predict is the HTTP entry point: the predict API, with the same paths,
// statuses and error bodies as `modelfn serve`.
func (f *Functions) Predict(w http.ResponseWriter, r *http.Request) {
	app, err := f.App(r.Context())
	if err != nil {
		f.log.Error("predict: the function could not start", "err", err)
		writeError(w, http.StatusServiceUnavailable, "unavailable", "the function could not start; its logs say why")
		return
	}
	stripServicePrefix(r)
	if r.ContentLength > MaxRequestBytes {
		writeError(w, http.StatusRequestEntityTooLarge, runtime.CodeTooLarge,
			fmt.Sprintf("request body over Cloud Functions' %d-byte request limit; split the rows into smaller requests or use batch scoring", MaxRequestBytes))
		return
	}
	if r.Body != nil {
		r.Body = http.MaxBytesReader(w, r.Body, MaxRequestBytes)
	}
	app.Handler().ServeHTTP(&cappedWriter{ResponseWriter: w}, r)
}

// stripServicePrefix removes "/SERVICE" in front of the path, which a
// request reaching the function through its cloudfunctions.net URL
// (https://REGION-PROJECT.cloudfunctions.net/SERVICE/predict) may carry,
// so routes are the same as locally.
func stripServicePrefix(r *http.Request) {
	svc := os.Getenv("K_SERVICE")
	if svc == "" {
		return
	}
	p := r.URL.Path
	if rest, ok := strings.CutPrefix(p, "/"+svc); ok && (rest == "" || rest[0] == '/') {
		if rest == "" {
			rest = "/"
		}
		r.URL.Path, r.URL.RawPath = rest, ""
	}
}

// cappedWriter answers 413 instead of a response over MaxResponseBytes. The
// predict handler sets Content-Length before writing, so the size is known
// when the header is written and nothing is buffered.
type cappedWriter struct {
	http.ResponseWriter
	wrote, dropped bool
}

func (c *cappedWriter) WriteHeader(status int) {
	if c.wrote {
		return
	}
	c.wrote = true
	if n, err := strconv.ParseInt(c.Header().Get("Content-Length"), 10, 64); err == nil && n > MaxResponseBytes {
		c.dropped = true
		writeError(c.ResponseWriter, http.StatusRequestEntityTooLarge, "response_too_large",
			fmt.Sprintf("the answer (%d bytes) is over Cloud Functions' %d-byte response limit; send fewer rows per request or use batch scoring", n, MaxResponseBytes))
		return
	}
	c.ResponseWriter.WriteHeader(status)
}

func (c *cappedWriter) Write(b []byte) (int, error) {
	c.WriteHeader(http.StatusOK)
	if c.dropped {
		return len(b), nil
	}
	return c.ResponseWriter.Write(b)
}

// writeError answers in the predict API's error shape.
func writeError(w http.ResponseWriter, status int, code, msg string) {
	b, _ := json.Marshal(struct {
		Error string `json:"error"`
		Code  string `json:"code"`
	}{msg, code})
	b = append(b, '\n')
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(status)
	w.Write(b)
}
