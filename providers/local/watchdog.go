package local

import (
	"bytes"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// The local server's time limits are kept by a watchdog rather than by
// fasthttp's deadlines. fasthttp moves a connection's poller deadlines
// four times a request (idle, first byte, headers read, response), each a
// clock read and a runtime timer change: 0.7 µs of a one-row request's
// 4.5 µs of user CPU (perf). Here each connection says what it waits for
// and until when, in ticks of a coarse clock, with one atomic store; a
// goroutine looks every tick and cuts off a connection that ran over by
// setting its deadline to the past, so fasthttp sees the same timeout
// error a deadline would give it and answers as before (408 with a JSON
// body while a request is arriving, a quiet close when idle).

// limits of a connection's waits.
type limits struct {
	header time.Duration // from a request's first byte to the end of its headers
	body   time.Duration // from the end of the headers to the end of the body
	write  time.Duration // writing a response
	idle   time.Duration // between requests on a kept-alive connection
	tick   time.Duration // how often the watchdog looks; limits hold within one tick
}

var serverLimits = limits{header: headerTimeout, body: bodyTimeout, write: writeTimeout, idle: idleTimeout, tick: 250 * time.Millisecond}

// watchdog keeps limits on the connections its listener accepts.
type watchdog struct {
	net.Listener
	limits
	now   atomic.Int64 // ticks since start; starts at 1 so no due time is 0
	mu    sync.Mutex
	conns map[*watchedConn]struct{}
	stop  chan struct{}
	once  sync.Once
}

// watch returns ln with its connections kept to l, until it is closed and
// the connections it accepted are too.
func watch(ln net.Listener, l limits) *watchdog {
	w := &watchdog{Listener: ln, limits: l, conns: map[*watchedConn]struct{}{}, stop: make(chan struct{})}
	w.now.Store(1)
	go w.run()
	return w
}

func (w *watchdog) Accept() (net.Conn, error) {
	c, err := w.Listener.Accept()
	if err != nil {
		return nil, err
	}
	wc := &watchedConn{Conn: c, w: w, remote: addrString(c.RemoteAddr())}
	wc.arm(w.header, reading) // the first request's headers, from the connection's start
	w.mu.Lock()
	w.conns[wc] = struct{}{}
	w.mu.Unlock()
	return wc, nil
}

func (w *watchdog) Close() error {
	w.once.Do(func() { close(w.stop) })
	return w.Listener.Close()
}

// run looks at the connections every tick until the listener is closed
// and the connections it left are too (a graceful shutdown waits for
// them, so a slow client must still be cut off then).
func (w *watchdog) run() {
	t := time.NewTicker(w.tick)
	defer t.Stop()
	stop := w.stop
	for {
		select {
		case <-stop:
			stop = nil
			continue
		case <-t.C:
		}
		now := w.now.Add(1)
		w.mu.Lock()
		for c := range w.conns {
			if due := c.due.Load(); due != 0 && due>>1 <= now && c.due.CompareAndSwap(due, 0) {
				c.cutOff(due&1 == writing)
			}
		}
		left := len(w.conns)
		w.mu.Unlock()
		if stop == nil && left == 0 {
			return
		}
	}
}

// What a connection waits for, in the low bit of its due time.
const (
	reading = 0
	writing = 1
)

// phase of a connection, kept by the goroutine serving it.
type phase uint8

const (
	waitHeaders phase = iota // waiting for a request's headers
	waitBody                 // the headers are in; waiting for the body
	answered                 // the request is read and handed over; the next read waits for a new one
	idle                     // waiting for a new request's first byte
)

// watchedConn is a connection that tells its watchdog what it waits for.
type watchedConn struct {
	net.Conn
	w     *watchdog
	due   atomic.Int64 // tick<<1 | reading or writing; 0 while the handler runs
	phase phase
	eol   int8 // how much of a header-ending "\n\r\n" or "\n\n" the last read ended with
	once  sync.Once
	// linger: the connection was refused an unreadable request; see
	// lingeringClose.
	linger bool
	// Not the watchdog's: what every request on the connection gives as
	// its RemoteAddr, made once (see exchange.load).
	remote string
}

func (c *watchedConn) arm(d time.Duration, what int64) {
	c.due.Store((c.w.now.Load()+int64(d/c.w.tick)+1)<<1 | what)
}

// handling marks the request read whole: nothing is waited for while the
// handler computes, and the next read waits for a new request.
func (c *watchedConn) handling() {
	c.phase = answered
	c.due.Store(0)
}

func (c *watchedConn) Read(p []byte) (int, error) {
	if c.phase == answered {
		c.phase = idle
		c.arm(c.w.idle, reading)
	}
	n, err := c.Conn.Read(p)
	if n > 0 && c.phase == idle {
		c.phase, c.eol = waitHeaders, 0
		c.arm(c.w.header, reading)
	}
	if n > 0 && c.phase == waitHeaders && c.headersEnd(p[:n]) {
		c.phase = waitBody
		c.arm(c.w.body, reading)
	}
	return n, err
}

func (c *watchedConn) Write(p []byte) (int, error) {
	c.arm(c.w.write, writing)
	n, err := c.Conn.Write(p)
	switch c.phase { // a write before the handler ran: "100 Continue", or an error before closing
	case waitHeaders:
		c.arm(c.w.header, reading)
	case waitBody:
		c.arm(c.w.body, reading)
	default:
		c.due.Store(0)
	}
	return n, err
}

func (c *watchedConn) Close() error {
	first := false
	c.once.Do(func() {
		first = true
		c.w.mu.Lock()
		delete(c.w.conns, c)
		c.w.mu.Unlock()
	})
	if first && c.linger {
		go lingeringClose(c.Conn)
		return nil
	}
	return c.Conn.Close()
}

// How long, and for how many bytes, a refused client is read from after
// its answer (net/http waits the same 500 ms).
const (
	lingerTime  = 500 * time.Millisecond
	lingerBytes = 1 << 20
)

// lingeringClose closes c so that its peer reads the answer written last.
// A socket closed with bytes unread is reset, and a client still sending
// the request it was refused (headers over the limit, say) then gets a
// write error in place of the answer. So the answer ends with a FIN, and
// what the client still sends is read and dropped until it closes too,
// for up to lingerTime or lingerBytes.
func lingeringClose(c net.Conn) {
	defer c.Close()
	if cw, ok := c.(interface{ CloseWrite() error }); !ok || cw.CloseWrite() != nil {
		return
	}
	c.SetReadDeadline(time.Now().Add(lingerTime))
	io.CopyN(io.Discard, c, lingerBytes)
}

// cutOff ends the wait the connection is in: the blocked read or write
// returns a timeout error.
func (c *watchedConn) cutOff(write bool) {
	past := time.Unix(1, 0)
	if write {
		c.Conn.SetWriteDeadline(past)
	} else {
		c.Conn.SetReadDeadline(past)
	}
}

// headersEnd reports whether b, the next bytes of a request's headers,
// holds the blank line that ends them ("\r\n\r\n", or "\n\n" as fasthttp
// also takes). A blank line split across reads is found too. A request
// pipelined behind another may have its end missed; it then gets the
// header limit for its body, which only cuts it off sooner.
func (c *watchedConn) headersEnd(b []byte) bool {
	// Finish a line end the last read stopped inside: eol is 1 after "\n",
	// 2 after "\n\r".
	for i := 0; c.eol > 0 && i < len(b); i++ {
		switch {
		case b[i] == '\n':
			return true
		case b[i] == '\r' && c.eol == 1:
			c.eol = 2
		default:
			c.eol = 0
		}
	}
	if c.eol > 0 {
		return false // b was all "\r" of a line end still open
	}
	for i := bytes.IndexByte(b, '\n'); i >= 0; {
		rest := b[i+1:]
		switch {
		case len(rest) == 0:
			c.eol = 1
			return false
		case rest[0] == '\n', len(rest) > 1 && rest[0] == '\r' && rest[1] == '\n':
			return true
		case len(rest) == 1 && rest[0] == '\r':
			c.eol = 2
			return false
		}
		j := bytes.IndexByte(rest, '\n')
		if j < 0 {
			break
		}
		i += 1 + j
	}
	c.eol = 0
	return false
}
