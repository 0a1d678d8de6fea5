package local

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"runtime/debug"
	"sync"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/modelfn/modelfn/functions/predict"
	"github.com/modelfn/modelfn/runtime"
)

// The local server speaks HTTP through fasthttp, not net/http: on one core,
// net/http's own work per request was most of a one-row prediction's time,
// and fasthttp answers about 1.5 times as many (make bench-compare: 14.8×
// FastAPI before, 21.9–22.4× after).
// The functions stay http.Handlers, as the clouds adapt them; fastHandler
// hands each request to one through values reused from request to request
// (fasthttpadaptor builds new ones each time, which served ~25% fewer requests/s).

// Limits of the local server.
const (
	headerTimeout  = 10 * time.Second // slow clients cannot hold connections
	bodyTimeout    = 60 * time.Second // from the end of the headers
	writeTimeout   = 60 * time.Second
	idleTimeout    = 2 * time.Minute
	maxHeaderBytes = 16 << 10 // the request line and headers
)

// fastServer is fasthttp's server with the time limits kept by a watchdog
// (fasthttp is given none; see watchdog.go), on sockets read and written
// without the file layer (see sockconn_linux.go).
type fastServer struct{ *fasthttp.Server }

func (s fastServer) Serve(ln net.Listener) error {
	return s.Server.Serve(watch(sockets(ln), serverLimits))
}

func newFastServer(h http.Handler, maxBody int64, log *slog.Logger) fastServer {
	serve := inTurns(fastHandler(h, log))
	return fastServer{&fasthttp.Server{
		Handler: func(ctx *fasthttp.RequestCtx) {
			if c, ok := ctx.Conn().(*watchedConn); ok {
				c.handling()
			}
			serve(ctx)
		},
		ErrorHandler:          fastError(maxBody),
		LazyRequestTime:       true, // nothing asks for ctx.Time: one clock read less per request
		ReadBufferSize:        maxHeaderBytes,
		MaxRequestBodySize:    int(maxBody),
		NoDefaultServerHeader: true,
		NoDefaultContentType:  true,
		Logger:                slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}}
}

// fastError answers a request fasthttp could not read, with the JSON error
// body every other refusal has.
func fastError(maxBody int64) func(*fasthttp.RequestCtx, error) {
	return func(ctx *fasthttp.RequestCtx, err error) {
		var (
			status = http.StatusBadRequest
			e      = &runtime.InputError{Row: -1, Code: runtime.CodeMalformed, Msg: "unreadable HTTP request: " + err.Error()}
			small  *fasthttp.ErrSmallBuffer
			ne     net.Error
		)
		switch {
		case errors.Is(err, fasthttp.ErrBodyTooLarge):
			status, e = http.StatusRequestEntityTooLarge, predict.TooLarge(maxBody)
		case errors.As(err, &small):
			status, e = http.StatusRequestHeaderFieldsTooLarge, &runtime.InputError{Row: -1, Code: "header_too_large",
				Msg: fmt.Sprintf("request line and headers over the %d-byte limit", maxHeaderBytes)}
		case errors.As(err, &ne) && ne.Timeout():
			status, e = http.StatusRequestTimeout, &runtime.InputError{Row: -1, Code: "timeout",
				Msg: fmt.Sprintf("the request did not arrive in time (headers %v, then the body %v)", headerTimeout, bodyTimeout)}
		}
		predict.WriteError(&fastWriter{ctx: ctx, header: http.Header{}}, status, e)
		if c, ok := ctx.Conn().(*watchedConn); ok {
			c.linger = true // the client may still be sending: let it read this
		}
	}
}

// fastHandler serves h on fasthttp. The http.Request h gets is reused once
// h returns, so h must not keep it; its context is never canceled (fasthttp
// reads the whole request first, and shutdown waits for the handler).
func fastHandler(h http.Handler, log *slog.Logger) fasthttp.RequestHandler {
	pool := sync.Pool{New: func() any {
		x := &exchange{}
		x.req.Header = http.Header{}
		x.w.header = http.Header{}
		return x
	}}
	return func(ctx *fasthttp.RequestCtx) {
		x := pool.Get().(*exchange)
		defer pool.Put(x)
		x.load(ctx)
		defer func() {
			if p := recover(); p != nil { // net/http would survive it too
				log.Error("http handler panic", "panic", p, "stack", string(debug.Stack()))
				ctx.Response.Reset()
				x.w.reset(ctx)
				predict.WriteError(&x.w, http.StatusInternalServerError, &runtime.InputError{Row: -1, Code: "internal", Msg: "internal error"})
			}
		}()
		h.ServeHTTP(&x.w, &x.req)
		x.w.WriteHeader(http.StatusOK) // a handler that wrote nothing answers 200, as in net/http
	}
}

// exchange is one request and its response writer, reused.
type exchange struct {
	req  http.Request
	url  url.URL
	body body
	w    fastWriter
	text []byte   // the request's strings, end to end
	all  string   // text as a string, kept for the next request
	ends []int    // where each ends in text
	vals []string // header values
}

// load fills x.req from ctx. Every string of the request is cut from one:
// the request before's when they are the same, as they are when a client
// posts to the same endpoint again, so that a usual request allocates
// nothing. (Its garbage was most of what set off the collector, whose
// cycles made most of the one-row p99.)
func (x *exchange) load(ctx *fasthttp.RequestCtx) {
	text, ends := x.text[:0], x.ends[:0]
	add := func(b []byte) {
		text = append(text, b...)
		ends = append(ends, len(text))
	}
	add(ctx.Path())
	add(ctx.URI().QueryString())
	add(ctx.RequestURI())
	add(ctx.Host())
	for k, v := range ctx.Request.Header.All() {
		add(k)
		add(v)
	}
	x.text, x.ends = text, ends
	if string(text) != x.all { // compared without a copy
		x.all = string(text)
	}

	all, start := x.all, 0
	next := func() string {
		s := all[start:ends[0]]
		start, ends = ends[0], ends[1:]
		return s
	}
	x.url = url.URL{Path: next(), RawQuery: next()}
	uri, host := next(), next()
	hdr, vals := x.req.Header, x.vals[:0]
	clear(hdr)
	for len(ends) > 0 {
		k, v := next(), next()
		if old, ok := hdr[k]; ok {
			hdr[k] = append(old, v)
			continue
		}
		vals = append(vals, v)
		hdr[k] = vals[len(vals)-1 : len(vals) : len(vals)] // a second value goes to a new slice
	}
	x.vals = vals
	delete(hdr, "Host") // net/http keeps it in Request.Host only
	b := ctx.PostBody()
	x.body.Reset(b)
	x.req = http.Request{
		Method: method(ctx.Method()), URL: &x.url, RequestURI: uri,
		Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1, Header: hdr,
		Body: &x.body, ContentLength: int64(len(b)), Host: host, RemoteAddr: remoteAddr(ctx),
	}
	x.w.reset(ctx)
}

// remoteAddr is Request.RemoteAddr, made once a connection.
func remoteAddr(ctx *fasthttp.RequestCtx) string {
	if c, ok := ctx.Conn().(*watchedConn); ok {
		return c.remote
	}
	return addrString(ctx.RemoteAddr())
}

// addrString writes a as net/http does, an IPv4 address without its IPv6
// mapping.
func addrString(a net.Addr) string {
	if t, ok := a.(*net.TCPAddr); ok {
		ap := t.AddrPort()
		return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port()).String()
	}
	return a.String()
}

// method names the usual methods without allocating (a longer shared string
// would move to a bigger size class).
func method(m []byte) string {
	switch string(m) {
	case http.MethodGet:
		return http.MethodGet
	case http.MethodPost:
		return http.MethodPost
	case http.MethodHead:
		return http.MethodHead
	}
	return string(m)
}

// body is a request body already read whole.
type body struct{ bytes.Reader }

func (*body) Close() error { return nil }

// fastWriter is an http.ResponseWriter onto fasthttp's response.
type fastWriter struct {
	ctx    *fasthttp.RequestCtx
	header http.Header
	wrote  bool
}

// reset readies w for a new answer on ctx.
func (w *fastWriter) reset(ctx *fasthttp.RequestCtx) {
	w.ctx, w.wrote = ctx, false
	clear(w.header)
}

func (w *fastWriter) Header() http.Header { return w.header }

func (w *fastWriter) WriteHeader(status int) {
	if w.wrote {
		return
	}
	w.wrote = true
	for k, vs := range w.header {
		if k == "Content-Length" {
			continue // fasthttp counts the body it sends
		}
		for _, v := range vs {
			w.ctx.Response.Header.Add(k, v)
		}
	}
	w.ctx.SetStatusCode(status)
}

// WriteJSON is predict.JSONWriter: the status, headers set so far (as
// Allow), the JSON type and body, with fasthttp counting the length.
func (w *fastWriter) WriteJSON(status int, body []byte) {
	w.WriteHeader(status)
	w.ctx.Response.Header.SetContentTypeBytes(jsonType)
	w.ctx.Write(body)
}

var jsonType = []byte("application/json")

func (w *fastWriter) Write(b []byte) (int, error) {
	w.WriteHeader(http.StatusOK)
	return w.ctx.Write(b)
}
