package gcp_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"cloud.google.com/go/monitoring/apiv3/v2/monitoringpb"
	"cloud.google.com/go/storage"
	"gocloud.dev/blob"
	"gocloud.dev/blob/gcsblob"
	"google.golang.org/api/option"
	metricpb "google.golang.org/genproto/googleapis/api/metric"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/emptypb"

	"github.com/modelfn/modelfn/functions/monitoring"
	"github.com/modelfn/modelfn/providers/gcp"
	"github.com/modelfn/modelfn/testing/tools"
)

// Buckets the functions use in the tests, as the Terraform module names
// them per deployment.
const (
	logBucket   = "modelfn-test-logs"
	batchBucket = "modelfn-test-batch"
	project     = "modelfn-test"
)

// gcs is a fake-gcs-server on loopback, with a folder backend so that a
// restart keeps the objects (the transient-failure test stops it).
type gcs struct {
	t    *testing.T
	bin  string
	root string
	addr string
	cmd  *exec.Cmd
	out  bytes.Buffer
}

func startGCS(t *testing.T) *gcs {
	t.Helper()
	g := &gcs{t: t, bin: tools.Need(t, "fake-gcs-server", "make tools-fake-gcs-server"), root: t.TempDir(), addr: tools.FreeAddr(t)}
	g.start()
	t.Cleanup(g.stop)
	for _, b := range []string{logBucket, batchBucket} {
		body := fmt.Sprintf(`{"name":%q}`, b)
		resp, err := http.Post("http://"+g.addr+"/storage/v1/b?project="+project, "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("create bucket %s: %s", b, resp.Status)
		}
	}
	return g
}

func (g *gcs) start() {
	g.t.Helper()
	_, port, _ := net.SplitHostPort(g.addr)
	g.cmd = exec.Command(g.bin, "-scheme", "http", "-host", "127.0.0.1", "-port", port,
		"-backend", "filesystem", "-filesystem-root", g.root,
		"-public-host", g.addr, "-external-url", "http://"+g.addr, "-log-level", "warn")
	g.cmd.Stdout, g.cmd.Stderr = &g.out, &g.out
	if err := g.cmd.Start(); err != nil {
		g.t.Fatal(err)
	}
	waitHTTP(g.t, "http://"+g.addr+"/storage/v1/b?project="+project, &g.out)
}

func (g *gcs) stop() {
	if g.cmd != nil && g.cmd.Process != nil {
		g.cmd.Process.Kill()
		g.cmd.Wait()
		g.cmd = nil
	}
}

// bucket opens a bucket through the real Cloud Storage client, pointed at
// the emulator explicitly (the processes under test get
// STORAGE_EMULATOR_HOST instead).
func (g *gcs) bucket(t *testing.T, name string) *blob.Bucket {
	t.Helper()
	ctx := context.Background()
	c, err := storage.NewClient(ctx, option.WithEndpoint("http://"+g.addr+"/storage/v1/"), option.WithoutAuthentication())
	if err != nil {
		t.Fatal(err)
	}
	b, err := gcsblob.OpenBucket(ctx, nil, name, &gcsblob.Options{Client: c})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close(); c.Close() })
	return b
}

// objectResource is the object's JSON resource as the Cloud Storage API
// serves it: what Eventarc puts in a storage event's data.
func (g *gcs) objectResource(t *testing.T, bucket, name string) []byte {
	t.Helper()
	resp, err := http.Get("http://" + g.addr + "/storage/v1/b/" + bucket + "/o/" + url.PathEscape(name))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("object resource %s/%s: %s %s %v", bucket, name, resp.Status, data, err)
	}
	return data
}

// metricServer is a Cloud Monitoring MetricService on loopback that the
// real client talks to. It checks what the API checks of a
// CreateTimeSeries call and records the series.
type metricServer struct {
	monitoringpb.UnimplementedMetricServiceServer
	addr string

	mu     sync.Mutex
	calls  int
	series []*monitoringpb.TimeSeries
	fail   error // returned by the next call when set
}

func startMetricServer(t *testing.T) *metricServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &metricServer{addr: ln.Addr().String()}
	srv := grpc.NewServer()
	monitoringpb.RegisterMetricServiceServer(srv, s)
	go srv.Serve(ln)
	t.Cleanup(srv.Stop)
	return s
}

// URL is the monitoring URL the functions get.
func (s *metricServer) URL() string {
	return "gcpmonitoring://" + project + "?endpoint=" + s.addr + "&insecure=true"
}

func (s *metricServer) CreateTimeSeries(_ context.Context, req *monitoringpb.CreateTimeSeriesRequest) (*emptypb.Empty, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls++
	if err := s.fail; err != nil {
		s.fail = nil
		return nil, err
	}
	if req.Name != "projects/"+project {
		return nil, status.Errorf(codes.NotFound, "project %q not found", req.Name)
	}
	if n := len(req.TimeSeries); n == 0 || n > 200 {
		return nil, status.Errorf(codes.InvalidArgument, "%d time series: 1 to 200 per call", n)
	}
	seen := map[string]bool{}
	for i, ts := range req.TimeSeries {
		if !strings.HasPrefix(ts.GetMetric().GetType(), "custom.googleapis.com/") {
			return nil, status.Errorf(codes.InvalidArgument, "timeSeries[%d]: %q is not a custom metric type", i, ts.GetMetric().GetType())
		}
		if ts.GetResource().GetType() != "global" || ts.GetResource().GetLabels()["project_id"] != project {
			return nil, status.Errorf(codes.InvalidArgument, "timeSeries[%d]: resource %v", i, ts.GetResource())
		}
		if len(ts.Points) != 1 || ts.Points[0].GetInterval().GetEndTime() == nil {
			return nil, status.Errorf(codes.InvalidArgument, "timeSeries[%d]: exactly one point with an end time", i)
		}
		if ts.MetricKind != metricpb.MetricDescriptor_GAUGE || ts.ValueType != metricpb.MetricDescriptor_DOUBLE {
			return nil, status.Errorf(codes.InvalidArgument, "timeSeries[%d]: kind %v value %v", i, ts.MetricKind, ts.ValueType)
		}
		key := fmt.Sprint(ts.Metric.Type, ts.Metric.Labels)
		if seen[key] {
			return nil, status.Errorf(codes.InvalidArgument, "timeSeries[%d]: duplicate TimeSeries %s", i, key)
		}
		seen[key] = true
	}
	s.series = append(s.series, req.TimeSeries...)
	return &emptypb.Empty{}, nil
}

// Metrics decodes the recorded series back into modelfn metrics.
func (s *metricServer) Metrics() []monitoring.Metric {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []monitoring.Metric
	for _, ts := range s.series {
		p := ts.Points[0]
		out = append(out, monitoring.Metric{
			Name:   strings.TrimPrefix(ts.Metric.Type, gcp.MetricPrefix),
			Value:  p.GetValue().GetDoubleValue(),
			Labels: ts.Metric.Labels,
			Time:   p.GetInterval().GetEndTime().AsTime(),
		})
	}
	return out
}

// waitHTTP waits until url answers at all.
func waitHTTP(t *testing.T, url string, out *bytes.Buffer) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		resp, err := http.Get(url)
		if err == nil {
			resp.Body.Close()
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("%s did not answer within a minute:\n%s", url, out)
}

// The function binary: the archive `modelfn build --cloud gcp` writes,
// unpacked and compiled offline with the main package Google's buildpack
// generates for a declarative Go function. Built once per test binary.
var (
	fnOnce sync.Once
	fnBin  string
	fnSrc  string // the unpacked archive
	fnZip  string
	fnErr  error
	fnDir  string // removed by TestMain
)

// buildpackMain is the main package the Cloud Functions buildpack writes
// for a function registered with functions.HTTP/CloudEvent.
const buildpackMain = `package main

import (
	"log"
	"net/http"
	"os"

	_ "modelfn.local/breast-cancer"

	"github.com/GoogleCloudPlatform/functions-framework-go/funcframework"
)

func main() {
	http.HandleFunc("/robots.txt", http.NotFound)
	http.HandleFunc("/favicon.ico", http.NotFound)
	port := os.Getenv("PORT")
	if port == "" {
		port = "8080"
	}
	if err := funcframework.Start(port); err != nil {
		log.Fatalf("Function failed to start: %v\n", err)
	}
}
`

func functionBinary(t *testing.T) string {
	t.Helper()
	fnOnce.Do(func() { fnBin, fnErr = buildFunction() })
	if fnErr != nil {
		t.Fatal(fnErr)
	}
	return fnBin
}

func buildFunction() (string, error) {
	ctx := context.Background()
	b, err := loadExample()
	if err != nil {
		return "", err
	}
	var log bytes.Buffer
	art, err := gcp.Cloud{}.Build(ctx, b, filepath.Join(fnDir, "dist"), &log)
	if err != nil {
		return "", fmt.Errorf("%w\n%s", err, log.Bytes())
	}
	fnZip = art.Path
	fnSrc = filepath.Join(fnDir, "src")
	if err := tools.Unzip(art.Path, fnSrc); err != nil {
		return "", err
	}
	app := filepath.Join(fnSrc, "functions.local", "app")
	if err := os.MkdirAll(app, 0o755); err != nil {
		return "", err
	}
	if err := os.WriteFile(filepath.Join(app, "main.go"), []byte(buildpackMain), 0o644); err != nil {
		return "", err
	}
	// Offline: vendor/ only, no proxy, an empty module cache. -trimpath
	// keeps the build cache valid across temporary folders.
	bin := filepath.Join(fnDir, "function")
	cmd := exec.Command("go", "build", "-mod=vendor", "-trimpath", "-o", bin, "./functions.local/app")
	cmd.Dir = fnSrc
	cmd.Env = append(os.Environ(), "GOFLAGS=-mod=vendor", "GOPROXY=off", "GOWORK=off", "GOTOOLCHAIN=local",
		"GOMODCACHE="+filepath.Join(fnDir, "empty-modcache"), "CGO_ENABLED=0")
	out, err := cmd.CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("offline build of the source archive: %w\n%s", err, out)
	}
	return bin, nil
}

func TestMain(m *testing.M) {
	var err error
	if fnDir, err = os.MkdirTemp("", "modelfn-gcp-test-"); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(fnDir)
	os.Exit(code)
}

// fn is one function instance: the binary serving one entry point, as
// Cloud Run runs it.
type fn struct {
	target string
	url    string
	cmd    *exec.Cmd
	out    *tools.SyncBuffer
	done   chan error
}

// startFunction runs the function binary for one entry point, wired to
// the emulators like a deployed function is wired by the Terraform module.
func startFunction(t *testing.T, target string, g *gcs, ms *metricServer, extraEnv ...string) *fn {
	t.Helper()
	bin := functionBinary(t)
	addr := tools.FreeAddr(t)
	_, port, _ := net.SplitHostPort(addr)
	cmd := exec.Command(bin)
	cmd.Env = append(os.Environ(),
		"PORT="+port,
		"FUNCTION_TARGET="+target,
		"K_SERVICE=breast-cancer-"+strings.ToLower(target),
		"K_REVISION=breast-cancer-"+strings.ToLower(target)+"-00001-abc",
		"STORAGE_EMULATOR_HOST="+g.addr,
		"MODELFN_LOG_URL=gs://"+logBucket,
		"MODELFN_BATCH_URL=gs://"+batchBucket,
		"MODELFN_METRICS_URL="+ms.URL(),
		"MODELFN_LOG_LEVEL=debug",
	)
	cmd.Env = append(cmd.Env, extraEnv...)
	f := &fn{target: target, url: "http://" + addr, cmd: cmd, out: &tools.SyncBuffer{}, done: make(chan error, 1)}
	cmd.Stdout, cmd.Stderr = f.out, f.out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { f.done <- cmd.Wait() }()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-f.done
		if t.Failed() {
			t.Logf("%s output:\n%s", target, f.out.String())
		}
	})
	deadline := time.Now().Add(30 * time.Second)
	for {
		c, err := net.Dial("tcp", addr)
		if err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s did not listen within 30s:\n%s", target, f.out.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	return f
}

// logLines decodes the JSON log lines an instance wrote.
func logLines(b *tools.SyncBuffer) []map[string]any {
	var out []map[string]any
	for _, l := range strings.Split(b.String(), "\n") {
		var m map[string]any
		if json.Unmarshal([]byte(l), &m) == nil {
			out = append(out, m)
		}
	}
	return out
}
