package local

import (
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
)

// TestTurnsOrder: the askers since the last handoff are one network poll's,
// which Go runs newest first, so they start in reverse of asking; and
// askers from an earlier handoff start before those of a later one.
func TestTurnsOrder(t *testing.T) {
	ts := newTurns(1)
	var order []string
	started := make(chan string)
	release := map[string]chan struct{}{}

	ts.wait() // the handler is busy
	askInOrder(t, ts, started, release, "a", "b")
	ts.done() // b, a queued; b starts
	order = append(order, <-started)
	askInOrder(t, ts, started, release, "c", "d")
	for range 3 {
		close(release[order[len(order)-1]])
		order = append(order, <-started)
	}
	close(release[order[len(order)-1]])
	if want := []string{"b", "a", "d", "c"}; !slices.Equal(order, want) {
		t.Fatalf("started %v, want %v", order, want)
	}
}

// askInOrder starts a goroutine per name that asks for a turn, each after
// the one before has asked; a goroutine reports its start on started and
// ends its turn when its release channel closes.
func askInOrder(t *testing.T, ts *turns, started chan<- string, release map[string]chan struct{}, names ...string) {
	t.Helper()
	for _, name := range names {
		free := make(chan struct{})
		release[name] = free
		ts.mu.Lock()
		before := len(ts.asked)
		ts.mu.Unlock()
		go func() {
			ts.wait()
			started <- name
			<-free
			ts.done()
		}()
		for asked := before; asked == before; runtime.Gosched() {
			ts.mu.Lock()
			asked = len(ts.asked)
			ts.mu.Unlock()
		}
	}
}

// TestTurnsBound: no more handlers run at once than turns allows, and
// every asker gets its turn.
func TestTurnsBound(t *testing.T) {
	const handlers, requests = 2, 200
	ts := newTurns(handlers)
	var running, most, served atomic.Int64
	var wg sync.WaitGroup
	for range requests {
		wg.Go(func() {
			ts.wait()
			defer ts.done()
			n := running.Add(1)
			for m := most.Load(); n > m && !most.CompareAndSwap(m, n); m = most.Load() {
			}
			runtime.Gosched()
			served.Add(1)
			running.Add(-1)
		})
	}
	wg.Wait()
	if most.Load() > handlers || served.Load() != requests {
		t.Fatalf("%d handlers at most, %d served; want at most %d, %d", most.Load(), served.Load(), handlers, requests)
	}
}
