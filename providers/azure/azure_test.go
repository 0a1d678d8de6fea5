package azure_test

import (
	"archive/zip"
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"gocloud.dev/blob"

	"github.com/modelfn/modelfn/functions/monitoring"
	"github.com/modelfn/modelfn/providers/azure"
	"github.com/modelfn/modelfn/providers/azure/azuretest"
	"github.com/modelfn/modelfn/providers/build"
	"github.com/modelfn/modelfn/testing/conformance"
	"github.com/modelfn/modelfn/testing/tools"
)

func TestMain(m *testing.M) {
	code := m.Run()
	azuretest.StopShared()
	os.Exit(code)
}

// built is the app zip, built once per test binary by the registered
// "azure" cloud exactly as `modelfn build --cloud azure` builds it.
var built struct {
	once sync.Once
	dir  string
	art  build.Artifact
	log  bytes.Buffer
	err  error
}

func artifact(t *testing.T) build.Artifact {
	t.Helper()
	built.once.Do(func() {
		built.dir, built.err = os.MkdirTemp("", "modelfn-azure-build-")
		if built.err != nil {
			return
		}
		c, err := build.Lookup("azure")
		if err != nil {
			built.err = err
			return
		}
		built.art, built.err = c.Build(context.Background(), load(t), built.dir, &built.log)
	})
	if built.err != nil {
		t.Fatalf("build: %v\n%s", built.err, built.log.String())
	}
	return built.art
}

// startApp unzips the artifact into a fresh app root and starts its
// handler as the host would, wired to Azurite containers (created here),
// the ingestion endpoint and the managed-identity endpoint.
func startApp(t *testing.T, logs, batch string, ingest *azuretest.Ingestion, id *azuretest.Identity, extra ...string) (*azuretest.App, []string) {
	t.Helper()
	az := azuretest.Shared(t)
	if err := az.CreateContainers(context.Background(), logs, batch); err != nil {
		t.Fatal(err)
	}
	art := artifact(t)
	dir := t.TempDir()
	if err := azuretest.Unzip(art.Path, dir); err != nil {
		t.Fatal(err)
	}
	app, err := azuretest.LoadApp(dir)
	if err != nil {
		t.Fatal(err)
	}
	env := append([]string{
		"MODELFN_LOG_URL=azblob://" + logs,
		"MODELFN_BATCH_URL=azblob://" + batch,
		"MODELFN_METRICS_URL=" + ingest.URL(),
		"AZURE_STORAGE_CONNECTION_STRING=" + az.ConnectionString, // the emulator only; managed identity in Azure
		"SSL_CERT_FILE=" + ingest.CertFile(t, t.TempDir()),
	}, id.Env()...)
	env = append(env, extra...)
	ingest.Authorize = func(tok string) bool { return id.Issued(tok, "monitor.azure.com") }
	if err := app.Start(env); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		app.Stop(syscall.SIGKILL)
		if t.Failed() {
			t.Logf("handler output:\n%s", app.Output())
		}
	})
	return app, env
}

func openBucket(t *testing.T, container string) *blob.Bucket {
	t.Helper()
	azuretest.Shared(t)
	b, err := blob.OpenBucket(context.Background(), "azblob://"+container)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return b
}

// target is the Azure provider as the conformance suite sees it: the
// built app's handler driven with the host's requests and payloads,
// Azurite for Blob Storage and the local Logs Ingestion endpoint.
type target struct {
	app         *azuretest.App
	env         []string
	ingest      *azuretest.Ingestion
	batch, logs *blob.Bucket
	container   string
	endpoint    string
}

func TestConformance(t *testing.T) {
	ingest := azuretest.NewIngestion(t, "dcr-conformance", "Custom-ModelFnMetrics_CL")
	id := azuretest.NewIdentity(t)
	app, env := startApp(t, "conf-logs", "conf-batch", ingest, id)
	x := &target{app: app, env: env, ingest: ingest, batch: openBucket(t, "conf-batch"), logs: openBucket(t, "conf-logs"),
		container: "conf-batch", endpoint: azuretest.Shared(t).Endpoint}
	conformance.Run(t, x)
	if id.Requests() == 0 {
		t.Error("no token came from the managed-identity endpoint")
	}
}

func (x *target) Do(ctx context.Context, method, path, ctype string, body []byte) (int, []byte, error) {
	h := http.Header{"X-Functions-Key": {x.app.Key}}
	if ctype != "" {
		h.Set("Content-Type", ctype)
	}
	resp, err := x.app.HTTP(ctx, method, path, h, body)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, b, err
}

// Batch writes the blob through the SDK and delivers the BlobCreated event
// Blob Storage would send, as the storage queue hands it to the trigger.
func (x *target) Batch(ctx context.Context, key string, data []byte) error {
	if err := x.batch.WriteAll(ctx, key, data, &blob.WriterOptions{ContentType: "text/csv"}); err != nil {
		return err
	}
	a, err := x.batch.Attributes(ctx, key)
	if err != nil {
		return err
	}
	msg := azuretest.BlobCreated(azuretest.Account, x.container, key, strings.Trim(a.ETag, `"`), a.ContentType, a.Size, x.endpoint+"/"+x.container+"/"+key)
	status, res, err := x.app.InvokeQueue(ctx, azure.FunctionBatch, msg, 1)
	if err != nil {
		return err
	}
	if status != http.StatusOK {
		return fmt.Errorf("batch invocation failed (%d): %v", status, res.Logs)
	}
	return nil
}

// Flush stops the handler as the platform does when it scales in
// (SIGTERM), which flushes the prediction log, and starts a new instance.
func (x *target) Flush(ctx context.Context) error {
	if err := x.app.Stop(syscall.SIGTERM); err != nil {
		return fmt.Errorf("the handler's exit after SIGTERM: %v\n%s", err, x.app.Output())
	}
	return x.app.Start(x.env)
}

func (x *target) Monitor(ctx context.Context) error {
	status, res, err := x.app.InvokeTimer(ctx, azure.FunctionMonitor)
	if err != nil {
		return err
	}
	if status != http.StatusOK {
		return fmt.Errorf("monitor invocation failed (%d): %v", status, res.Logs)
	}
	return nil
}

func (x *target) Metrics(context.Context) ([]monitoring.Metric, error) { return x.ingest.Metrics() }
func (x *target) BatchBucket() *blob.Bucket                            { return x.batch }
func (x *target) LogBucket() *blob.Bucket                              { return x.logs }

// A function key is required unless the bundle opts into a public
// endpoint (the runner checks keys as the host does).
func TestPredictNeedsAFunctionKey(t *testing.T) {
	ingest := azuretest.NewIngestion(t, "dcr-keys", "Custom-ModelFnMetrics_CL")
	app, _ := startApp(t, "keys-logs", "keys-batch", ingest, azuretest.NewIdentity(t))
	resp, err := app.HTTP(context.Background(), "GET", "/v2/health/ready", http.Header{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("without a key: %d, want 401", resp.StatusCode)
	}
	resp, err = app.HTTP(context.Background(), "GET", "/v2/health/ready?code="+app.Key, http.Header{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("with ?code=: %d, want 200", resp.StatusCode)
	}
}

// The host stops a handler by killing it, so the prediction log must not
// wait for a shutdown: records are written within flush_interval.
func TestPredictionLogSurvivesAKill(t *testing.T) {
	bundleDir := t.TempDir()
	for _, f := range []string{"modelfn.yaml", "model.json", "reference.profile.json"} {
		data, err := os.ReadFile(filepath.Join(conformance.Bundle(), f))
		if err != nil {
			t.Fatal(err)
		}
		if f == "modelfn.yaml" {
			data = bytes.Replace(data, []byte("flush_interval: 5s"), []byte("flush_interval: 1s"), 1)
		}
		if err := os.WriteFile(filepath.Join(bundleDir, f), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	ingest := azuretest.NewIngestion(t, "dcr-kill", "Custom-ModelFnMetrics_CL")
	app, _ := startApp(t, "kill-logs", "kill-batch", ingest, azuretest.NewIdentity(t), "MODELFN_BUNDLE="+bundleDir)
	x := &target{app: app}
	body := `{"instances": [[` + strings.Repeat("1,", 29) + `1]]}`
	for range 3 {
		status, b, err := x.Do(context.Background(), "POST", "/predict", "application/json", []byte(body))
		if err != nil || status != 200 {
			t.Fatalf("predict: %d %s %v", status, b, err)
		}
	}
	logs := openBucket(t, "kill-logs")
	deadline := time.Now().Add(20 * time.Second)
	for len(tools.Keys(t, logs, "predictions/")) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("no prediction-log object 20s after three predictions (flush_interval 1s)")
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err := app.Stop(syscall.SIGKILL); err == nil {
		t.Error("SIGKILL: the handler exited cleanly?")
	}
	if n := len(tools.Keys(t, logs, "predictions/")); n == 0 {
		t.Error("the objects vanished")
	}
}

func TestArtifact(t *testing.T) {
	art := artifact(t)
	zr, err := zip.OpenReader(art.Path)
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	modes := map[string]os.FileMode{}
	for _, f := range zr.File {
		modes[f.Name] = f.Mode()
	}
	var names []string
	for n := range modes {
		names = append(names, n)
	}
	sort.Strings(names)
	want := []string{"batch/function.json", "bundle/model.json", "bundle/modelfn.yaml", "bundle/reference.profile.json",
		"handler", "host.json", "monitor/function.json", "predict/function.json"}
	if strings.Join(names, " ") != strings.Join(want, " ") {
		t.Errorf("zip holds %v, want %v", names, want)
	}
	if modes["handler"]&0o111 == 0 {
		t.Errorf("handler mode %v is not executable", modes["handler"])
	}
	st, err := os.Stat(art.Path)
	if err != nil || st.Size() != art.Size || art.Cloud != "azure" || filepath.Base(filepath.Dir(art.Path)) != "azure" {
		t.Errorf("artifact %+v, file size %v (%v)", art, st.Size(), err)
	}
	if !strings.Contains(built.log.String(), "wrote "+art.Path) {
		t.Errorf("the build did not report its result:\n%s", built.log.String())
	}
	t.Logf("app.zip: %d bytes (%.1f MB)", art.Size, float64(art.Size)/(1<<20))

	// The same inputs give the same bytes (so a redeploy sees no change):
	// two builds back to back, as the shared one may be older than the
	// source by now.
	var zips [2][]byte
	for i := range zips {
		again, err := azure.Cloud{}.Build(context.Background(), load(t), t.TempDir(), io.Discard)
		if err != nil {
			t.Fatal(err)
		}
		zips[i], _ = os.ReadFile(again.Path)
	}
	if !bytes.Equal(zips[0], zips[1]) {
		t.Error("two builds of the same bundle differ")
	}
}
