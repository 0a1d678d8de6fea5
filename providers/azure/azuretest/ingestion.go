// Package azuretest holds the local counterparts the Azure provider's
// tests run against: Azurite (Blob Storage), a Logs Ingestion endpoint
// and a managed-identity endpoint that the real SDK clients talk to, and
// a runner that starts a built function app the way the Functions host
// does and sends it the host's documented invocation payloads.
package azuretest

import (
	"compress/gzip"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/modelfn/modelfn/functions/monitoring"
	"github.com/modelfn/modelfn/providers/azure/azuremonitor"
)

// Ingestion is a local Azure Monitor Logs Ingestion endpoint (a data
// collection endpoint serving one rule and stream) over TLS, as the SDK
// refuses bearer tokens over plain HTTP. It checks each upload the way
// the service and the custom table would: path, api-version, bearer
// token, gzip, the 1 MB limit and the table's columns and types; it
// answers 204 and keeps the rows, or the service's error shape.
type Ingestion struct {
	Server       *httptest.Server
	Rule, Stream string
	// Authorize decides whether a bearer token is accepted (nil: any
	// non-empty token).
	Authorize func(token string) bool

	mu       sync.Mutex
	rows     []azuremonitor.Row
	problems []string
	uploads  int
	fail     int // answer the next fail uploads with 503
}

// NewIngestion starts an endpoint; it stops when the test ends.
func NewIngestion(t testing.TB, rule, stream string) *Ingestion {
	in := &Ingestion{Rule: rule, Stream: stream}
	in.Server = httptest.NewTLSServer(http.HandlerFunc(in.serve))
	t.Cleanup(in.Server.Close)
	return in
}

// URL is the driver URL that writes here.
func (in *Ingestion) URL() string {
	u := url.URL{Scheme: azuremonitor.Scheme, Host: strings.TrimPrefix(in.Server.URL, "https://")}
	u.RawQuery = url.Values{"rule": {in.Rule}, "stream": {in.Stream}}.Encode()
	return u.String()
}

// CertFile writes the server's certificate as PEM into dir, for a child
// process's SSL_CERT_FILE.
func (in *Ingestion) CertFile(t testing.TB, dir string) string {
	p := filepath.Join(dir, "ingestion-cert.pem")
	data := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: in.Server.Certificate().Raw})
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// FailNext makes the next n uploads fail with 503 (the SDK retries them).
func (in *Ingestion) FailNext(n int) {
	in.mu.Lock()
	in.fail = n
	in.mu.Unlock()
}

// Rows are the rows accepted so far.
func (in *Ingestion) Rows() []azuremonitor.Row {
	in.mu.Lock()
	defer in.mu.Unlock()
	return append([]azuremonitor.Row(nil), in.rows...)
}

// Uploads counts accepted uploads.
func (in *Ingestion) Uploads() int {
	in.mu.Lock()
	defer in.mu.Unlock()
	return in.uploads
}

// Problems are the refused uploads' reasons.
func (in *Ingestion) Problems() []string {
	in.mu.Lock()
	defer in.mu.Unlock()
	return append([]string(nil), in.problems...)
}

// Metrics decodes the rows back into metrics; it fails if any upload was
// refused.
func (in *Ingestion) Metrics() ([]monitoring.Metric, error) {
	if p := in.Problems(); len(p) > 0 {
		return nil, fmt.Errorf("the ingestion endpoint refused %d uploads: %s", len(p), strings.Join(p, "; "))
	}
	var ms []monitoring.Metric
	for _, r := range in.Rows() {
		ms = append(ms, monitoring.Metric{Name: r.Name, Value: r.Value, Labels: r.Labels, Time: r.TimeGenerated})
	}
	return ms, nil
}

// columns is the custom table: column → JSON type.
var columns = map[string]string{
	"TimeGenerated": "datetime", "Name": "string", "Value": "number",
	"Model": "string", "Version": "string", "Feature": "string", "Labels": "object",
}

func (in *Ingestion) serve(w http.ResponseWriter, r *http.Request) {
	rows, status, msg := in.check(r)
	in.mu.Lock()
	defer in.mu.Unlock()
	if status == http.StatusNoContent && in.fail > 0 {
		in.fail--
		status, msg = http.StatusServiceUnavailable, "service unavailable (injected)"
	}
	if status != http.StatusNoContent {
		if status != http.StatusServiceUnavailable {
			in.problems = append(in.problems, msg)
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		json.NewEncoder(w).Encode(map[string]any{"error": map[string]string{"code": http.StatusText(status), "message": msg}})
		return
	}
	in.rows = append(in.rows, rows...)
	in.uploads++
	w.WriteHeader(http.StatusNoContent)
}

// check validates one upload as the service would.
func (in *Ingestion) check(r *http.Request) ([]azuremonitor.Row, int, string) {
	want := "/dataCollectionRules/" + in.Rule + "/streams/" + in.Stream
	switch {
	case r.Method != http.MethodPost:
		return nil, http.StatusMethodNotAllowed, "method " + r.Method
	case r.URL.Path != want:
		return nil, http.StatusNotFound, fmt.Sprintf("path %s, want %s", r.URL.Path, want)
	case r.URL.Query().Get("api-version") != "2023-01-01":
		return nil, http.StatusBadRequest, "api-version " + r.URL.Query().Get("api-version")
	case !strings.HasPrefix(r.Header.Get("Content-Type"), "application/json"):
		return nil, http.StatusUnsupportedMediaType, "content type " + r.Header.Get("Content-Type")
	}
	token, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok || token == "" || (in.Authorize != nil && !in.Authorize(token)) {
		return nil, http.StatusUnauthorized, "missing or unknown bearer token"
	}
	var body io.Reader = r.Body
	switch enc := r.Header.Get("Content-Encoding"); enc {
	case "gzip":
		zr, err := gzip.NewReader(r.Body)
		if err != nil {
			return nil, http.StatusBadRequest, "gzip: " + err.Error()
		}
		body = zr
	case "":
	default:
		return nil, http.StatusBadRequest, "content encoding " + enc
	}
	data, err := io.ReadAll(io.LimitReader(body, azuremonitor.MaxRequestBytes+1))
	if err != nil {
		return nil, http.StatusBadRequest, err.Error()
	}
	if len(data) > azuremonitor.MaxRequestBytes {
		return nil, http.StatusRequestEntityTooLarge, "body over 1 MB"
	}
	var raw []map[string]json.RawMessage
	if err := json.Unmarshal(data, &raw); err != nil {
		return nil, http.StatusBadRequest, "body is not a JSON array of objects: " + err.Error()
	}
	for i, obj := range raw {
		if err := checkRow(obj); err != nil {
			return nil, http.StatusBadRequest, fmt.Sprintf("row %d: %v", i, err)
		}
	}
	var rows []azuremonitor.Row
	if err := json.Unmarshal(data, &rows); err != nil {
		return nil, http.StatusBadRequest, err.Error()
	}
	return rows, http.StatusNoContent, ""
}

func checkRow(obj map[string]json.RawMessage) error {
	for k := range obj {
		if _, ok := columns[k]; !ok {
			return fmt.Errorf("column %q is not in the table", k)
		}
	}
	for col, typ := range columns {
		v, ok := obj[col]
		if !ok {
			return fmt.Errorf("column %q missing", col)
		}
		var x any
		if err := json.Unmarshal(v, &x); err != nil {
			return err
		}
		ok = false
		switch typ {
		case "string":
			_, ok = x.(string)
		case "number":
			_, ok = x.(float64)
		case "object":
			_, ok = x.(map[string]any)
		case "datetime":
			if s, isStr := x.(string); isStr {
				_, err := time.Parse(time.RFC3339Nano, s)
				ok = err == nil
			}
		}
		if !ok {
			return fmt.Errorf("column %q: %s is not a %s", col, v, typ)
		}
	}
	return nil
}
