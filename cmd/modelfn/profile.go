package main

import (
	"fmt"
	"os"
	"runtime/pprof"
)

// cpuProfile is --cpu-profile: a CPU profile of the whole command, for a
// performance report (go tool pprof reads it) or for go build's
// profile-guided optimization (make pgo merges such profiles of modelfn
// under load into default.pgo, which go build uses by itself).
type cpuProfile struct {
	path string
	f    *os.File
}

func (p *cpuProfile) start() error {
	if p.path == "" {
		return nil
	}
	f, err := os.Create(p.path)
	if err != nil {
		return fmt.Errorf("--cpu-profile: %w", err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return fmt.Errorf("--cpu-profile %s: %w", p.path, err)
	}
	p.f = f
	return nil
}

// stop ends the profile and writes it out; it is called once the command
// has returned, whether or not it failed.
func (p *cpuProfile) stop() error {
	if p.f == nil {
		return nil
	}
	pprof.StopCPUProfile()
	err := p.f.Close()
	p.f = nil
	if err != nil {
		return fmt.Errorf("--cpu-profile %s: %w", p.path, err)
	}
	return nil
}
