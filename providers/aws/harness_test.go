package aws_test

// The local counterparts the AWS tests run on: real event documents,
// versitygw as S3, a CloudWatch endpoint that decodes the SDK's wire
// requests, and the bootstrap under the Lambda Runtime Interface Emulator.

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
	"unicode/utf8"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/fxamacker/cbor/v2"
	"gocloud.dev/blob"
	"gocloud.dev/blob/s3blob"

	"github.com/modelfn/modelfn/functions/monitoring"
	awsprovider "github.com/modelfn/modelfn/providers/aws"
	"github.com/modelfn/modelfn/runtime/bundle"
	"github.com/modelfn/modelfn/testing/conformance"
	"github.com/modelfn/modelfn/testing/tools"
)

// Credentials of the local S3 server; the functions get them as Lambda
// gives a role's, through the environment.
const (
	accessKey = "modelfntestaccess"
	secretKey = "modelfntestsecret0123456789"
	region    = "us-east-1"
)

// ---- event documents ----

func loadDoc(t testing.TB, name string) map[string]any {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(data, &doc); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return doc
}

// httpEvent fills an HTTP API payload 2.0 or Function URL document
// (template) with a request, as API Gateway or the Function URL would:
// text bodies as they are, others base64.
func httpEvent(t testing.TB, template, method, path, ctype string, body []byte) []byte {
	t.Helper()
	doc := loadDoc(t, template)
	raw, query, _ := strings.Cut(path, "?")
	doc["rawPath"], doc["rawQueryString"] = raw, query
	rc := doc["requestContext"].(map[string]any)
	h := rc["http"].(map[string]any)
	h["method"], h["path"] = method, raw
	headers := doc["headers"].(map[string]any)
	headers["content-length"] = fmt.Sprint(len(body))
	if ctype == "" {
		delete(headers, "content-type")
	} else {
		headers["content-type"] = ctype
	}
	if utf8.Valid(body) && !strings.HasPrefix(ctype, "application/octet-stream") {
		doc["body"], doc["isBase64Encoded"] = string(body), false
	} else {
		doc["body"], doc["isBase64Encoded"] = base64.StdEncoding.EncodeToString(body), true
	}
	if len(body) == 0 {
		delete(doc, "body")
	}
	out, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// s3Key encodes a key as S3 notifications do: form encoding ('+' for a
// space), with the slashes left alone.
func s3Key(key string) string {
	return strings.ReplaceAll(url.QueryEscape(key), "%2F", "/")
}

// s3Event is an ObjectCreated:Put notification for bucket/key.
func s3Event(t testing.TB, bucket, key string, size int64) []byte {
	t.Helper()
	doc := loadDoc(t, "s3-object-created.json")
	s3 := doc["Records"].([]any)[0].(map[string]any)["s3"].(map[string]any)
	b := s3["bucket"].(map[string]any)
	b["name"], b["arn"] = bucket, "arn:aws:s3:::"+bucket
	o := s3["object"].(map[string]any)
	o["key"], o["size"] = s3Key(key), size
	out, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// sqsEvent carries bodies (id, body pairs) as one SQS batch.
func sqsEvent(t testing.TB, msgs ...[2]string) []byte {
	t.Helper()
	doc := loadDoc(t, "sqs.json")
	tmpl := doc["Records"].([]any)[0].(map[string]any)
	var recs []any
	for _, m := range msgs {
		r := map[string]any{}
		for k, v := range tmpl {
			r[k] = v
		}
		r["messageId"], r["body"] = m[0], m[1]
		recs = append(recs, r)
	}
	doc["Records"] = recs
	out, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func readDoc(t testing.TB, name string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// ---- S3: versitygw, posix backend ----

type s3Server struct{ endpoint string }

func startS3(t testing.TB) *s3Server {
	t.Helper()
	bin := tools.Need(t, "versitygw", "make tools-versitygw")
	root := t.TempDir()
	addr := tools.FreeAddr(t)
	cmd := exec.Command(bin, "--access", accessKey, "--secret", secretKey, "--region", region, "--port", addr,
		"posix", "--sidecar", filepath.Join(root, ".meta"), filepath.Join(root, "data"))
	for _, d := range []string{filepath.Join(root, ".meta"), filepath.Join(root, "data")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	out := &tools.SyncBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		cmd.Wait()
	})
	waitListening(t, addr, "versitygw", out)
	return &s3Server{endpoint: "http://" + addr}
}

// bucket creates a bucket and returns its gocloud URL.
func (s *s3Server) bucket(t testing.TB, name string) string {
	t.Helper()
	if _, err := s.client().CreateBucket(context.Background(), &s3.CreateBucketInput{Bucket: awssdk.String(name)}); err != nil {
		t.Fatalf("create bucket %s: %v", name, err)
	}
	return s.url(name)
}

// open opens a bucket for the test's own reads and writes, through the
// same SDK and driver the functions use.
func (s *s3Server) open(t testing.TB, name string) *blob.Bucket {
	t.Helper()
	b, err := s3blob.OpenBucket(context.Background(), s.client(), name, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return b
}

func (s *s3Server) client() *s3.Client {
	return s3.New(s3.Options{
		Region: region, BaseEndpoint: awssdk.String(s.endpoint), UsePathStyle: true,
		Credentials: credentials.NewStaticCredentialsProvider(accessKey, secretKey, ""),
	})
}

func (s *s3Server) url(name string) string {
	q := url.Values{"endpoint": {s.endpoint}, "use_path_style": {"true"}, "region": {region}}
	return "s3://" + name + "?" + q.Encode()
}

// ---- CloudWatch: the SDK's PutMetricData requests, decoded from the wire ----

// putMetricData is the request as it travels (Smithy RPC v2 CBOR).
type putMetricData struct {
	Namespace  string `cbor:"Namespace"`
	MetricData []struct {
		MetricName string `cbor:"MetricName"`
		Dimensions []struct {
			Name  string `cbor:"Name"`
			Value string `cbor:"Value"`
		} `cbor:"Dimensions"`
		Value             *float64  `cbor:"Value"`
		Unit              string    `cbor:"Unit"`
		Timestamp         time.Time `cbor:"Timestamp"`
		StorageResolution *int      `cbor:"StorageResolution"`
	} `cbor:"MetricData"`
}

type cloudWatchWire struct {
	srv      *httptest.Server
	mu       sync.Mutex
	requests []putMetricData
	failNext int // answer this many requests with a service error
	problems []string
}

const putMetricDataPath = "/service/GraniteServiceVersion20100801/operation/PutMetricData"

func newCloudWatchWire(t testing.TB) *cloudWatchWire {
	w := &cloudWatchWire{}
	w.srv = httptest.NewServer(http.HandlerFunc(w.serve))
	t.Cleanup(w.srv.Close)
	return w
}

func (w *cloudWatchWire) url(namespace string) string {
	return "cloudwatch://" + namespace + "?" + url.Values{"region": {region}, "endpoint": {w.srv.URL}}.Encode()
}

func (w *cloudWatchWire) serve(rw http.ResponseWriter, r *http.Request) {
	w.mu.Lock()
	defer w.mu.Unlock()
	problem := func(format string, args ...any) {
		w.problems = append(w.problems, fmt.Sprintf(format, args...))
		rw.WriteHeader(http.StatusBadRequest)
	}
	if r.Method != http.MethodPost || r.URL.Path != putMetricDataPath {
		problem("unexpected %s %s", r.Method, r.URL.Path)
		return
	}
	if p := r.Header.Get("Smithy-Protocol"); p != "rpc-v2-cbor" {
		problem("Smithy-Protocol %q", p)
		return
	}
	if !strings.HasPrefix(r.Header.Get("Authorization"), "AWS4-HMAC-SHA256 ") {
		problem("request not signed: %q", r.Header.Get("Authorization"))
		return
	}
	var body io.Reader = r.Body
	if r.Header.Get("Content-Encoding") == "gzip" {
		zr, err := gzip.NewReader(r.Body)
		if err != nil {
			problem("gzip: %v", err)
			return
		}
		body = zr
	}
	data, err := io.ReadAll(body)
	if err != nil {
		problem("read: %v", err)
		return
	}
	var req putMetricData
	if err := cbor.Unmarshal(data, &req); err != nil {
		problem("cbor: %v", err)
		return
	}
	rw.Header().Set("Smithy-Protocol", "rpc-v2-cbor")
	rw.Header().Set("Content-Type", "application/cbor")
	if w.failNext > 0 {
		w.failNext--
		b, _ := cbor.Marshal(map[string]string{"__type": "com.amazonaws.cloudwatch#InvalidParameterValueException", "message": "injected failure"})
		rw.WriteHeader(http.StatusBadRequest)
		rw.Write(b)
		return
	}
	w.requests = append(w.requests, req)
	rw.Write([]byte{0xa0}) // {}: PutMetricData's empty output
}

// Metrics decodes what arrived into the monitoring package's form.
func (w *cloudWatchWire) Metrics(context.Context) ([]monitoring.Metric, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.problems) > 0 {
		return nil, fmt.Errorf("cloudwatch wire: %s", strings.Join(w.problems, "; "))
	}
	var out []monitoring.Metric
	for _, req := range w.requests {
		for _, d := range req.MetricData {
			m := monitoring.Metric{Name: d.MetricName, Unit: d.Unit, Time: d.Timestamp, Labels: map[string]string{}}
			if d.Value != nil {
				m.Value = *d.Value
			}
			for _, dim := range d.Dimensions {
				m.Labels[dim.Name] = dim.Value
			}
			out = append(out, m)
		}
	}
	return out, nil
}

func (w *cloudWatchWire) snapshot() []putMetricData {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]putMetricData(nil), w.requests...)
}

// ---- the bootstrap under the Lambda Runtime Interface Emulator ----

var (
	taskOnce sync.Once
	taskDir  string // holds the built zip and the unpacked task
	taskPath string
	taskErr  error
)

func TestMain(m *testing.M) {
	code := m.Run()
	if taskDir != "" {
		os.RemoveAll(taskDir)
	}
	os.Exit(code)
}

// lambdaTask builds the function zip as deployment does, for amd64 (the
// emulator is x86-64 only), and unpacks it as Lambda does into /var/task.
func lambdaTask(t testing.TB) string {
	t.Helper()
	taskOnce.Do(func() {
		dir, err := os.MkdirTemp("", "modelfn-aws-task-")
		if err != nil {
			taskErr = err
			return
		}
		taskDir = dir
		b, err := bundle.Load(conformance.Bundle())
		if err != nil {
			taskErr = err
			return
		}
		var log bytes.Buffer
		art, err := awsprovider.Cloud{GOARCH: "amd64"}.Build(context.Background(), b, filepath.Join(dir, "dist"), &log)
		if err != nil {
			taskErr = fmt.Errorf("%w\n%s", err, log.String())
			return
		}
		taskPath = filepath.Join(dir, "task")
		taskErr = tools.Unzip(art.Path, taskPath)
	})
	if taskErr != nil {
		t.Fatal(taskErr)
	}
	return taskPath
}

// lambdaFunction is one function: an emulator running the bootstrap.
type lambdaFunction struct {
	name string
	addr string
	cmd  *exec.Cmd
	out  *tools.SyncBuffer
	done chan struct{}
}

func startFunction(t testing.TB, name string, env map[string]string) *lambdaFunction {
	t.Helper()
	rie := tools.Need(t, "aws-lambda-rie", "make tools-aws-rie")
	task := lambdaTask(t)
	f := &lambdaFunction{name: name, addr: tools.FreeAddr(t), out: &tools.SyncBuffer{}, done: make(chan struct{})}
	f.cmd = exec.Command(rie, "--runtime-interface-emulator-address", f.addr, "--runtime-api-address", tools.FreeAddr(t),
		"--log-level", "error", filepath.Join(task, "bootstrap"))
	f.cmd.Dir = task
	f.cmd.Env = []string{
		"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME"), "TMPDIR=" + os.TempDir(),
		"AWS_ACCESS_KEY_ID=" + accessKey, "AWS_SECRET_ACCESS_KEY=" + secretKey, "AWS_REGION=" + region,
		"AWS_LAMBDA_FUNCTION_NAME=modelfn-" + name, "AWS_LAMBDA_FUNCTION_TIMEOUT=120",
		"AWS_EC2_METADATA_DISABLED=true",
	}
	for k, v := range env {
		f.cmd.Env = append(f.cmd.Env, k+"="+v)
	}
	f.cmd.Stdout, f.cmd.Stderr = f.out, f.out
	if err := f.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { f.cmd.Wait(); close(f.done) }()
	t.Cleanup(func() {
		f.cmd.Process.Kill()
		<-f.done
		if t.Failed() {
			t.Logf("%s function output:\n%s", name, f.out.Tail(6000))
		}
	})
	waitListening(t, f.addr, "aws-lambda-rie "+name, f.out)
	return f
}

// functionError is an invocation that failed (the handler returned an
// error): Lambda's {"errorMessage", "errorType"} document.
type functionError struct {
	Message string `json:"errorMessage"`
	Type    string `json:"errorType"`
}

func (e *functionError) Error() string { return e.Type + ": " + e.Message }

// invoke sends an event as Lambda's Invoke API does and returns the
// handler's result.
func (f *lambdaFunction) invoke(ctx context.Context, event []byte) (json.RawMessage, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://"+f.addr+"/2015-03-31/functions/function/invocations", bytes.NewReader(event))
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("invoke %s: %w", f.name, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("invoke %s: %s: %s", f.name, resp.Status, body)
	}
	var fe functionError
	if json.Unmarshal(body, &fe) == nil && fe.Type != "" {
		return nil, &fe
	}
	return body, nil
}

// terminate shuts the environment down as Lambda does: the emulator sends
// the runtime SIGTERM and waits for it to exit.
func (f *lambdaFunction) terminate(ctx context.Context) error {
	if err := f.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		return err
	}
	select {
	case <-f.done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("%s did not shut down: %w", f.name, ctx.Err())
	}
}

// ---- small helpers ----

func waitListening(t testing.TB, addr, what string, out *tools.SyncBuffer) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("%s did not listen on %s within 30s:\n%s", what, addr, out.Tail(4000))
}
