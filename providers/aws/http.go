package aws

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"mime"
	"net/http"
	"strings"
	"unicode/utf8"

	"github.com/aws/aws-lambda-go/events"

	"github.com/modelfn/modelfn/runtime"
)

// MaxPayloadBytes is Lambda's limit on a synchronous invocation's request
// and response (6 MB). A request body over it is answered 413 with the
// predict API's JSON error shape; an answer over it, which Lambda would
// turn into an opaque 502, is answered 413 as well, asking for fewer rows.
const MaxPayloadBytes = 6 << 20

// HTTPResponse is the payload format 2.0 response, the one shape both an
// API Gateway HTTP API and a Lambda Function URL read.
type HTTPResponse struct {
	StatusCode      int               `json:"statusCode"`
	Headers         map[string]string `json:"headers,omitempty"`
	Cookies         []string          `json:"cookies,omitempty"`
	Body            string            `json:"body"`
	IsBase64Encoded bool              `json:"isBase64Encoded"`
}

// responseOverhead is room left in a response for the event's JSON
// framing and headers.
const responseOverhead = 16 << 10

// serveHTTP turns an HTTP API (payload 2.0) or Function URL event into an
// http.Request for h, and h's answer into the response event. Both
// triggers send the same document shape, which events.APIGatewayV2HTTPRequest
// decodes.
func serveHTTP(ctx context.Context, h http.Handler, e *events.APIGatewayV2HTTPRequest) (HTTPResponse, error) {
	if e.Version != "2.0" {
		return HTTPResponse{}, fmt.Errorf("predict: event version %q is not an HTTP API payload 2.0 or Function URL event (REST APIs and payload 1.0 are not supported)", e.Version)
	}
	body := []byte(e.Body)
	if e.IsBase64Encoded {
		var err error
		if body, err = base64.StdEncoding.DecodeString(e.Body); err != nil {
			return errorResponse(http.StatusBadRequest, runtime.CodeMalformed, "request body is marked base64 but does not decode: "+err.Error()), nil
		}
	}
	if len(body) > MaxPayloadBytes {
		return errorResponse(http.StatusRequestEntityTooLarge, runtime.CodeTooLarge,
			fmt.Sprintf("request body over Lambda's %d-byte request limit; split the rows into smaller requests or use batch scoring", MaxPayloadBytes)), nil
	}
	req, err := newRequest(ctx, e, body)
	if err != nil {
		return errorResponse(http.StatusBadRequest, runtime.CodeMalformed, err.Error()), nil
	}
	w := &responseWriter{header: http.Header{}}
	h.ServeHTTP(w, req)
	if w.status == 0 {
		w.status = http.StatusOK
	}
	if w.body.Len() > MaxPayloadBytes-responseOverhead {
		return errorResponse(http.StatusRequestEntityTooLarge, "response_too_large",
			fmt.Sprintf("the answer (%d bytes) is over Lambda's %d-byte response limit; send fewer rows per request or use batch scoring", w.body.Len(), MaxPayloadBytes)), nil
	}
	return w.response(), nil
}

// newRequest builds the request the event describes. Named HTTP API
// stages put the stage name in front of the path; it is removed so routes
// are the same as locally.
func newRequest(ctx context.Context, e *events.APIGatewayV2HTTPRequest, body []byte) (*http.Request, error) {
	path := e.RawPath
	if path == "" {
		path = e.RequestContext.HTTP.Path
	}
	if st := e.RequestContext.Stage; st != "" && st != "$default" && strings.HasPrefix(path, "/"+st+"/") {
		path = strings.TrimPrefix(path, "/"+st)
	}
	host := e.RequestContext.DomainName
	if host == "" {
		host = "lambda"
	}
	target := "https://" + host + path
	if e.RawQueryString != "" {
		target += "?" + e.RawQueryString
	}
	method := e.RequestContext.HTTP.Method
	if method == "" {
		method = http.MethodGet
	}
	req, err := http.NewRequestWithContext(ctx, method, target, bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("request %s %q: %w", method, path, err)
	}
	for k, v := range e.Headers {
		req.Header.Set(k, v)
	}
	if len(e.Cookies) > 0 {
		req.Header.Set("Cookie", strings.Join(e.Cookies, "; "))
	}
	req.ContentLength = int64(len(body))
	req.RemoteAddr = e.RequestContext.HTTP.SourceIP
	req.RequestURI = path
	if p := e.RequestContext.HTTP.Protocol; p != "" {
		if major, minor, ok := http.ParseHTTPVersion(p); ok {
			req.Proto, req.ProtoMajor, req.ProtoMinor = p, major, minor
		}
	}
	return req, nil
}

// responseWriter records the handler's answer; Lambda sends it whole.
type responseWriter struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (w *responseWriter) Header() http.Header { return w.header }

func (w *responseWriter) WriteHeader(status int) {
	if w.status == 0 {
		w.status = status
	}
}

func (w *responseWriter) Write(b []byte) (int, error) {
	w.WriteHeader(http.StatusOK)
	return w.body.Write(b)
}

// response folds multi-valued headers with commas (Set-Cookie goes to
// Cookies, where it must) and base64-encodes bodies that are not text.
func (w *responseWriter) response() HTTPResponse {
	r := HTTPResponse{StatusCode: w.status, Headers: make(map[string]string, len(w.header))}
	for k, vs := range w.header {
		if k == "Set-Cookie" {
			r.Cookies = append(r.Cookies, vs...)
			continue
		}
		r.Headers[k] = strings.Join(vs, ",")
	}
	b := w.body.Bytes()
	if isText(w.header.Get("Content-Type")) && utf8.Valid(b) {
		r.Body = string(b)
	} else {
		r.Body, r.IsBase64Encoded = base64.StdEncoding.EncodeToString(b), true
	}
	return r
}

func isText(contentType string) bool {
	if contentType == "" {
		return true
	}
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		return false
	}
	return strings.HasPrefix(mt, "text/") || mt == "application/json" || strings.HasSuffix(mt, "+json") ||
		mt == "application/xml" || strings.HasSuffix(mt, "+xml") || mt == "application/javascript"
}

// errorResponse answers in the predict API's error shape, for the limits
// the adapter meets before the core handler runs.
func errorResponse(status int, code, msg string) HTTPResponse {
	b, _ := json.Marshal(struct {
		Error string `json:"error"`
		Code  string `json:"code"`
	}{msg, code})
	return HTTPResponse{
		StatusCode: status,
		Headers:    map[string]string{"Content-Type": "application/json"},
		Body:       string(b) + "\n",
	}
}
