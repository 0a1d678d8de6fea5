package main

import (
	"context"
	"errors"
	"path/filepath"
	"time"
)

// The I/O floor (-sections floor, not run by default): what a one-row
// request costs the cheapest server of each design on this machine, beside
// modelfn serve with the log off, under the http section's wrk load. The
// bare servers (testing/compare/floor) answer every request with a fixed
// body: one with a goroutine per connection, as modelfn's server is built,
// one on gnet's event loop. Their difference is what a different I/O
// model could take from a one-row request.

func (s *setup) floorSection(ctx context.Context) ([]Row, error) {
	if s.taskset == "" {
		return nil, errors.New("the CPU time per request needs two cores and taskset")
	}
	one := filepath.Join(s.tmp, "one.json")
	if err := s.writeBody(one, 1); err != nil {
		return nil, err
	}
	m := mix{"1 row/request", []string{one}, 1}

	var servers []*server // goroutines, gnet, modelfn serve
	for _, design := range []string{"goroutines", "gnet"} {
		sv, err := s.startFloorServer(ctx, design)
		if err != nil {
			return nil, err
		}
		defer sv.p.stop(10 * time.Second)
		servers = append(servers, sv)
	}
	mf, err := s.startModelfnWithLog(ctx, logOffSetting)
	if err != nil {
		return nil, err
	}
	defer mf.p.stop(30 * time.Second)
	servers = append(servers, mf)

	res, err := s.load(ctx, "floor", servers, []mix{m})
	if err != nil {
		return nil, err
	}
	bare, gnet, serve := res[servers[0]][0], res[servers[1]][0], res[mf][0]
	const what = "1 row/request, "
	return []Row{
		compare("floor", what+"a bare server with a goroutine per connection (modelfn's design): throughput", againstGnet,
			newFigure("req/s", bare.rps), newFigure("req/s", gnet.rps), true, 0, ""),
		compare("floor", what+"a bare server with a goroutine per connection (modelfn's design): user CPU per request", againstGnet,
			newFigure("µs", bare.user), newFigure("µs", gnet.user), false, 0, ""),
		compare("floor", what+"a bare server with a goroutine per connection (modelfn's design): kernel CPU per request", againstGnet,
			newFigure("µs", bare.kernel), newFigure("µs", gnet.kernel), false, 0, ""),
		compare("floor", what+"modelfn serve, prediction log off: user CPU per request", againstBare,
			newFigure("µs", serve.user), newFigure("µs", bare.user), false, 0, ""),
		compare("floor", what+"modelfn serve, prediction log off: kernel CPU per request", againstBare,
			newFigure("µs", serve.kernel), newFigure("µs", bare.kernel), false, 0, ""),
	}, nil
}

// startFloorServer starts a bare server of one design, as modelfn serve is
// started: one P, pinned to core 0.
func (s *setup) startFloorServer(ctx context.Context, design string) (*server, error) {
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	p, err := startProc("floor "+design, s.root, []string{"GOMAXPROCS=1"},
		s.pinned(0)(s.floorBin, "-design", design, "-addr", addr)...)
	if err != nil {
		return nil, err
	}
	sv := &server{name: "bare server, " + design, url: "http://" + addr + "/predict", p: p}
	return sv, s.waitServing(ctx, sv)
}
