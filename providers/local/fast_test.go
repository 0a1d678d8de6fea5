package local

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"

	"github.com/valyala/fasthttp"

	"github.com/modelfn/modelfn/functions/predict"
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

// BenchmarkFastHandler is a one-row prediction through fastHandler, without
// the network: what the local server adds to the predict function's work.
func BenchmarkFastHandler(b *testing.B) {
	m, s := example.Model(b)
	h := predict.New(m, s, predict.Options{Name: "example", Version: "1", MaxRows: 100, MaxBodyBytes: 1 << 20})
	rows, _ := example.Holdout(b)
	body, _ := json.Marshal(map[string]any{"instances": rows[:1]})
	serve := fastHandler(h, slog.Default())
	var req fasthttp.Request
	req.Header.SetMethod("POST")
	req.SetRequestURI("/predict")
	req.Header.SetHost("localhost")
	req.Header.SetContentType("application/json")
	req.SetBody(body)
	var ctx fasthttp.RequestCtx
	ctx.Init(&req, &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 1234}, nil)
	b.ReportAllocs()
	for b.Loop() {
		ctx.Response.Reset()
		serve(&ctx)
		if ctx.Response.StatusCode() != 200 || !bytes.Contains(ctx.Response.Body(), []byte(`"predictions"`)) {
			b.Fatalf("%d %s", ctx.Response.StatusCode(), ctx.Response.Body())
		}
	}
}
