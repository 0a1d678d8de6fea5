package aws_test

import (
	"compress/gzip"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"gocloud.dev/blob"

	"github.com/modelfn/modelfn/functions"
	"github.com/modelfn/modelfn/functions/monitoring"
	awsprovider "github.com/modelfn/modelfn/providers/aws"
	"github.com/modelfn/modelfn/testing/conformance"
	"github.com/modelfn/modelfn/testing/tools"
)

// lambdaTarget is the AWS provider as deployed: the built bootstrap under
// the Lambda Runtime Interface Emulator, one emulator per function,
// invoked with API Gateway HTTP API, S3 notification and scheduled-rule
// documents; S3 is versitygw and CloudWatch the wire endpoint.
type lambdaTarget struct {
	t                       testing.TB
	predict, batch, monitor *lambdaFunction
	cw                      *cloudWatchWire
	logBucket, batchBucket  *blob.Bucket
	batchName, httpTemplate string
}

// deployment is one model version's functions on the local counterparts.
type deployment struct {
	s3                 *s3Server
	cw                 *cloudWatchWire
	logURL, batchURL   string
	logName, batchName string
}

func newDeployment(t testing.TB, s3 *s3Server, cw *cloudWatchWire, name string) *deployment {
	d := &deployment{s3: s3, cw: cw, logName: name + "-logs", batchName: name + "-batch"}
	d.logURL = s3.bucket(t, d.logName)
	d.batchURL = s3.bucket(t, d.batchName)
	return d
}

func (d *deployment) start(t testing.TB, role string) *lambdaFunction {
	env := map[string]string{
		functions.EnvFunction:   role,
		functions.EnvLogURL:     d.logURL,
		functions.EnvBatchURL:   d.batchURL,
		functions.EnvMetricsURL: d.cw.url("ModelFn"),
		functions.EnvLogLevel:   "info",
	}
	return startFunction(t, role, env)
}

func TestConformanceUnderLambdaEmulator(t *testing.T) {
	s3 := startS3(t)
	cw := newCloudWatchWire(t)
	d := newDeployment(t, s3, cw, "conformance")
	target := &lambdaTarget{
		t: t, cw: cw, batchName: d.batchName, httpTemplate: "http-api-v2.json",
		predict: d.start(t, functions.RolePredict), batch: d.start(t, functions.RoleBatch), monitor: d.start(t, functions.RoleMonitor),
		logBucket: s3.open(t, d.logName), batchBucket: s3.open(t, d.batchName),
	}
	conformance.Run(t, target)
}

func (l *lambdaTarget) Do(ctx context.Context, method, path, ctype string, body []byte) (int, []byte, error) {
	return doHTTP(ctx, l.t, l.predict, l.httpTemplate, method, path, ctype, body)
}

// doHTTP sends a request through a predict function as its trigger would
// and decodes the response document.
func doHTTP(ctx context.Context, t testing.TB, f *lambdaFunction, template, method, path, ctype string, body []byte) (int, []byte, error) {
	out, err := f.invoke(ctx, httpEvent(t, template, method, path, ctype, body))
	if err != nil {
		return 0, nil, err
	}
	var resp awsprovider.HTTPResponse
	if err := json.Unmarshal(out, &resp); err != nil {
		return 0, nil, fmt.Errorf("response document %.200s: %w", out, err)
	}
	b := []byte(resp.Body)
	if resp.IsBase64Encoded {
		if b, err = base64.StdEncoding.DecodeString(resp.Body); err != nil {
			return 0, nil, err
		}
	}
	return resp.StatusCode, b, nil
}

func (l *lambdaTarget) Batch(ctx context.Context, key string, data []byte) error {
	if err := l.batchBucket.WriteAll(ctx, key, data, nil); err != nil {
		return err
	}
	out, err := l.batch.invoke(ctx, s3Event(l.t, l.batchName, key, int64(len(data))))
	if err != nil {
		return err
	}
	if string(out) != "null" {
		return fmt.Errorf("batch answered an S3 notification with %s, want null", out)
	}
	return nil
}

func (l *lambdaTarget) Flush(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	return l.predict.terminate(ctx)
}

func (l *lambdaTarget) Monitor(ctx context.Context) error {
	_, err := l.monitor.invoke(ctx, readDoc(l.t, "scheduled-rule.json"))
	return err
}

func (l *lambdaTarget) Metrics(ctx context.Context) ([]monitoring.Metric, error) {
	return l.cw.Metrics(ctx)
}

func (l *lambdaTarget) BatchBucket() *blob.Bucket { return l.batchBucket }
func (l *lambdaTarget) LogBucket() *blob.Bucket   { return l.logBucket }

var predictionID = regexp.MustCompile(`[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}`)

// The other triggers, through the emulator: Function URL events answer as
// HTTP API events do (also from a named stage and with base64 bodies);
// SQS-wrapped notifications report partial batch failures; a failed
// direct notification fails the invocation; the scheduler's input starts
// the monitor; SIGTERM writes the buffered prediction log.
func TestLambdaEvents(t *testing.T) {
	s3 := startS3(t)
	cw := newCloudWatchWire(t)
	d := newDeployment(t, s3, cw, "events")
	predict, batch, monitor := d.start(t, functions.RolePredict), d.start(t, functions.RoleBatch), d.start(t, functions.RoleMonitor)
	logs, inputs := s3.open(t, d.logName), s3.open(t, d.batchName)
	ctx := context.Background()
	holdout, err := os.ReadFile(filepath.Join(tools.Root(), "examples", "breast-cancer", "holdout.csv"))
	if err != nil {
		t.Fatal(err)
	}

	t.Run("function URL answers as the HTTP API", func(t *testing.T) {
		body := []byte(rowRequest(t, holdout, 1, 4))
		for _, r := range []struct{ method, path, ctype string }{
			{"POST", "/predict", "application/json"},
			{"POST", "/v2/models/breast-cancer/infer", "application/json"},
			{"GET", "/v2/models/breast-cancer", ""},
			{"POST", "/predict", "text/csv"},
			{"DELETE", "/predict", ""},
			{"GET", "/nope", ""},
		} {
			ws, wb, err := doHTTP(ctx, t, predict, "http-api-v2.json", r.method, r.path, r.ctype, body)
			if err != nil {
				t.Fatal(err)
			}
			gs, gb, err := doHTTP(ctx, t, predict, "function-url.json", r.method, r.path, r.ctype, body)
			if err != nil {
				t.Fatal(err)
			}
			if gs != ws || predictionID.ReplaceAllString(string(gb), "ID") != predictionID.ReplaceAllString(string(wb), "ID") {
				t.Errorf("%s %s: function URL %d %s, HTTP API %d %s", r.method, r.path, gs, gb, ws, wb)
			}
		}
		// A named stage and a base64 body (API Gateway sends one when the type is not text).
		ev := loadDoc(t, "http-api-v2.json")
		ev["rawPath"] = "/prod/predict"
		rc := ev["requestContext"].(map[string]any)
		rc["stage"] = "prod"
		rc["http"].(map[string]any)["path"] = "/prod/predict"
		ev["body"], ev["isBase64Encoded"] = base64.StdEncoding.EncodeToString(body), true
		raw, _ := json.Marshal(ev)
		out, err := predict.invoke(ctx, raw)
		if err != nil {
			t.Fatal(err)
		}
		var resp awsprovider.HTTPResponse
		if err := json.Unmarshal(out, &resp); err != nil || resp.StatusCode != 200 || !strings.Contains(resp.Body, `"predictions"`) {
			t.Errorf("stage prod, base64 body: %s (%v)", out, err)
		}
	})

	t.Run("SQS partial batch failure", func(t *testing.T) {
		const key = "input/sqs/holdout copy+1.csv"
		if err := inputs.WriteAll(ctx, key, holdout, nil); err != nil {
			t.Fatal(err)
		}
		event := sqsEvent(t,
			[2]string{"m-ok", string(s3Event(t, d.batchName, key, int64(len(holdout))))},
			[2]string{"m-missing", string(s3Event(t, d.batchName, "input/sqs/never-written.csv", 10))},
			[2]string{"m-other", string(s3Event(t, "someone-else", key, int64(len(holdout))))},
			[2]string{"m-test", string(readDoc(t, "s3-test-event.json"))},
		)
		out, err := batch.invoke(ctx, event)
		if err != nil {
			t.Fatal(err)
		}
		var resp struct {
			BatchItemFailures []struct {
				ItemIdentifier string `json:"itemIdentifier"`
			} `json:"batchItemFailures"`
		}
		if err := json.Unmarshal(out, &resp); err != nil {
			t.Fatalf("%s: %v", out, err)
		}
		if len(resp.BatchItemFailures) != 1 || resp.BatchItemFailures[0].ItemIdentifier != "m-other" {
			t.Errorf("response %s: want only m-other (another bucket's object) reported failed; a missing object is skipped", out)
		}
		got, err := inputs.ReadAll(ctx, "output/sqs/holdout copy+1.csv")
		if err != nil {
			t.Fatalf("the SQS-delivered object was not scored: %v", err)
		}
		if n := strings.Count(string(got), "\n"); n != strings.Count(string(holdout), "\n") {
			t.Errorf("output has %d lines, input %d", n, strings.Count(string(holdout), "\n"))
		}
	})

	t.Run("direct notification failure fails the invocation", func(t *testing.T) {
		_, err := batch.invoke(ctx, s3Event(t, "someone-else", "input/elsewhere.csv", 10))
		var fe *functionError
		if !errors.As(err, &fe) || !strings.Contains(fe.Message, "s3://someone-else/input/elsewhere.csv") {
			t.Errorf("err = %v: want a function error naming the object, so Lambda retries and then uses the on-failure destination", err)
		}
		if out, err := batch.invoke(ctx, s3Event(t, d.batchName, "input/never-written.csv", 10)); err != nil || string(out) != "null" {
			t.Errorf("an object deleted since its event: %s, %v; want it skipped", out, err)
		}
		out, err := batch.invoke(ctx, s3Event(t, d.batchName, "output/sqs/holdout copy+1.csv", 10))
		if err != nil || string(out) != "null" {
			t.Errorf("the function's own output: %s, %v; want it skipped", out, err)
		}
	})

	t.Run("scheduler input runs the monitor", func(t *testing.T) {
		out, err := monitor.invoke(ctx, readDoc(t, "scheduler.json"))
		if err != nil {
			t.Fatal(err)
		}
		var s awsprovider.MonitorSummary
		if err := json.Unmarshal(out, &s); err != nil || s.ObjectsRead == 0 || s.Metrics == 0 {
			t.Errorf("summary %s (%v): want the batch's log objects read and metrics published", out, err)
		}
		ms, err := cw.Metrics(ctx)
		if err != nil || len(ms) != s.Metrics {
			t.Errorf("%d metrics on the wire (%v), the summary says %d", len(ms), err, s.Metrics)
		}
	})

	t.Run("SIGTERM writes the buffered log", func(t *testing.T) {
		before := countRecords(t, logs, "http")
		for i := 0; i < 3; i++ {
			if s, b, err := doHTTP(ctx, t, predict, "function-url.json", "POST", "/predict", "application/json", []byte(rowRequest(t, holdout, 10+i, 1))); err != nil || s != 200 {
				t.Fatalf("%d %s %v", s, b, err)
			}
		}
		tctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		if err := predict.terminate(tctx); err != nil {
			t.Fatal(err)
		}
		// Every row predicted over HTTP in this test is in the log now:
		// 4 rows through /predict from each trigger, 4 through the named
		// stage and these 3 (the infer request, in the wrong format, was
		// refused).
		if got, want := countRecords(t, logs, "http"), 4+4+4+3; got != want {
			t.Errorf("%d HTTP records after SIGTERM (%d before these requests), want %d", got, before, want)
		}
		if !strings.Contains(predict.out.String(), "shutdown: prediction log flushed") {
			t.Errorf("no shutdown line in the function's log")
		}
	})
}

// rowRequest is {"instances": rows[from:from+n]} of a CSV with a header.
func rowRequest(t testing.TB, csv []byte, from, n int) string {
	t.Helper()
	lines := strings.Split(strings.TrimSpace(string(csv)), "\n")
	header := strings.Split(lines[0], ",")
	var rows []map[string]json.Number
	for _, l := range lines[1+from : 1+from+n] {
		row := map[string]json.Number{}
		for i, v := range strings.Split(l, ",") {
			if header[i] != "target" {
				row[header[i]] = json.Number(v)
			}
		}
		rows = append(rows, row)
	}
	b, _ := json.Marshal(map[string]any{"instances": rows})
	return string(b)
}

// countRecords counts prediction-log records from one source.
func countRecords(t testing.TB, b *blob.Bucket, source string) int {
	t.Helper()
	ctx := context.Background()
	n := 0
	it := b.List(&blob.ListOptions{Prefix: "predictions/"})
	for {
		o, err := it.Next(ctx)
		if err == io.EOF {
			return n
		}
		if err != nil {
			t.Fatal(err)
		}
		r, err := b.NewReader(ctx, o.Key, nil)
		if err != nil {
			t.Fatal(err)
		}
		zr, err := gzip.NewReader(r)
		if err != nil {
			t.Fatalf("%s: %v", o.Key, err)
		}
		data, err := io.ReadAll(zr)
		r.Close()
		if err != nil {
			t.Fatal(err)
		}
		n += strings.Count(string(data), `"source":"`+source+`"`)
	}
}
