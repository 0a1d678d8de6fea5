package local

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/valyala/fasthttp"
	"gocloud.dev/blob/memblob"

	"github.com/modelfn/modelfn/functions/predict"
	"github.com/modelfn/modelfn/functions/predlog"
	"github.com/modelfn/modelfn/testing/example"
)

// TestFastHandler: a handler served through fastHandler sees the request
// net/http would give it, and its answer reaches a net/http client as
// written, over real loopback connections.
func TestFastHandler(t *testing.T) {
	var calls int
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls++
		switch r.URL.Path {
		case "/panic":
			panic("handler bug")
		case "/silent":
			return
		}
		body, _ := io.ReadAll(r.Body)
		w.Header().Set("Content-Type", "application/json")
		w.Header().Add("X-Seen", "one")
		w.Header().Add("X-Seen", "two")
		w.WriteHeader(http.StatusTeapot)
		json.NewEncoder(w).Encode(map[string]any{
			"method": r.Method, "path": r.URL.Path, "query": r.URL.RawQuery, "uri": r.RequestURI,
			"host": r.Host, "remote": r.RemoteAddr != "", "length": r.ContentLength, "body": string(body),
			"ctype": r.Header.Get("Content-Type"), "custom": r.Header.Values("X-Custom"), "hostHeader": r.Header.Get("Host"),
		})
	})
	base := serveFast(t, newFastServer(h, 1<<10, slog.New(slog.NewTextHandler(io.Discard, nil))))

	for i := range 2 { // twice: the second request reuses the first's values
		req, _ := http.NewRequest("PUT", base+"/a/b?x=1&y=2", strings.NewReader(fmt.Sprint("body ", i)))
		req.Header.Set("Content-Type", "text/plain")
		req.Header.Add("X-Custom", "c1")
		req.Header.Add("X-Custom", "c2")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var got map[string]any
		json.NewDecoder(resp.Body).Decode(&got)
		resp.Body.Close()
		want := map[string]any{"method": "PUT", "path": "/a/b", "query": "x=1&y=2", "uri": "/a/b?x=1&y=2",
			"host": strings.TrimPrefix(base, "http://"), "remote": true, "length": float64(6), "body": fmt.Sprint("body ", i),
			"ctype": "text/plain", "custom": []any{"c1", "c2"}, "hostHeader": ""}
		if resp.StatusCode != http.StatusTeapot || resp.Header.Get("Content-Type") != "application/json" ||
			strings.Join(resp.Header.Values("X-Seen"), ",") != "one,two" || fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("answer %d %v\n got  %v\n want %v", resp.StatusCode, resp.Header, got, want)
		}
	}

	t.Run("a handler that writes nothing answers 200", func(t *testing.T) {
		resp, err := http.Get(base + "/silent")
		if err != nil || resp.StatusCode != 200 || resp.ContentLength != 0 {
			t.Fatalf("%v %+v", err, resp)
		}
		resp.Body.Close()
	})
	t.Run("a panic answers 500 and the server goes on", func(t *testing.T) {
		checkError(t, base+"/panic", "", http.StatusInternalServerError, "internal")
		resp, err := http.Get(base + "/silent")
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("after the panic: %v %+v", err, resp)
		}
		resp.Body.Close()
	})
	t.Run("a body over the limit is refused before the handler", func(t *testing.T) {
		before := calls
		checkError(t, base+"/big", strings.Repeat("x", 2<<10), http.StatusRequestEntityTooLarge, "body_too_large")
		if calls != before {
			t.Fatal("the handler saw the refused body")
		}
	})
	t.Run("headers over the limit are refused", func(t *testing.T) {
		checkError(t, base+"/"+strings.Repeat("p", maxHeaderBytes), "", http.StatusRequestHeaderFieldsTooLarge, "header_too_large")
	})
}

// TestRefusedClientStillSending: a client refused while it is still
// sending (its headers over the limit) finishes sending without a reset
// and reads its answer, as from net/http.
func TestRefusedClientStillSending(t *testing.T) {
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {})
	base := serveFast(t, newFastServer(h, 1<<10, slog.New(slog.NewTextHandler(io.Discard, nil))))
	c, err := net.Dial("tcp", strings.TrimPrefix(base, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := io.WriteString(c, "GET /"+strings.Repeat("p", maxHeaderBytes)+" HTTP/1.1\r\n"); err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond) // the server answers and closes meanwhile
	for range 100 {
		if _, err := io.WriteString(c, "X-More: "+strings.Repeat("m", 1000)+"\r\n"); err != nil {
			t.Fatalf("writing the rest of the headers: %v", err)
		}
	}
	c.(*net.TCPConn).CloseWrite()
	answer, err := io.ReadAll(c)
	if err != nil || !bytes.HasPrefix(answer, []byte("HTTP/1.1 431 ")) || !bytes.Contains(answer, []byte(`"header_too_large"`)) {
		t.Fatalf("%v: %q", err, answer)
	}
}

// checkError sends a GET (or a POST of body) and wants status with a JSON
// error body of code.
func checkError(t *testing.T, url, body string, status int, code string) {
	t.Helper()
	var resp *http.Response
	var err error
	if body == "" {
		resp, err = http.Get(url)
	} else {
		resp, err = http.Post(url, "application/json", strings.NewReader(body))
	}
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var e struct{ Error, Code string }
	if json.NewDecoder(resp.Body).Decode(&e); resp.StatusCode != status || e.Code != code || e.Error == "" ||
		resp.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("answer %d %+v, want %d with code %q", resp.StatusCode, e, status, code)
	}
}

func serveFast(t *testing.T, srv fastServer) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Shutdown() })
	return "http://" + ln.Addr().String()
}

// oneRowExchange is a one-row prediction request to the example model as
// fasthttp hands it to fastHandler, and the handler to serve it, with the
// prediction log on (into memory) when logged.
func oneRowExchange(tb testing.TB, logged bool) (fasthttp.RequestHandler, *fasthttp.RequestCtx) {
	m, s := example.Model(tb)
	opt := predict.Options{Name: "example", Version: "1", MaxRows: 100, MaxBodyBytes: 1 << 20}
	if logged {
		// Records stay buffered: writing an object allocates, once in 10,000 records.
		l := predlog.NewLogger(memblob.OpenBucket(nil), predlog.NewEncoder("example", "1", s, m.Info()),
			predlog.Options{Prefix: "p/", FlushRecords: 1 << 20, FlushInterval: time.Hour, MaxBuffered: 1 << 20})
		tb.Cleanup(func() { l.Close(context.Background()) })
		opt.Log = l
	}
	h := predict.New(m, s, opt)
	rows, _ := example.Holdout(tb)
	body, _ := json.Marshal(map[string]any{"instances": rows[:1]})
	var req fasthttp.Request
	req.Header.SetMethod("POST")
	req.SetRequestURI("/predict")
	req.Header.SetHost("localhost")
	req.Header.SetContentType("application/json")
	req.SetBody(body)
	// On a connection as the watchdog accepts them, which know their
	// remote address (fasthttp's own would be formatted for every request).
	conn, _ := net.Pipe()
	tb.Cleanup(func() { conn.Close() })
	ctx := new(fasthttp.RequestCtx)
	ctx.Init2(&watchedConn{Conn: conn, remote: "127.0.0.1:1234"}, nil, false)
	req.CopyTo(&ctx.Request)
	return fastHandler(h, slog.Default()), ctx
}

func serveOnce(tb testing.TB, serve fasthttp.RequestHandler, ctx *fasthttp.RequestCtx) {
	ctx.Response.Reset()
	serve(ctx)
	if ctx.Response.StatusCode() != 200 || !bytes.Contains(ctx.Response.Body(), []byte(`"predictions"`)) {
		tb.Fatalf("%d %s", ctx.Response.StatusCode(), ctx.Response.Body())
	}
}

// TestFastHandlerLeavesNoGarbage: a usual one-row prediction allocates
// nothing once warm, logged or not, so a busy server does not set the
// collector off (its cycles were most of the one-row p99). make test also
// runs it built with cmd/modelfn/default.pgo, as modelfn is: inlining
// guided by the profile once moved a scanner to the heap, 48 bytes a
// request.
func TestFastHandlerLeavesNoGarbage(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are not meaningful under the race detector (sync.Pool drops items)")
	}
	for _, logged := range []bool{false, true} {
		serve, ctx := oneRowExchange(t, logged)
		if n := testing.AllocsPerRun(1000, func() { serveOnce(t, serve, ctx) }); n != 0 {
			t.Errorf("logged %v: a one-row prediction allocates %v times", logged, n)
		}
	}
}

// BenchmarkFastHandler is a one-row prediction through fastHandler, without
// the network: what the local server adds to the predict function's work.
func BenchmarkFastHandler(b *testing.B) {
	serve, ctx := oneRowExchange(b, false)
	b.ReportAllocs()
	for b.Loop() {
		serveOnce(b, serve, ctx)
	}
}
