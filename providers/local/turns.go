package local

import (
	"runtime"
	"slices"
	"sync"

	"github.com/valyala/fasthttp"
)

// inTurns serves h's requests in turns, one per P.
func inTurns(h fasthttp.RequestHandler) fasthttp.RequestHandler {
	ts := newTurns(runtime.GOMAXPROCS(0))
	return func(ctx *fasthttp.RequestCtx) {
		ts.wait()
		defer ts.done()
		h(ctx)
	}
}

// turns lets requests into the handler in the order they arrived, as many
// at a time as the process has Ps (GOMAXPROCS); the handlers it guards
// only compute, so more at once would only share the same cores.
//
// Without it, requests run in the order Go's scheduler runs their
// goroutines, and it runs those one network poll wakes newest first (the
// poller pushes each onto the front of a list). Under load each poll wakes
// a round of them, so the first to arrive could wait for the rest of this
// round and then all of the next: on one core with 16 connections, a
// 100-row request's p99 was 2.2 times its p50 and a one-row request's 4 to
// 7 times. Served oldest first, as a Go runtime patched to keep the poll's
// order served them, the p99s fell by about a third (by hand, alternating
// binaries), for one more goroutine switch per request (0-4% of one-row
// throughput).
//
// So a request asks for its turn once it is read. The first to ask while
// a handler is free yields until the goroutines woken with it have asked
// too; the askers since the last handoff are one poll's, newest first, and
// are queued in reverse.
type turns struct {
	mu          sync.Mutex
	free        int     // handlers that may start now
	asked       []*turn // since the last handoff, in the order they asked
	queue       []*turn // waiting for a handler, oldest first
	dispatching bool    // a first asker is letting the others ask
	pool        sync.Pool
}

type turn struct{ start chan struct{} }

// maxYields bounds how long a first asker waits for the others (with
// several Ps, askers can keep coming).
const maxYields = 8

func newTurns(handlers int) *turns {
	return &turns{free: handlers, pool: sync.Pool{New: func() any { return &turn{start: make(chan struct{}, 1)} }}}
}

// wait returns at the caller's turn; done must follow.
func (ts *turns) wait() {
	t := ts.pool.Get().(*turn)
	ts.mu.Lock()
	ts.asked = append(ts.asked, t)
	if ts.free > 0 && !ts.dispatching { // so the queue is empty and t asked alone: hand ran since
		ts.dispatching = true
		for i, n := 0, 0; i < maxYields && n != len(ts.asked); i++ {
			n = len(ts.asked)
			ts.mu.Unlock()
			runtime.Gosched() // the goroutines woken with this one run, and ask
			ts.mu.Lock()
		}
		ts.dispatching = false
		ts.hand()
	}
	ts.mu.Unlock()
	<-t.start
	ts.pool.Put(t)
}

// done ends a turn and starts the next.
func (ts *turns) done() {
	ts.mu.Lock()
	ts.free++
	if !ts.dispatching {
		ts.hand()
	}
	ts.mu.Unlock()
}

// hand queues the askers, oldest first, and starts as many as may start.
func (ts *turns) hand() {
	slices.Reverse(ts.asked)
	ts.queue = append(ts.queue, ts.asked...)
	clear(ts.asked)
	ts.asked = ts.asked[:0]
	for ts.free > 0 && len(ts.queue) > 0 {
		ts.queue[0].start <- struct{}{} // buffered: never blocks
		ts.queue[0] = nil
		ts.queue = ts.queue[1:]
		ts.free--
	}
}
