package reliability

import (
	"bufio"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	stdlog "log"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"gocloud.dev/blob"
	_ "gocloud.dev/blob/s3blob" // s3:// buckets, as the AWS functions open them

	"github.com/modelfn/modelfn/functions"
	"github.com/modelfn/modelfn/functions/monitoring"
	_ "github.com/modelfn/modelfn/providers/local" // local:// metrics
	"github.com/modelfn/modelfn/testing/example"
	"github.com/modelfn/modelfn/testing/tools"
)

// Credentials of the local S3 server (versitygw).
const (
	accessKey = "modelfntestaccess"
	secretKey = "modelfntestsecret0123456789"
	region    = "us-east-1"
)

// ---- S3: versitygw (posix backend), which can go away and come back ----

// s3Store is a versitygw process whose data outlives it: stop kills it
// (SIGKILL, as a crash or a lost network would), start brings it back on
// the same port over the same folder.
type s3Store struct {
	t    testing.TB
	bin  string
	root string
	addr string

	mu   sync.Mutex
	cmd  *exec.Cmd
	out  *tools.SyncBuffer
	done chan error
}

func startS3(t testing.TB) *s3Store {
	t.Helper()
	s := &s3Store{t: t, bin: tools.Need(t, "versitygw", "make tools-versitygw"), root: t.TempDir(), addr: tools.FreeAddr(t)}
	for _, d := range []string{".meta", "data"} {
		if err := os.MkdirAll(filepath.Join(s.root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.stop)
	return s
}

func (s *s3Store) endpoint() string { return "http://" + s.addr }

// start runs versitygw and waits until it accepts connections.
func (s *s3Store) start() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.out = &tools.SyncBuffer{}
	s.cmd = exec.Command(s.bin, "--access", accessKey, "--secret", secretKey, "--region", region, "--port", s.addr,
		"posix", "--sidecar", filepath.Join(s.root, ".meta"), filepath.Join(s.root, "data"))
	s.cmd.Stdout, s.cmd.Stderr = s.out, s.out
	s.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := s.cmd.Start(); err != nil {
		return err
	}
	s.done = make(chan error, 1)
	go func(cmd *exec.Cmd, done chan error) { done <- cmd.Wait() }(s.cmd, s.done)
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if c, err := net.Dial("tcp", s.addr); err == nil {
			c.Close()
			return nil
		}
		select {
		case err := <-s.done:
			s.cmd = nil
			return fmt.Errorf("versitygw exited: %v\n%s", err, s.out.Tail(2000))
		case <-time.After(20 * time.Millisecond):
		}
	}
	return fmt.Errorf("versitygw did not listen on %s within 30s:\n%s", s.addr, s.out.Tail(2000))
}

// stop kills versitygw; connections in flight are cut.
func (s *s3Store) stop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd == nil {
		return
	}
	s.cmd.Process.Signal(syscall.SIGKILL)
	<-s.done
	s.cmd = nil
}

// restart brings a stopped store back, failing the test if it cannot.
func (s *s3Store) restart() {
	if err := s.start(); err != nil {
		s.t.Error(err)
	}
}

func (s *s3Store) client() *s3.Client {
	return s3.New(s3.Options{
		Region: region, BaseEndpoint: awssdk.String(s.endpoint()), UsePathStyle: true,
		Credentials: credentials.NewStaticCredentialsProvider(accessKey, secretKey, ""),
	})
}

// bucket creates a bucket and returns its gocloud URL through endpoint
// (the store's, or a fault proxy's in front of it).
func (s *s3Store) bucket(t testing.TB, name, endpoint string) string {
	t.Helper()
	if _, err := s.client().CreateBucket(context.Background(), &s3.CreateBucketInput{Bucket: awssdk.String(name)}); err != nil {
		t.Fatalf("create bucket %s: %v", name, err)
	}
	return s3URL(name, endpoint)
}

func s3URL(name, endpoint string) string {
	q := url.Values{"endpoint": {endpoint}, "use_path_style": {"true"}, "region": {region}}
	return "s3://" + name + "?" + q.Encode()
}

// open opens a bucket for the test's own reads and writes.
func open(t testing.TB, u string) *blob.Bucket {
	t.Helper()
	b, err := blob.OpenBucket(context.Background(), u)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return b
}

// ---- a fault proxy: the network between a function and its store ----

// faultProxy forwards HTTP to the store, and on request breaks the next
// matching exchanges as a failing network or store would.
type faultProxy struct {
	srv *httptest.Server
	rp  *httputil.ReverseProxy

	mu     sync.Mutex
	faults []*fault
	count  map[string]int // injected, by kind
}

type fault struct {
	kind   string // "reset", "cut" or "drop"
	method string
	match  string // a substring of the request path
	left   int
}

const (
	// reset closes the connection before any answer.
	faultReset = "reset"
	// cut sends the status, headers and half the body, then closes.
	faultCut = "cut"
	// drop forwards the request (the store does it) and closes the
	// connection instead of answering.
	faultDrop = "drop"
)

func newFaultProxy(t testing.TB, upstream string) *faultProxy {
	u, err := url.Parse(upstream)
	if err != nil {
		t.Fatal(err)
	}
	p := &faultProxy{count: map[string]int{}}
	p.rp = &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(u)
			pr.Out.Host = pr.In.Host // the client signed the proxy's host
		},
		// An unreachable store looks, through the proxy, as it would
		// without it: a broken connection, not a 502.
		ErrorHandler: func(http.ResponseWriter, *http.Request, error) { panic(http.ErrAbortHandler) },
	}
	p.srv = httptest.NewServer(p)
	p.srv.Config.ErrorLog = slogDiscard()
	t.Cleanup(p.srv.Close)
	return p
}

func (p *faultProxy) endpoint() string { return p.srv.URL }

// inject breaks the next n requests of method whose path contains match.
func (p *faultProxy) inject(kind, method, match string, n int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.faults = append(p.faults, &fault{kind: kind, method: method, match: match, left: n})
}

// injected is how many exchanges of a kind were broken.
func (p *faultProxy) injected(kind string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.count[kind]
}

func (p *faultProxy) take(r *http.Request) string {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, f := range p.faults {
		if f.left > 0 && r.Method == f.method && strings.Contains(r.URL.Path, f.match) {
			f.left--
			p.count[f.kind]++
			return f.kind
		}
	}
	return ""
}

func (p *faultProxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch p.take(r) {
	case faultReset:
		panic(http.ErrAbortHandler) // the server closes the connection, answering nothing
	case faultDrop:
		p.rp.ServeHTTP(discard{header: http.Header{}}, r)
		panic(http.ErrAbortHandler)
	case faultCut:
		p.rp.ServeHTTP(&cutWriter{ResponseWriter: w}, r)
	default:
		p.rp.ServeHTTP(w, r)
	}
}

type discard struct{ header http.Header }

func (d discard) Header() http.Header         { return d.header }
func (d discard) Write(b []byte) (int, error) { return len(b), nil }
func (d discard) WriteHeader(int)             {}

// cutWriter passes half of a body with a Content-Length, then aborts.
type cutWriter struct {
	http.ResponseWriter
	left int64
}

func (c *cutWriter) WriteHeader(status int) {
	var n int64
	fmt.Sscan(c.Header().Get("Content-Length"), &n)
	c.left = n / 2
	c.ResponseWriter.WriteHeader(status)
}

func (c *cutWriter) Write(b []byte) (int, error) {
	if int64(len(b)) >= c.left {
		c.ResponseWriter.Write(b[:c.left])
		c.ResponseWriter.(http.Flusher).Flush()
		panic(http.ErrAbortHandler)
	}
	c.left -= int64(len(b))
	return c.ResponseWriter.Write(b)
}

func slogDiscard() *stdlog.Logger { return slog.NewLogLogger(slog.DiscardHandler, slog.LevelError) }

// ---- the example's rows with their targets ----

type exampleRow struct {
	text     string // the CSV record as written, without the target
	features map[string]float64
	target   string
}

// exampleRows reads the held-out and drifted rows of the example.
func exampleRows(t testing.TB) (header string, rows []exampleRow) {
	t.Helper()
	for _, file := range []string{"holdout.csv", "drifted.csv"} {
		f, err := os.Open(filepath.Join(example.Dir, file))
		if err != nil {
			t.Fatal(err)
		}
		recs, err := csv.NewReader(f).ReadAll()
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
		target := -1
		var names []string
		for i, h := range recs[0] {
			if h == "target" {
				target = i
				continue
			}
			names = append(names, h)
		}
		header = strings.Join(names, ",")
		for _, rec := range recs[1:] {
			r := exampleRow{features: map[string]float64{}}
			var fields []string
			for i, v := range rec {
				if i == target {
					r.target = v
					continue
				}
				var x float64
				fmt.Sscan(v, &x)
				r.features[recs[0][i]] = x
				fields = append(fields, v)
			}
			r.text = strings.Join(fields, ",")
			rows = append(rows, r)
		}
	}
	return header, rows
}

// ---- a function process the tests can kill -9 ----

// runHelper plays role with the wiring a cloud function gets (the
// MODELFN_* environment), as a child of the test binary.
func runHelper(role string) int {
	ctx := context.Background()
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	cfg, err := functions.ConfigFromEnv()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	app, err := functions.New(ctx, cfg, log)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer app.Close(ctx)
	switch role {
	case "monitor":
		if now, err := time.Parse(time.RFC3339Nano, os.Getenv("MODELFN_RELIABILITY_NOW")); err == nil {
			app.Monitor.Now = func() time.Time { return now }
		}
		res, err := app.Monitor.Run(ctx)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		w := bufio.NewWriter(os.Stdout)
		json.NewEncoder(w).Encode(windowMetrics(res.Metrics))
		w.Flush()
		return 0
	}
	fmt.Fprintln(os.Stderr, "unknown role", role)
	return 2
}

// windowMetrics keys a run's window metrics by name and labels, leaving
// out the run's own health counters (monitor_*), which differ between a
// resumed and a clean run by design.
func windowMetrics(ms []monitoring.Metric) map[string]float64 {
	out := map[string]float64{}
	for _, m := range ms {
		if strings.HasPrefix(m.Name, "monitor_") {
			continue
		}
		key := m.Name
		for _, k := range slices.Sorted(maps.Keys(m.Labels)) {
			key += "," + k + "=" + m.Labels[k]
		}
		out[key] = m.Value
	}
	return out
}
