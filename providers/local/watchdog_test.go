package local

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestHeadersEnd: the blank line that ends a request's headers is found
// however the reads cut the bytes, and only there.
func TestHeadersEnd(t *testing.T) {
	for _, tc := range []struct {
		reads []string
		ends  int // the read that holds the end, -1 for none
	}{
		{[]string{"POST / HTTP/1.1\r\nHost: x\r\n\r\n{}"}, 0},
		{[]string{"GET / HTTP/1.1\nHost: x\n\n"}, 0},
		{[]string{"POST / HTTP/1.1\r\n", "Host: x\r\n", "\r\n"}, 2},
		{[]string{"POST / HTTP/1.1\r\nHost: x\r\n", "\r", "\n"}, 2},
		{[]string{"POST / HTTP/1.1\r\nHost: x\r", "\n", "\r", "\n{}"}, 3},
		{[]string{"POST / HTTP/1.1\r\nHost: x\n", "\n"}, 1},
		{[]string{"POST / HTTP/1.1\r\nHost: x\r\n\r", "x\r\n"}, -1},
		{[]string{"POST / HTTP/1.1\r\nX-Slow: a\r\n", "a", "\r", "\n", "a"}, -1},
		{[]string{"POST / HTTP/1.1\r\nHost: x\r\n", "\r\r\n"}, -1},
		{[]string{"P", "O", "S", "T"}, -1},
	} {
		c := &watchedConn{}
		got := -1
		for i, r := range tc.reads {
			if c.headersEnd([]byte(r)) {
				got = i
				break
			}
		}
		if got != tc.ends {
			t.Errorf("%q: end found in read %d, want %d", tc.reads, got, tc.ends)
		}
	}
}

// TestWatchdog keeps a real server to short limits: slow headers and slow
// bodies are answered 408 once their own limit runs out (and not before),
// an idle connection is closed quietly, a handler slower than every limit
// still answers on a connection that stays usable, and a response the
// client does not read is cut off, also while the server shuts down.
func TestWatchdog(t *testing.T) {
	// The body limit is well above the others: a 408 for slow headers must
	// come before it, even on a loaded machine.
	l := limits{header: 400 * time.Millisecond, body: 3 * time.Second, write: 400 * time.Millisecond,
		idle: 400 * time.Millisecond, tick: 20 * time.Millisecond}
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/slow":
			time.Sleep(l.body + l.tick) // longer than every limit
		case "/big":
			w.Write(make([]byte, 64<<20))
			return
		}
		io.WriteString(w, "ok")
	})
	srv := newFastServer(h, 1<<20, slog.New(slog.NewTextHandler(io.Discard, nil)))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	w := watch(ln, l)
	go srv.Server.Serve(w) // with l, not serverLimits
	t.Cleanup(func() { srv.Shutdown() })
	addr := ln.Addr().String()
	// send opens a connection and writes head on it.
	send := func(t *testing.T, head string) net.Conn {
		conn, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { conn.Close() })
		conn.Write([]byte(head))
		return conn
	}

	// trickle sends head, then trickle one byte each tick, and returns the
	// first line of the answer and when it came.
	trickle := func(t *testing.T, head, trickle string) (string, time.Duration) {
		start := time.Now()
		conn := send(t, head)
		go func() {
			for i := 0; ; i++ {
				time.Sleep(l.tick)
				if _, err := conn.Write([]byte{trickle[i%len(trickle)]}); err != nil {
					return
				}
			}
		}()
		conn.SetReadDeadline(time.Now().Add(time.Minute))
		r := bufio.NewReader(conn)
		status, _ := r.ReadString('\n')
		took := time.Since(start)
		if strings.Contains(status, " 408 ") {
			for line, _ := r.ReadString('\n'); strings.TrimSpace(line) != ""; line, _ = r.ReadString('\n') {
			}
			var e struct{ Code string }
			if err := json.NewDecoder(r).Decode(&e); err != nil || e.Code != "timeout" {
				t.Errorf("408 without its JSON body (code %q): %v", e.Code, err)
			}
		}
		return strings.TrimSpace(status), took
	}

	t.Run("slow headers", func(t *testing.T) {
		status, took := trickle(t, "POST /predict HTTP/1.1\r\nHost: x\r\n", "X-Slow: aaaa\r\n")
		if !strings.Contains(status, " 408 ") || took < l.header || took > l.body {
			t.Fatalf("answered %q after %v; want 408 after the %v header limit", status, took, l.header)
		}
	})
	t.Run("slow body", func(t *testing.T) {
		status, took := trickle(t, "POST /predict HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n", " ")
		if !strings.Contains(status, " 408 ") || took < l.body {
			t.Fatalf("answered %q after %v; want 408 after the %v body limit", status, took, l.body)
		}
	})
	t.Run("idle connection", func(t *testing.T) {
		conn := send(t, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
		r := bufio.NewReader(conn)
		resp, err := http.ReadResponse(r, nil)
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("%v %v", resp, err)
		}
		io.Copy(io.Discard, resp.Body)
		start := time.Now()
		conn.SetReadDeadline(time.Now().Add(time.Minute))
		if n, err := r.Read(make([]byte, 1)); n != 0 || err != io.EOF || time.Since(start) < l.idle {
			t.Fatalf("idle connection: read %d bytes, %v after %v; want EOF after the %v idle limit", n, err, time.Since(start), l.idle)
		}
	})
	t.Run("a slow handler still answers", func(t *testing.T) {
		tr := &http.Transport{}
		defer tr.CloseIdleConnections()
		c := &http.Client{Transport: tr}
		for _, path := range []string{"/slow", "/"} { // the second reuses the connection
			resp, err := c.Get("http://" + addr + path)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 || string(b) != "ok" {
				t.Fatalf("%s: %d %q", path, resp.StatusCode, b)
			}
		}
	})
	t.Run("an unread response is cut off", func(t *testing.T) {
		send(t, "GET /big HTTP/1.1\r\nHost: x\r\n\r\n")
		for deadline := time.Now().Add(time.Minute); watched(w) > 0; time.Sleep(l.tick) {
			if time.Now().After(deadline) {
				t.Fatal("the server still holds the connection of a client that reads nothing")
			}
		}
	})
	t.Run("a graceful shutdown does not wait on a slow client", func(t *testing.T) {
		conn := send(t, "POST /predict HTTP/1.1\r\nHost: x\r\n")
		go func() {
			for conn.SetWriteDeadline(time.Now().Add(time.Minute)); ; time.Sleep(l.tick) {
				if _, err := conn.Write([]byte("X: y\r\n")); err != nil {
					return
				}
			}
		}()
		time.Sleep(l.tick) // the server has the connection
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		if err := srv.ShutdownWithContext(ctx); err != nil {
			t.Fatalf("shutdown: %v (the slow client held it)", err)
		}
	})
}

func watched(w *watchdog) int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.conns)
}
