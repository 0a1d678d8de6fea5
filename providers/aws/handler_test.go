package aws

// In-process tests of the adapter's edges: what the emulator cannot show
// (payloads over its 6 MB cut, binary answers, a frozen clock) and the
// event shapes a deployment can send by mistake.

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	_ "gocloud.dev/blob/memblob"

	"github.com/modelfn/modelfn/functions"
	"github.com/modelfn/modelfn/testing/tools"
)

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func newApp(t *testing.T) *functions.App { return newAppWith(t, "", "") }

// newAppWith serves a copy of the example bundle with one setting of its
// modelfn.yaml replaced (old → new; "" keeps it as it is).
func newAppWith(t *testing.T, old, new string) *functions.App {
	t.Helper()
	src := filepath.Join(tools.Root(), "examples", "breast-cancer", "bundle")
	bundle := t.TempDir()
	for _, name := range []string{"modelfn.yaml", "model.json", "reference.profile.json"} {
		data, err := os.ReadFile(filepath.Join(src, name))
		if err != nil {
			t.Fatal(err)
		}
		if name == "modelfn.yaml" && old != "" {
			if !bytes.Contains(data, []byte(old)) {
				t.Fatalf("modelfn.yaml has no %q", old)
			}
			data = bytes.Replace(data, []byte(old), []byte(new), 1)
		}
		if err := os.WriteFile(filepath.Join(bundle, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	app, err := functions.New(context.Background(), functions.Config{Bundle: bundle, LogURL: "mem://", BatchURL: "mem://"}, quiet())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { app.Close(context.Background()) })
	return app
}

func event(t *testing.T, method, path string, body string) events.APIGatewayV2HTTPRequest {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", "http-api-v2.json"))
	if err != nil {
		t.Fatal(err)
	}
	var e events.APIGatewayV2HTTPRequest
	if err := json.Unmarshal(data, &e); err != nil {
		t.Fatal(err)
	}
	e.RawPath, e.RequestContext.HTTP.Method, e.RequestContext.HTTP.Path, e.Body = path, method, path, body
	return e
}

// oneRow is a predict request for the example's first held-out row.
var oneRow = func() string {
	data, err := os.ReadFile(filepath.Join(tools.Root(), "examples", "breast-cancer", "holdout.csv"))
	if err != nil {
		return err.Error()
	}
	lines := strings.Split(string(data), "\n")
	header, values := strings.Split(lines[0], ","), strings.Split(lines[1], ",")
	row := map[string]json.Number{}
	for i, h := range header {
		if h != "target" {
			row[h] = json.Number(values[i])
		}
	}
	b, _ := json.Marshal(map[string]any{"instances": []any{row}})
	return string(b)
}()

func TestRequestMapping(t *testing.T) {
	var got *http.Request
	var gotBody []byte
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = r
		gotBody, _ = io.ReadAll(r.Body)
		w.Header().Add("Set-Cookie", "a=1")
		w.Header().Add("Set-Cookie", "b=2")
		w.Header().Add("Vary", "Accept")
		w.Header().Add("Vary", "Origin")
		w.WriteHeader(http.StatusTeapot)
		io.WriteString(w, "short and stout")
	})
	e := event(t, "POST", "/prod/v2/models/m/infer", "")
	e.RequestContext.Stage = "prod"
	e.RawQueryString = "a=1&b=two%20words"
	e.Cookies = []string{"session=abc", "theme=dark"}
	e.Headers["content-type"] = "application/octet-stream"
	e.Body, e.IsBase64Encoded = base64.StdEncoding.EncodeToString([]byte{0, 1, 2, 255}), true

	resp, err := serveHTTP(context.Background(), h, &e)
	if err != nil {
		t.Fatal(err)
	}
	if got.Method != "POST" || got.URL.Path != "/v2/models/m/infer" || got.URL.Query().Get("b") != "two words" {
		t.Errorf("request %s %s?%s: the stage prefix must go and the query stay", got.Method, got.URL.Path, got.URL.RawQuery)
	}
	if !bytes.Equal(gotBody, []byte{0, 1, 2, 255}) || got.ContentLength != 4 {
		t.Errorf("body %v (length %d): want the base64 body decoded", gotBody, got.ContentLength)
	}
	if c := got.Header.Get("Cookie"); c != "session=abc; theme=dark" {
		t.Errorf("Cookie %q", c)
	}
	if got.Header.Get("Content-Type") != "application/octet-stream" || got.RemoteAddr != "203.0.113.10" || got.Host == "" {
		t.Errorf("headers %v, remote %q, host %q", got.Header, got.RemoteAddr, got.Host)
	}
	if resp.StatusCode != http.StatusTeapot || resp.Body != "short and stout" || resp.IsBase64Encoded {
		t.Errorf("response %+v", resp)
	}
	if strings.Join(resp.Cookies, ";") != "a=1;b=2" || resp.Headers["Vary"] != "Accept,Origin" || resp.Headers["Set-Cookie"] != "" {
		t.Errorf("cookies %v, headers %v: Set-Cookie goes to cookies, other repeated headers are folded", resp.Cookies, resp.Headers)
	}
}

func TestBinaryAnswersAreBase64(t *testing.T) {
	bin := []byte{0x89, 'P', 'N', 'G', 0, 0xff}
	for _, tc := range []struct {
		ctype  string
		body   []byte
		base64 bool
	}{
		{"image/png", bin, true},
		{"application/json", []byte(`{"ok":true}`), false},
		{"text/plain; charset=utf-8", []byte("héllo"), false},
		{"", bin, true}, // no type, not UTF-8
	} {
		h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if tc.ctype != "" {
				w.Header().Set("Content-Type", tc.ctype)
			}
			w.Write(tc.body)
		})
		e := event(t, "GET", "/x", "")
		resp, err := serveHTTP(context.Background(), h, &e)
		if err != nil {
			t.Fatal(err)
		}
		body := []byte(resp.Body)
		if resp.IsBase64Encoded {
			body, _ = base64.StdEncoding.DecodeString(resp.Body)
		}
		if resp.IsBase64Encoded != tc.base64 || !bytes.Equal(body, tc.body) || resp.StatusCode != 200 {
			t.Errorf("%q: base64=%v body=%q status %d", tc.ctype, resp.IsBase64Encoded, body, resp.StatusCode)
		}
	}
}

// errorBody checks the predict API's error shape.
func errorBody(t *testing.T, resp HTTPResponse, status int, code string) {
	t.Helper()
	var e struct{ Error, Code string }
	if err := json.Unmarshal([]byte(resp.Body), &e); err != nil || resp.StatusCode != status || e.Code != code || e.Error == "" {
		t.Errorf("got %d %s (%v), want %d with code %q", resp.StatusCode, resp.Body, err, status, code)
	}
	if resp.Headers["Content-Type"] != "application/json" {
		t.Errorf("content type %q", resp.Headers["Content-Type"])
	}
}

func TestLambdaLimitsAnswerInTheErrorShape(t *testing.T) {
	app := newApp(t)
	// Over the bundle's own limit (6 MB by default) the core handler answers.
	e := event(t, "POST", "/predict", `{"instances":[`+strings.Repeat(" ", MaxPayloadBytes)+`]}`)
	resp, err := serveHTTP(context.Background(), app.Handler(), &e)
	if err != nil {
		t.Fatal(err)
	}
	errorBody(t, resp, 413, "body_too_large")

	// Over Lambda's limit, whatever the bundle allows: the adapter answers.
	big := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { t.Error("the handler must not see a body over 6 MB") })
	e.Body = base64.StdEncoding.EncodeToString(make([]byte, MaxPayloadBytes+1))
	e.IsBase64Encoded = true
	resp, _ = serveHTTP(context.Background(), big, &e)
	errorBody(t, resp, 413, "body_too_large")

	// An answer Lambda could not return.
	huge := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write(bytes.Repeat([]byte(" "), MaxPayloadBytes))
	})
	e = event(t, "POST", "/predict", oneRow)
	resp, _ = serveHTTP(context.Background(), huge, &e)
	errorBody(t, resp, 413, "response_too_large")

	// A body marked base64 that is not.
	e = event(t, "POST", "/predict", "not base64!")
	e.IsBase64Encoded = true
	resp, _ = serveHTTP(context.Background(), app.Handler(), &e)
	errorBody(t, resp, 400, "malformed")
}

func TestPayloadVersionOneIsRefused(t *testing.T) {
	e := event(t, "GET", "/v2/health/ready", "")
	e.Version = "1.0"
	if _, err := serveHTTP(context.Background(), http.NotFoundHandler(), &e); err == nil || !strings.Contains(err.Error(), "payload 2.0") {
		t.Errorf("err = %v, want one naming payload 2.0", err)
	}
}

// The log is written at the end of the invocation that finds its oldest
// record older than the flush interval, not by the logger's timer (which a
// frozen environment never runs).
func TestPredictFlushesOldRecordsBeforeFreezing(t *testing.T) {
	app := newAppWith(t, "flush_interval: 5s", "flush_interval: 1h") // the logger's own timer never fires here
	h := NewHandler(app, "", quiet())
	var clock atomic.Int64
	base := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	h.now = func() time.Time { return base.Add(time.Duration(clock.Load())) }
	h.flushAge = 5 * time.Second

	predict := func() {
		t.Helper()
		resp, err := h.Predict(context.Background(), event(t, "POST", "/predict", oneRow))
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("predict: %d %s %v", resp.StatusCode, resp.Body, err)
		}
	}
	predict()
	clock.Add(int64(4 * time.Second))
	predict()
	if n := len(tools.Keys(t, app.LogBucket, "predictions/")); n != 0 || app.PredLog.Stats().Buffered != 2 {
		t.Fatalf("after 4s: %d objects, %d buffered; want the records kept", n, app.PredLog.Stats().Buffered)
	}
	clock.Add(int64(2 * time.Second))
	predict() // the first record is now 6s old: written before the answer returns
	if n := len(tools.Keys(t, app.LogBucket, "predictions/")); n != 1 || app.PredLog.Stats().Buffered != 0 {
		t.Fatalf("after 6s: %d objects, %d buffered; want all 3 records written", n, app.PredLog.Stats().Buffered)
	}
	predict()
	if st := app.PredLog.Stats(); st.Buffered != 1 || st.Written != 3 {
		t.Fatalf("stats %+v: the age counts from the next record", st)
	}

	// A full chunk is written at once, whatever its age.
	app.Bundle.Config.Log.FlushRecords = 2
	predict()
	if st := app.PredLog.Stats(); st.Buffered != 0 || st.Written != 5 {
		t.Fatalf("stats %+v: want the full buffer written", st)
	}
}

func TestBatchEventShapes(t *testing.T) {
	app := newApp(t)
	h := NewHandler(app, "s3://modelfn-batch?region=eu-west-1", quiet())
	ctx := context.Background()
	csv, err := os.ReadFile(filepath.Join(tools.Root(), "examples", "breast-cancer", "holdout.csv"))
	if err != nil {
		t.Fatal(err)
	}
	if err := app.BatchBucket.WriteAll(ctx, "input/a b+c.csv", csv, nil); err != nil {
		t.Fatal(err)
	}
	s3doc := func(bucket, name, key string) string {
		return `{"Records":[{"eventSource":"aws:s3","eventName":"` + name + `","s3":{"bucket":{"name":"` + bucket + `"},"object":{"key":"` + key + `","size":1}}}]}`
	}
	sqs := func(msgs ...[2]string) json.RawMessage {
		var recs []map[string]string
		for _, m := range msgs {
			recs = append(recs, map[string]string{"messageId": m[0], "body": m[1], "eventSource": "aws:sqs"})
		}
		b, _ := json.Marshal(map[string]any{"Records": recs})
		return b
	}

	for _, tc := range []struct {
		name    string
		event   json.RawMessage
		wantErr string
		failed  []string // SQS message ids reported failed
	}{
		{"direct, '+' is a space and %2B a plus", json.RawMessage(s3doc("modelfn-batch", "ObjectCreated:Put", "input/a+b%2Bc.csv")), "", nil},
		{"direct, missing object (deleted since) is skipped", json.RawMessage(s3doc("modelfn-batch", "ObjectCreated:Put", "input/missing.csv")), "", nil},
		{"direct, another bucket", json.RawMessage(s3doc("someone-else", "ObjectCreated:Put", "input/a+b%2Bc.csv")), "another bucket", nil},
		{"direct, own output is skipped", json.RawMessage(s3doc("modelfn-batch", "ObjectCreated:Put", "output/a+b%2Bc.csv")), "", nil},
		{"direct, removal is skipped", json.RawMessage(s3doc("modelfn-batch", "ObjectRemoved:Delete", "input/missing.csv")), "", nil},
		{"direct, test event", json.RawMessage(`{"Service":"Amazon S3","Event":"s3:TestEvent","Bucket":"modelfn-batch"}`), "", nil},
		{"not an event we know", json.RawMessage(`{"detail-type":"Object Created"}`), "neither an S3 notification nor an SQS batch", nil},
		{"sqs, partial failure", sqs(
			[2]string{"ok", s3doc("modelfn-batch", "ObjectCreated:Put", "input/a+b%2Bc.csv")},
			[2]string{"missing", s3doc("modelfn-batch", "ObjectCreated:Put", "input/missing.csv")},
			[2]string{"other", s3doc("someone-else", "ObjectCreated:Put", "input/a+b%2Bc.csv")},
			[2]string{"garbage", "not json"},
			[2]string{"test", `{"Service":"Amazon S3","Event":"s3:TestEvent"}`},
			[2]string{"empty", `{"Records":[]}`},
		), "", []string{"other", "garbage", "empty"}},
	} {
		out, err := h.Batch(ctx, tc.event)
		if (err != nil) != (tc.wantErr != "") || (err != nil && !strings.Contains(err.Error(), tc.wantErr)) {
			t.Errorf("%s: err = %v, want %q", tc.name, err, tc.wantErr)
			continue
		}
		if tc.failed != nil {
			resp, ok := out.(events.SQSEventResponse)
			var ids []string
			for _, f := range resp.BatchItemFailures {
				ids = append(ids, f.ItemIdentifier)
			}
			if !ok || strings.Join(ids, ",") != strings.Join(tc.failed, ",") {
				t.Errorf("%s: failures %v, want %v", tc.name, ids, tc.failed)
			}
		} else if out != nil {
			t.Errorf("%s: answered %v, want nothing", tc.name, out)
		}
	}
	if ok, _ := app.BatchBucket.Exists(ctx, "output/a b+c.csv"); !ok {
		t.Error("output/a b+c.csv was not written: the key must be decoded as S3 encodes it")
	}
	if ok, _ := app.BatchBucket.Exists(ctx, "output/output/a b+c.csv"); ok {
		t.Error("the function's own output was scored")
	}
}

func TestForRole(t *testing.T) {
	h := NewHandler(newApp(t), "", quiet())
	for _, role := range []string{"predict", "batch", "monitor"} {
		if fn, err := h.For(role); err != nil || fn == nil {
			t.Errorf("%s: %v", role, err)
		}
	}
	if _, err := h.For("train"); err == nil || !strings.Contains(err.Error(), functions.EnvFunction) {
		t.Errorf("unknown role: err = %v", err)
	}
}
