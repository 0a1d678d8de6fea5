// Package predict is the prediction function: an http.Handler speaking the
// Open Inference Protocol (the KServe/Triton/MLServer v2 REST API) and a
// plain /predict endpoint.
//
//	GET  /v2/health/live, /v2/health/ready      liveness and readiness
//	GET  /v2                                    server metadata
//	GET  /v2/models/{name}[/versions/{v}]        model metadata
//	GET  /v2/models/{name}[/versions/{v}]/ready  model readiness
//	POST /v2/models/{name}[/versions/{v}]/infer  inference (OIP tensors)
//	POST /predict                               {"instances": [row, ...]}
//
// A row is an object of feature values or an array in schema order. Every
// bad input is a 4xx with a JSON body naming the row and field:
//
//	{"error": "row 2, field \"age\": expected a number, got string \"x\"",
//	 "code": "invalid_type", "row": 2, "field": "age"}
package predict

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/go-json-experiment/json/jsontext"

	"github.com/modelfn/modelfn/functions/predlog"
	"github.com/modelfn/modelfn/runtime"
)

// Handler serves one model version.
type Handler struct {
	name, version string
	model         runtime.Model
	info          runtime.Info
	schema        *runtime.Schema
	maxRows       int
	maxBody       int64
	log           *predlog.Logger // nil: logging off
	slog          *slog.Logger
	scratch       sync.Pool
	ready         func() bool
	// The names answers carry, quoted for JSON once (quoting them in every
	// answer was 0.5% of a one-row request).
	quotedName, quotedVersion string
	quotedClasses             []string
}

// Options configure a Handler.
type Options struct {
	Name, Version string
	MaxRows       int
	MaxBodyBytes  int64
	Log           *predlog.Logger
	Logger        *slog.Logger
	// Ready reports readiness (nil: always ready once built).
	Ready func() bool
}

// New builds the handler.
func New(m runtime.Model, s *runtime.Schema, o Options) *Handler {
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Ready == nil {
		o.Ready = func() bool { return true }
	}
	h := &Handler{name: o.Name, version: o.Version, model: m, info: m.Info(), schema: s,
		maxRows: o.MaxRows, maxBody: o.MaxBodyBytes, log: o.Log, slog: o.Logger, ready: o.Ready}
	h.scratch.New = func() any { return &scratch{batch: runtime.NewBatch(s, 16)} }
	h.quotedName, h.quotedVersion = string(appendQuoted(nil, o.Name)), string(appendQuoted(nil, o.Version))
	for _, c := range h.info.Classes {
		h.quotedClasses = append(h.quotedClasses, string(appendQuoted(nil, c)))
	}
	return h
}

// scratch is one request's reusable memory.
type scratch struct {
	batch  *runtime.Batch
	out    []float64
	idText []byte // the rows' prediction ids, predlog.IDLen bytes each
	// outText is out as JSON numbers, each followed by a comma: formatted
	// once for the answer and the prediction log (twice was an eighth of
	// the log's cost per row).
	outText []byte
	buf     []byte
	body    []byte // a request body read whole
	limit   maxBytes
	oip     oipRequest
	dec     *jsontext.Decoder
}

// id is row i's prediction id.
func (s *scratch) id(i int) []byte { return s.idText[i*predlog.IDLen : (i+1)*predlog.IDLen] }

// ServeHTTP routes a request.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	defer func() {
		if p := recover(); p != nil {
			// A bug, not the client's fault; the process keeps serving.
			h.slog.Error("predict: panic", "panic", p, "stack", string(debug.Stack()))
			WriteError(w, http.StatusInternalServerError, &runtime.InputError{Row: -1, Code: "internal", Msg: "internal error"})
		}
	}()
	path := strings.TrimSuffix(r.URL.Path, "/")
	switch {
	case path == "/predict":
		h.post(w, r, h.predict)
	case path == "/v2/health/live":
		h.get(w, r, `{"live":true}`)
	case path == "/v2/health/ready":
		h.readiness(w, r, `{"ready":true}`, `{"ready":false}`)
	case path == "/v2":
		h.get(w, r, `{"name":"modelfn","version":"1","extensions":[]}`)
	case strings.HasPrefix(path, "/v2/models/"):
		h.routeModel(w, r, strings.TrimPrefix(path, "/v2/models/"))
	default:
		WriteError(w, http.StatusNotFound, &runtime.InputError{Row: -1, Code: "not_found", Msg: fmt.Sprintf("no endpoint %s; try POST /predict or POST /v2/models/%s/infer", clip(r.URL.Path), h.name)})
	}
}

// routeModel routes /v2/models/{name}[/versions/{v}][/infer|/ready].
func (h *Handler) routeModel(w http.ResponseWriter, r *http.Request, rest string) {
	parts := strings.Split(rest, "/")
	if parts[0] != h.name {
		WriteError(w, http.StatusNotFound, &runtime.InputError{Row: -1, Code: "model_not_found", Msg: fmt.Sprintf("model %q is not served here (this is %q)", clip(parts[0]), h.name)})
		return
	}
	parts = parts[1:]
	if len(parts) >= 2 && parts[0] == "versions" {
		if parts[1] != h.version {
			WriteError(w, http.StatusNotFound, &runtime.InputError{Row: -1, Code: "model_not_found", Msg: fmt.Sprintf("version %q of %q is not served here (this is version %q)", clip(parts[1]), h.name, h.version)})
			return
		}
		parts = parts[2:]
	}
	switch strings.Join(parts, "/") {
	case "":
		h.get(w, r, string(h.metadata()))
	case "ready":
		h.readiness(w, r, fmt.Sprintf(`{"name":%q,"ready":true}`, h.name), fmt.Sprintf(`{"name":%q,"ready":false}`, h.name))
	case "infer":
		h.post(w, r, h.infer)
	default:
		WriteError(w, http.StatusNotFound, &runtime.InputError{Row: -1, Code: "not_found", Msg: "no endpoint " + clip(r.URL.Path)})
	}
}

func (h *Handler) get(w http.ResponseWriter, r *http.Request, body string) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		methodNotAllowed(w, "GET, HEAD")
		return
	}
	writeJSON(w, http.StatusOK, []byte(body))
}

func (h *Handler) readiness(w http.ResponseWriter, r *http.Request, yes, no string) {
	if h.ready() {
		h.get(w, r, yes)
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		methodNotAllowed(w, "GET, HEAD")
		return
	}
	writeJSON(w, http.StatusServiceUnavailable, []byte(no))
}

// post checks method, content type and size, then runs fn with pooled
// scratch memory.
func (h *Handler) post(w http.ResponseWriter, r *http.Request, fn func(*http.Request, *scratch) (int, []byte, *runtime.InputError)) {
	if r.Method != http.MethodPost {
		methodNotAllowed(w, "POST")
		return
	}
	if ct := r.Header.Get("Content-Type"); ct != "" && ct != "application/json" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || (mt != "application/json" && !strings.HasSuffix(mt, "+json")) {
			WriteError(w, http.StatusUnsupportedMediaType, &runtime.InputError{Row: -1, Code: "unsupported_media_type", Msg: fmt.Sprintf("content type %q: send application/json", clip(ct))})
			return
		}
	}
	if r.ContentLength > h.maxBody {
		WriteError(w, http.StatusRequestEntityTooLarge, TooLarge(h.maxBody))
		return
	}
	s := h.scratch.Get().(*scratch)
	defer h.putScratch(s)
	body := r.Body
	s.limit = maxBytes{r: body, left: h.maxBody, limit: h.maxBody}
	r.Body = &s.limit
	status, answer, ierr := fn(r, s)
	r.Body = body // s goes back to the pool
	if ierr != nil {
		WriteError(w, status, ierr)
		return
	}
	writeJSON(w, status, answer)
}

// maxBytes is http.MaxBytesReader kept in scratch memory, so bounding a
// body allocates nothing: past the limit it fails with *http.MaxBytesError.
// (net/http closes a connection whose body is left unread anyway.)
type maxBytes struct {
	r           io.ReadCloser
	left, limit int64
}

func (m *maxBytes) Read(p []byte) (int, error) {
	if m.left < 0 {
		return 0, &http.MaxBytesError{Limit: m.limit}
	}
	if int64(len(p)) > m.left+1 {
		p = p[:m.left+1] // one byte more than allowed tells the limit was passed
	}
	n, err := m.r.Read(p)
	if int64(n) <= m.left {
		m.left -= int64(n)
		return n, err
	}
	n, m.left = int(m.left), -1
	return n, &http.MaxBytesError{Limit: m.limit}
}

func (m *maxBytes) Close() error { return m.r.Close() }

// putScratch returns s to the pool, without a body buffer too big to keep.
func (h *Handler) putScratch(s *scratch) {
	if cap(s.body) > 1<<20 {
		s.body = nil
	}
	s.limit = maxBytes{} // not the request's body
	h.scratch.Put(s)
}

// score validates nothing (rows were validated while read), predicts,
// assigns ids and logs. It is shared by both request formats; start, when
// the request arrived, is the ids' time and the logged latency's start.
func (h *Handler) score(ctx context.Context, s *scratch, start time.Time) *runtime.InputError {
	b := s.batch
	k := h.info.Outputs
	if cap(s.out) < b.Rows*k {
		s.out = make([]float64, b.Rows*k)
	}
	s.out = s.out[:b.Rows*k]
	if err := h.model.Predict(ctx, b, s.out); err != nil {
		if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
			return &runtime.InputError{Row: -1, Code: "canceled", Msg: "request canceled"}
		}
		h.slog.Error("predict: model failed", "err", err)
		return &runtime.InputError{Row: -2, Code: "internal", Msg: "the model failed to score the rows"}
	}
	s.idText = predlog.AppendIDs(s.idText[:0], b.Rows, start)
	s.outText = s.outText[:0]
	for _, v := range s.out {
		s.outText = append(predlog.AppendFloat(s.outText, v), ',')
	}
	if h.log != nil {
		h.log.Log(predlog.SourceHTTP, s.idText, b, s.out, s.outText, k, time.Since(start))
	}
	return nil
}

// readErr maps a body-reading failure onto the right status.
func readErr(err *runtime.InputError, cause error) (int, *runtime.InputError) {
	var mbe *http.MaxBytesError
	if errors.As(cause, &mbe) {
		return http.StatusRequestEntityTooLarge, TooLarge(mbe.Limit)
	}
	return statusOf(err), err
}

// TooLarge is the error for a body over limit bytes, also sent by front
// ends that refuse such a body before the handler sees it.
func TooLarge(limit int64) *runtime.InputError {
	return &runtime.InputError{Row: -1, Code: runtime.CodeTooLarge, Msg: fmt.Sprintf("request body over the %d-byte limit (limits.max_body_bytes); split the rows into smaller requests or use batch scoring", limit)}
}

// statusOf maps error codes to HTTP statuses: a request that is not JSON
// is 400; JSON that does not fit the schema is 422; size limits are 413.
func statusOf(e *runtime.InputError) int {
	switch e.Code {
	case runtime.CodeMalformed:
		return http.StatusBadRequest
	case runtime.CodeTooLarge, runtime.CodeTooManyRows:
		return http.StatusRequestEntityTooLarge
	case "internal":
		return http.StatusInternalServerError
	case "canceled":
		return 499 // client closed request; nobody reads it
	}
	return http.StatusUnprocessableEntity
}

func methodNotAllowed(w http.ResponseWriter, allow string) {
	w.Header().Set("Allow", allow)
	WriteError(w, http.StatusMethodNotAllowed, &runtime.InputError{Row: -1, Code: "method_not_allowed", Msg: "method not allowed; use " + allow})
}

// jsonType is shared by every answer: net/http only reads header values.
var jsonType = []string{"application/json"}

// A JSONWriter answers with a JSON body by itself: a front end whose
// ResponseWriter sets the type and length its own way (the local server's
// does) saves the header map's work and allocations for every answer.
type JSONWriter interface {
	WriteJSON(status int, body []byte)
}

func writeJSON(w http.ResponseWriter, status int, body []byte) {
	if jw, ok := w.(JSONWriter); ok {
		jw.WriteJSON(status, body)
		return
	}
	h := w.Header() // canonical keys set directly: no per-answer canonicalizing
	h["Content-Type"] = jsonType
	h["Content-Length"] = []string{strconv.Itoa(len(body))}
	w.WriteHeader(status)
	w.Write(body)
}

// WriteError writes {"error", "code", "row", "field"}; row is left out
// when the error is not about one row. Front ends use it too, so that every
// error a client gets has this shape.
func WriteError(w http.ResponseWriter, status int, e *runtime.InputError) {
	b := []byte(`{"error":`)
	b = appendQuoted(b, e.Error())
	b = append(b, `,"code":`...)
	b = appendQuoted(b, e.Code)
	if e.Row >= 0 {
		b = append(b, `,"row":`...)
		b = strconv.AppendInt(b, int64(e.Row), 10)
	}
	if e.Field != "" {
		b = append(b, `,"field":`...)
		b = appendQuoted(b, e.Field)
	}
	b = append(b, "}\n"...)
	writeJSON(w, status, b)
}

func clip(s string) string {
	if len(s) > 80 {
		return s[:80] + "…"
	}
	return s
}
