package aws_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"gocloud.dev/blob"

	"github.com/modelfn/modelfn/functions"
	"github.com/modelfn/modelfn/functions/monitoring"
	awsprovider "github.com/modelfn/modelfn/providers/aws"
	"github.com/modelfn/modelfn/testing/conformance"
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
