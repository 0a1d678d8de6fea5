// Command closedloop is `make bench-compare`'s second load generator: the
// load wrk makes (a fixed number of connections, each sending its next
// request when the answer to the last has come, the bodies in turn), that
// reports the latency each request took and nothing else.
//
// wrk does not: before it reports, it corrects its latencies for
// coordinated omission, adding for every request that took longer than the
// mean time between a connection's requests the requests the connection
// would have sent meanwhile, at that interval, with the waits they would
// have had (wrk's stats_correct). A pause of the machine then counts
// once for each request the server would have answered during it, which
// is many more for a server that answers every 130 µs than for one that
// answers every 3 ms. Both readings go in the table.
//
//	closedloop -url http://127.0.0.1:8080/predict -c 16 -d 10s one.json hundred.json
//
// It prints one JSON object: requests, requests_per_sec, p50_ms, p99_ms,
// and p99_wrk_corrected_ms, the p99 of the same latencies after wrk's
// correction, to show how much of wrk's figure the correction is. Any
// answer but a 200, or a connection that fails, is an error.
package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"math"
	"net"
	"net/url"
	"os"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// Result is what a run measured; latencies in milliseconds.
type Result struct {
	Requests int     `json:"requests"`
	RPS      float64 `json:"requests_per_sec"`
	P50      float64 `json:"p50_ms"`
	P99      float64 `json:"p99_ms"`
	// The p99 after wrk's correction for coordinated omission (wrkCorrected).
	P99WrkCorrected float64 `json:"p99_wrk_corrected_ms"`
}

func main() {
	target := flag.String("url", "", "the endpoint to POST to (http://host:port/path)")
	conns := flag.Int("c", 16, "connections, each with one request at a time")
	d := flag.Duration("d", 10*time.Second, "how long to send requests")
	flag.Usage = func() {
		fmt.Fprintf(os.Stderr, "usage: closedloop -url URL [-c N] [-d DURATION] BODY.json...\n"+
			"POSTs the bodies in turn over N connections and prints each request's own latency percentiles.\n")
		flag.PrintDefaults()
	}
	flag.Parse()
	var bodies [][]byte
	for _, path := range flag.Args() {
		b, err := os.ReadFile(path)
		if err != nil {
			fail(err)
		}
		bodies = append(bodies, b)
	}
	if *target == "" || len(bodies) == 0 || *conns < 1 {
		flag.Usage()
		os.Exit(2)
	}
	r, err := Run(context.Background(), *target, *conns, *d, bodies)
	if err != nil {
		fail(err)
	}
	json.NewEncoder(os.Stdout).Encode(r)
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "closedloop:", err)
	os.Exit(1)
}

// Run sends the bodies in turn as JSON POSTs to target over conns
// connections for d, each connection waiting for an answer before its next
// request, and returns the requests' own latencies.
func Run(ctx context.Context, target string, conns int, d time.Duration, bodies [][]byte) (Result, error) {
	u, err := url.Parse(target)
	if err != nil || u.Scheme != "http" || u.Host == "" {
		return Result{}, fmt.Errorf("-url %q: want http://host:port/path", target)
	}
	requests := make([][]byte, len(bodies)) // formatted once, as post.lua does for wrk
	for i, b := range bodies {
		requests[i] = fmt.Appendf(nil, "POST %s HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s",
			u.RequestURI(), u.Host, len(b), b)
	}
	var dialer net.Dialer
	cs := make([]net.Conn, conns)
	for i := range cs {
		if cs[i], err = dialer.DialContext(ctx, "tcp", u.Host); err != nil {
			for _, c := range cs[:i] {
				c.Close()
			}
			return Result{}, err
		}
	}
	var (
		next     atomic.Uint64 // the body the next request sends
		wg       sync.WaitGroup
		lats     = make([][]time.Duration, conns)
		errs     = make([]error, conns)
		start    = time.Now()
		deadline = start.Add(d)
	)
	for i, c := range cs {
		wg.Go(func() {
			defer c.Close()
			c.SetDeadline(deadline.Add(30 * time.Second)) // a server that stops answering fails the run
			lats[i], errs[i] = exchange(c, deadline, func() []byte { return requests[(next.Add(1)-1)%uint64(len(requests))] })
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	if err := errors.Join(errs...); err != nil {
		return Result{}, err
	}
	// In whole µs and with wrk's percentile rule, as wrk keeps them, so
	// that the two readings differ only by the correction.
	var us []int64
	for _, conn := range lats {
		for _, l := range conn {
			us = append(us, l.Microseconds())
		}
	}
	if len(us) == 0 {
		return Result{}, errors.New("no request was answered")
	}
	corrected := wrkCorrected(us, elapsed, conns)
	return Result{Requests: len(us), RPS: float64(len(us)) / elapsed.Seconds(),
		P50: wrkPercentile(us, 50) / 1e3, P99: wrkPercentile(us, 99) / 1e3, P99WrkCorrected: wrkPercentile(corrected, 99) / 1e3}, nil
}

// wrkCorrected returns the latencies (µs) with the samples wrk 4.1's
// stats_correct adds: interval is the run's time over the requests a
// connection made, and each latency n of at least twice the interval adds
// n-interval, n-2·interval, … while above the interval.
func wrkCorrected(us []int64, elapsed time.Duration, conns int) []int64 {
	out := slices.Clone(us)
	perConn := int64(len(us) / conns)
	if perConn == 0 {
		return out
	}
	interval := elapsed.Microseconds() / perConn
	for _, n := range us {
		if n < 2*interval {
			continue
		}
		for m := n - interval; m > interval; m -= interval {
			out = append(out, m)
		}
	}
	return out
}

// wrkPercentile is wrk's stats_percentile over µs values (sorting them):
// the smallest value whose count reaches the rank p% of the total, rounded.
func wrkPercentile(us []int64, p float64) float64 {
	slices.Sort(us)
	rank := int(math.Round(p/100*float64(len(us)) + 0.5))
	return float64(us[min(max(rank, 1), len(us))-1])
}

// exchange sends requests on c one at a time until the deadline, each when
// the last is answered, and returns how long each took from its write to
// the end of its answer.
func exchange(c net.Conn, deadline time.Time, request func() []byte) ([]time.Duration, error) {
	r := bufio.NewReaderSize(c, 64<<10)
	lats := make([]time.Duration, 0, 1<<16)
	for n := 1; ; n++ {
		t := time.Now()
		if t.After(deadline) {
			return lats, nil
		}
		if _, err := c.Write(request()); err != nil {
			return lats, fmt.Errorf("request %d: %w", n, err)
		}
		if err := readAnswer(r); err != nil {
			return lats, fmt.Errorf("request %d: %w", n, err)
		}
		lats = append(lats, time.Since(t))
	}
}

// readAnswer reads one HTTP/1.1 response, which must be a 200 with a
// Content-Length (both servers measured send one), and discards its body.
func readAnswer(r *bufio.Reader) error {
	status, err := r.ReadSlice('\n')
	if err != nil {
		return err
	}
	if !bytes.HasPrefix(status, []byte("HTTP/1.1 200 ")) {
		return fmt.Errorf("answer %q, want HTTP/1.1 200", bytes.TrimSpace(status))
	}
	length := -1
	for {
		line, err := r.ReadSlice('\n')
		if err != nil {
			return err
		}
		line = bytes.TrimSpace(line)
		if len(line) == 0 {
			break
		}
		if name, value, ok := bytes.Cut(line, []byte(":")); ok && bytes.EqualFold(name, []byte("Content-Length")) {
			if length, err = strconv.Atoi(string(bytes.TrimSpace(value))); err != nil {
				return fmt.Errorf("Content-Length %q", value)
			}
		}
	}
	if length < 0 {
		return errors.New("answer without a Content-Length")
	}
	_, err = r.Discard(length)
	return err
}
