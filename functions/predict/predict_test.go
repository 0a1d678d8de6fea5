package predict_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"regexp"
	goruntime "runtime"
	"strings"
	"testing"
	"testing/iotest"
	"time"

	"gocloud.dev/blob/memblob"

	"github.com/modelfn/modelfn/testing/example"
	"github.com/modelfn/modelfn/testing/tools"

	"github.com/modelfn/modelfn/functions/predict"
	"github.com/modelfn/modelfn/functions/predlog"
	"github.com/modelfn/modelfn/runtime"
	_ "github.com/modelfn/modelfn/runtime/xgboost"
)

func newHandler(t testing.TB) (*predict.Handler, *runtime.Schema) {
	m, s := example.Model(t)
	return predictHandler(m, s, 100), s
}

func predictHandler(m runtime.Model, s *runtime.Schema, maxRows int) *predict.Handler {
	return predict.New(m, s, predict.Options{Name: "breast-cancer", Version: "1", MaxRows: maxRows, MaxBodyBytes: 256 << 10 * int64(max(1, maxRows/100))})
}

func do(h http.Handler, method, path, body string, header ...string) (int, map[string]any, string) {
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	var out map[string]any
	json.Unmarshal(rec.Body.Bytes(), &out)
	return rec.Code, out, rec.Body.String()
}

func TestPredictMatchesXGBoost(t *testing.T) {
	t.Parallel()
	h, _ := newHandler(t)
	rows, want := example.Holdout(t)
	body, _ := json.Marshal(map[string]any{"instances": rows[:100]})
	code, out, raw := do(h, "POST", "/predict", string(body))
	if code != 200 {
		t.Fatalf("status %d: %s", code, raw)
	}
	preds := out["predictions"].([]any)
	if len(preds) != 100 {
		t.Fatalf("%d predictions", len(preds))
	}
	ids := map[string]bool{}
	for i, p := range preds {
		p := p.(map[string]any)
		probs := p["probabilities"].(map[string]any)
		for j, c := range []string{"malignant", "benign"} {
			if d := math.Abs(probs[c].(float64) - want[i][j]); d > 1e-5 {
				t.Errorf("row %d %s: %v, xgboost %v", i, c, probs[c], want[i][j])
			}
		}
		wantLabel := "benign"
		if want[i][0] > want[i][1] {
			wantLabel = "malignant"
		}
		if p["label"] != wantLabel {
			t.Errorf("row %d: label %v, want %s", i, p["label"], wantLabel)
		}
		ids[p["id"].(string)] = true
	}
	if len(ids) != 100 {
		t.Errorf("%d distinct ids for 100 rows", len(ids))
	}
}

func TestOpenInferenceProtocol(t *testing.T) {
	t.Parallel()
	h, s := newHandler(t)
	rows, want := example.Holdout(t)
	names := s.Names()

	// One [N, 30] tensor in schema order.
	var flat []float64
	for _, r := range rows[:3] {
		for _, n := range names {
			flat = append(flat, r[n])
		}
	}
	body, _ := json.Marshal(map[string]any{"id": "req-1", "inputs": []any{map[string]any{"name": "input-0", "shape": []int{3, len(names)}, "datatype": "FP64", "data": flat}}})
	code, out, raw := do(h, "POST", "/v2/models/breast-cancer/infer", string(body))
	if code != 200 {
		t.Fatalf("status %d: %s", code, raw)
	}
	checkOIP(t, out, want[:3])

	// One tensor per feature, nested [N,1] data, through the versioned path.
	var inputs []any
	for _, n := range names {
		var col [][]float64
		for _, r := range rows[:3] {
			col = append(col, []float64{r[n]})
		}
		inputs = append(inputs, map[string]any{"name": n, "shape": []int{3, 1}, "datatype": "FP32", "data": col})
	}
	body, _ = json.Marshal(map[string]any{"inputs": inputs})
	code, out, raw = do(h, "POST", "/v2/models/breast-cancer/versions/1/infer", string(body))
	if code != 200 {
		t.Fatalf("status %d: %s", code, raw)
	}
	checkOIP(t, out, want[:3])
}

func checkOIP(t *testing.T, out map[string]any, want [][2]float64) {
	t.Helper()
	if out["model_name"] != "breast-cancer" || out["model_version"] != "1" {
		t.Errorf("model %v %v", out["model_name"], out["model_version"])
	}
	outputs := out["outputs"].([]any)
	probs := outputs[1].(map[string]any)
	data := probs["data"].([]any)
	for i := range want {
		for j := 0; j < 2; j++ {
			if d := math.Abs(data[i*2+j].(float64) - want[i][j]); d > 1e-5 {
				t.Errorf("row %d class %d: %v, xgboost %v", i, j, data[i*2+j], want[i][j])
			}
		}
	}
	if ids := out["parameters"].(map[string]any)["prediction_ids"].([]any); len(ids) != len(want) {
		t.Errorf("%d prediction ids", len(ids))
	}
}

func TestMetadataAndHealth(t *testing.T) {
	t.Parallel()
	h, _ := newHandler(t)
	for path, want := range map[string]string{
		"/v2/health/live":           `"live":true`,
		"/v2/health/ready":          `"ready":true`,
		"/v2":                       `"name":"modelfn"`,
		"/v2/models/breast-cancer":  `"platform":"modelfn/xgboost-json"`,
		"/v2/models/breast-cancer/": `"classes":["malignant","benign"]`,
		"/v2/models/breast-cancer/versions/1/ready": `"ready":true`,
	} {
		code, _, raw := do(h, "GET", path, "")
		if code != 200 || !strings.Contains(raw, want) {
			t.Errorf("GET %s: %d %s, want %s", path, code, raw, want)
		}
	}
}

// TestBadInput sends every kind of bad request and checks the status, the
// code and that the body names the row and field.
func TestBadInput(t *testing.T) {
	t.Parallel()
	h, s := newHandler(t)
	rows, _ := example.Holdout(t)
	good := func(edit func(map[string]any)) string {
		r := map[string]any{}
		for k, v := range rows[0] {
			r[k] = v
		}
		edit(r)
		b, _ := json.Marshal(map[string]any{"instances": []any{rows[1], r}})
		return string(b)
	}
	arrayRow := func(n int) string {
		vals := make([]string, n)
		for i := range vals {
			vals[i] = "1"
		}
		return `{"instances":[[` + strings.Join(vals, ",") + `]]}`
	}
	many := func(n int) string {
		var b strings.Builder
		b.WriteString(`{"instances":[`)
		for i := 0; i < n; i++ {
			if i > 0 {
				b.WriteString(",")
			}
			b.WriteString(arrayRow(s.Width())[14 : len(arrayRow(s.Width()))-2])
		}
		b.WriteString("]}")
		return b.String()
	}
	tests := []struct {
		name, method, path, body, ctype string
		status                          int
		code, field                     string
		row                             int // -1: none
	}{
		{"malformed JSON", "POST", "/predict", `{"instances": [`, "", 400, "malformed", "", 0},
		{"malformed JSON between rows", "POST", "/predict", strings.TrimSuffix(arrayRow(s.Width()), "}"), "", 400, "malformed", "", -1},
		{"not an object", "POST", "/predict", `[1,2]`, "", 400, "malformed", "", -1},
		{"trailing garbage", "POST", "/predict", arrayRow(s.Width()) + "x", "", 400, "malformed", "", -1},
		{"wrong type", "POST", "/predict", good(func(r map[string]any) { r["mean radius"] = "big" }), "", 422, "invalid_type", "mean radius", 1},
		{"boolean for number", "POST", "/predict", good(func(r map[string]any) { r["mean area"] = true }), "", 422, "invalid_type", "mean area", 1},
		{"nested object", "POST", "/predict", good(func(r map[string]any) { r["mean area"] = map[string]any{"a": []any{1}} }), "", 422, "invalid_type", "mean area", 1},
		{"missing feature", "POST", "/predict", good(func(r map[string]any) { delete(r, "worst area") }), "", 422, "missing_feature", "worst area", 1},
		{"unknown feature", "POST", "/predict", good(func(r map[string]any) { r["shoe size"] = 42 }), "", 422, "unknown_feature", "shoe size", 1},
		{"null not allowed", "POST", "/predict", good(func(r map[string]any) { r["mean texture"] = nil }), "", 422, "not_nullable", "mean texture", 1},
		{"NaN as a string", "POST", "/predict", good(func(r map[string]any) { r["mean texture"] = "NaN" }), "", 422, "invalid_type", "mean texture", 1},
		{"huge number", "POST", "/predict", strings.Replace(arrayRow(s.Width()), "[1,", "[1e400,", 1), "", 422, "non_finite", "mean radius", 0},
		{"short array row", "POST", "/predict", arrayRow(s.Width() - 1), "", 422, "wrong_shape", "worst fractal dimension", 0},
		{"long array row", "POST", "/predict", arrayRow(s.Width() + 1), "", 422, "wrong_shape", "", 0},
		{"scalar row", "POST", "/predict", `{"instances":[5]}`, "", 422, "wrong_shape", "", 0},
		{"no instances", "POST", "/predict", `{}`, "", 422, "missing_feature", "instances", -1},
		{"empty instances", "POST", "/predict", `{"instances":[]}`, "", 422, "wrong_shape", "instances", -1},
		{"unknown top-level field", "POST", "/predict", `{"rows":[]}`, "", 422, "unknown_field", "rows", -1},
		{"too many rows", "POST", "/predict", many(101), "", 413, "too_many_rows", "instances", -1},
		{"body too large", "POST", "/predict", `{"instances":[` + strings.Repeat(" ", 300<<10) + `]}`, "", 413, "body_too_large", "", -1},
		{"invalid UTF-8 key", "POST", "/predict", "{\"instances\":[{\"\xff\":1}]}", "", 400, "malformed", "", 0},
		{"duplicate key", "POST", "/predict", `{"instances":[{"mean radius":1,"mean radius":2}]}`, "", 400, "malformed", "mean radius", 0},
		{"deep nesting", "POST", "/predict", `{"instances":` + strings.Repeat("[", 100000) + strings.Repeat("]", 100000) + `}`, "", 422, "invalid_type", "mean radius", 0},
		{"wrong content type", "POST", "/predict", `{}`, "text/csv", 415, "unsupported_media_type", "", -1},
		{"GET predict", "GET", "/predict", "", "", 405, "method_not_allowed", "", -1},
		{"unknown path", "GET", "/nope", "", "", 404, "not_found", "", -1},
		{"unknown model", "POST", "/v2/models/other/infer", `{}`, "", 404, "model_not_found", "", -1},
		{"unknown version", "GET", "/v2/models/breast-cancer/versions/9", "", "", 404, "model_not_found", "", -1},
		{"OIP no inputs", "POST", "/v2/models/breast-cancer/infer", `{"inputs":[]}`, "", 422, "missing_feature", "inputs", -1},
		{"OIP bad shape", "POST", "/v2/models/breast-cancer/infer", `{"inputs":[{"name":"x","shape":[2,30],"datatype":"FP32","data":[1,2,3]}]}`, "", 422, "wrong_shape", "x", -1},
		{"OIP bad datatype", "POST", "/v2/models/breast-cancer/infer", `{"inputs":[{"name":"x","shape":[1],"datatype":"FP128","data":[1]}]}`, "", 422, "invalid_type", "x", -1},
		{"OIP unknown feature", "POST", "/v2/models/breast-cancer/infer", `{"inputs":[{"name":"mean radius","shape":[1],"datatype":"FP32","data":[1]},{"name":"nope","shape":[1],"datatype":"FP32","data":[1]}]}`, "", 422, "unknown_feature", "nope", -1},
		{"OIP missing feature", "POST", "/v2/models/breast-cancer/infer", `{"inputs":[{"name":"mean radius","shape":[1],"datatype":"FP32","data":[1]},{"name":"mean texture","shape":[1],"datatype":"FP32","data":[1]}]}`, "", 422, "missing_feature", "mean perimeter", -1},
		{"OIP string for number", "POST", "/v2/models/breast-cancer/infer", fmt.Sprintf(`{"inputs":[{"name":"x","shape":[1,%d],"datatype":"BYTES","data":["a"%s]}]}`, s.Width(), strings.Repeat(`,"1"`, s.Width()-1)), "", 422, "invalid_type", "mean radius", 0},
		{"OIP too many elements", "POST", "/v2/models/breast-cancer/infer", `{"inputs":[{"name":"x","shape":[1],"datatype":"FP32","data":[` + strings.TrimSuffix(strings.Repeat("1,", 3001), ",") + `]}]}`, "", 413, "too_many_rows", "x", -1},
		// Found by FuzzPredict: an element that starts like a number and is not one (a 500 before).
		{"OIP broken number", "POST", "/v2/models/breast-cancer/infer", `{"inputs":[{"name":"x","shape":[1],"datatype":"FP32","data":[0.A]}]}`, "", 400, "malformed", "", -1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req := httptest.NewRequest(tc.method, tc.path, strings.NewReader(tc.body))
			req.Header.Set("Content-Type", "application/json")
			if tc.ctype != "" {
				req.Header.Set("Content-Type", tc.ctype)
			}
			if tc.name == "body too large" {
				req.ContentLength = -1 // chunked: the limit must hold while streaming too
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			var out struct {
				Error, Code, Field string
				Row                *int
			}
			if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil {
				t.Fatalf("body is not JSON: %q", rec.Body.String())
			}
			if rec.Code != tc.status || out.Code != tc.code || out.Field != tc.field {
				t.Fatalf("got %d %s field %q, want %d %s field %q: %s", rec.Code, out.Code, out.Field, tc.status, tc.code, tc.field, rec.Body.String())
			}
			if (tc.row < 0) != (out.Row == nil) || (out.Row != nil && *out.Row != tc.row) {
				t.Fatalf("row %v, want %d: %s", out.Row, tc.row, rec.Body.String())
			}
			if out.Error == "" {
				t.Fatal("no error message")
			}
		})
	}
}

// TestKnownAndUnknownLength: a body of known length is scanned in one
// pass when it has the plain shape (runtime.ScanInstances), and otherwise,
// like a chunked body, streamed through the full decoder. Both give the
// same answers, bad input included, and a body shorter than its declared
// length is malformed.
func TestKnownAndUnknownLength(t *testing.T) {
	t.Parallel()
	h, _ := newHandler(t)
	rows, _ := example.Holdout(t)
	good, _ := json.Marshal(map[string]any{"instances": rows[:3]})
	ids := regexp.MustCompile(`"id":"[^"]*"`)
	for _, body := range []string{
		string(good),
		strings.Replace(string(good), `"mean area":`, `"mean area": `, 1),
		strings.Replace(string(good), `"mean area":`, `"mean area":"x","y":`, 1),
		strings.Replace(string(good), `"mean area":`, `"mean \u0061rea":`, 1),
		strings.Replace(string(good), `"mean area":`, `"mean area":1e999,"z":`, 1),
		`{"instances":[]}`,
		`{"instances":[[1,2]]}`,
		`{"instances":[{}]} {}`,
	} {
		answer := func(length int64) (int, string) {
			req := httptest.NewRequest("POST", "/predict", strings.NewReader(body))
			req.ContentLength = length
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			return rec.Code, ids.ReplaceAllString(rec.Body.String(), `"id":"…"`)
		}
		known, knownBody := answer(int64(len(body)))
		chunked, chunkedBody := answer(-1)
		if known != chunked || knownBody != chunkedBody {
			t.Errorf("%.80s:\nknown length: %d %s\nchunked:      %d %s", body, known, knownBody, chunked, chunkedBody)
		}
	}
	// net/http's body reader fails so when the client hangs up early.
	cut := io.MultiReader(bytes.NewReader(good[:len(good)-10]), iotest.ErrReader(io.ErrUnexpectedEOF))
	req := httptest.NewRequest("POST", "/predict", cut)
	req.ContentLength = int64(len(good))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != 400 || !strings.Contains(rec.Body.String(), `"code":"malformed"`) {
		t.Errorf("body shorter than its length: %d %s", rec.Code, rec.Body.String())
	}
}

// TestDeclaredLengthIsNotAllocated: a client that declares a large body
// and sends little makes the server hold what it sent, not what it
// declared. (Not parallel: it reads the process's allocation counter.)
func TestDeclaredLengthIsNotAllocated(t *testing.T) {
	m, s := example.Model(t)
	h := predictHandler(m, s, 10000) // a 25 MiB body limit
	const declared = 20 << 20
	var before, after goruntime.MemStats
	goruntime.ReadMemStats(&before)
	req := httptest.NewRequest("POST", "/predict", io.MultiReader(strings.NewReader(`{"instances":[`), iotest.ErrReader(io.ErrUnexpectedEOF)))
	req.ContentLength = declared
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	goruntime.ReadMemStats(&after)
	if rec.Code != 400 {
		t.Errorf("%d %s", rec.Code, rec.Body.String())
	}
	if n := after.TotalAlloc - before.TotalAlloc; n > declared/10 {
		t.Errorf("a 14-byte body that declared %d bytes cost %d bytes of allocation", declared, n)
	}
}

// TestBodyLimitByHeader refuses a declared oversize body before reading it.
func TestBodyLimitByHeader(t *testing.T) {
	t.Parallel()
	h, _ := newHandler(t)
	req := httptest.NewRequest("POST", "/predict", io.LimitReader(neverEnding{}, 1<<30))
	req.ContentLength = 1 << 30
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != 413 || !bytes.Contains(rec.Body.Bytes(), []byte("body_too_large")) {
		t.Fatalf("%d %s", rec.Code, rec.Body.String())
	}
}

// TestBodyLimitWhileReading cuts a body of unknown length at the limit, on
// both endpoints, and still answers a body just under it.
func TestBodyLimitWhileReading(t *testing.T) {
	t.Parallel()
	h, _ := newHandler(t) // limit 256 KiB
	for _, c := range []struct {
		size        int
		rows, infer string // the code each endpoint answers
	}{{300 << 10, "body_too_large", "body_too_large"}, {256<<10 - 64, "wrong_shape", "missing_feature"}} {
		for path, body := range map[string]string{
			"/predict":                       `{"instances":[` + strings.Repeat(" ", c.size) + `]}`,
			"/v2/models/breast-cancer/infer": `{"inputs":` + strings.Repeat(" ", c.size) + `[]}`,
		} {
			req := httptest.NewRequest("POST", path, strings.NewReader(body))
			req.ContentLength = -1 // as a chunked request arrives
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			want := c.rows
			if path != "/predict" {
				want = c.infer
			}
			if !bytes.Contains(rec.Body.Bytes(), []byte(`"code":"`+want+`"`)) {
				t.Errorf("%s, %d bytes: %d %s, want %s", path, len(body), rec.Code, rec.Body.String(), want)
			}
		}
	}
}

type neverEnding struct{}

func (neverEnding) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = '['
	}
	return len(p), nil
}

func FuzzPredict(f *testing.F) {
	h, _ := newHandler(f)
	rows, _ := example.Holdout(f)
	good, _ := json.Marshal(map[string]any{"instances": rows[:2]})
	f.Add(string(good))
	f.Add(`{"instances":[[1,2,3]]}`)
	f.Add(`{"inputs":[{"name":"x","shape":[1,30],"datatype":"FP32","data":[1]}]}`)
	f.Fuzz(func(t *testing.T, body string) {
		for _, path := range []string{"/predict", "/v2/models/breast-cancer/infer"} {
			req := httptest.NewRequest("POST", path, strings.NewReader(body))
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code >= 500 {
				t.Fatalf("%s: %d for %q: %s", path, rec.Code, body, rec.Body.String())
			}
			if !json.Valid(rec.Body.Bytes()) {
				t.Fatalf("%s: body not JSON: %q", path, rec.Body.String())
			}
		}
	})
}

// TestLogKeepsEachRequestsText: the prediction log holds each feature as
// the client wrote it, request after request, though the text is read in
// place from a body buffer that the next request reuses.
func TestLogKeepsEachRequestsText(t *testing.T) {
	ctx := context.Background()
	m, s := example.Model(t)
	rows, _ := example.Holdout(t)
	bucket := memblob.OpenBucket(nil)
	l := predlog.NewLogger(bucket, predlog.NewEncoder("breast-cancer", "1", s, m.Info()),
		predlog.Options{Prefix: "p/", FlushRecords: 1000, FlushInterval: time.Hour, MaxBuffered: 1000})
	h := predict.New(m, s, predict.Options{Name: "breast-cancer", Version: "1", MaxRows: 100, MaxBodyBytes: 1 << 20, Log: l})
	var want []map[string]string // per record, each feature's text
	for req := range 20 {
		var body strings.Builder
		body.WriteString(`{"instances":[`)
		for r := range 1 + req%4 {
			if r > 0 {
				body.WriteByte(',')
			}
			text := map[string]string{}
			body.WriteByte('{')
			for c, name := range s.Names() {
				if c > 0 {
					body.WriteByte(',')
				}
				text[name] = fmt.Sprintf("%.*f", 1+(req+c)%5, rows[(req+r)%len(rows)][name]*(1+float64(req)/100))
				fmt.Fprintf(&body, "%q:%s", name, text[name])
			}
			body.WriteByte('}')
			want = append(want, text)
		}
		body.WriteString(`]}`)
		if code, _, resp := do(h, "POST", "/predict", body.String()); code != 200 {
			t.Fatalf("request %d: %d %s", req, code, resp)
		}
	}
	if err := l.Close(ctx); err != nil {
		t.Fatal(err)
	}
	keys := tools.Keys(t, bucket, "")
	if len(keys) != 1 {
		t.Fatalf("log objects %v", keys)
	}
	gz, err := bucket.ReadAll(ctx, keys[0])
	if err != nil {
		t.Fatal(err)
	}
	zr, err := gzip.NewReader(bytes.NewReader(gz))
	if err != nil {
		t.Fatal(err)
	}
	lines, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	got := strings.Split(strings.TrimSuffix(string(lines), "\n"), "\n")
	if len(got) != len(want) {
		t.Fatalf("%d records, want %d", len(got), len(want))
	}
	for i, line := range got {
		var rec struct{ Features map[string]json.RawMessage }
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("record %d: %v", i, err)
		}
		for name, text := range want[i] {
			if string(rec.Features[name]) != text {
				t.Fatalf("record %d, %s: %s, want %s as sent", i, name, rec.Features[name], text)
			}
		}
	}
}
