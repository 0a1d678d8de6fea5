package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
)

// Profile-guided optimization: go build optimizes cmd/modelfn with
// build.PGOFile, and providers/build the cloud binaries with the same
// file. `make pgo` makes it with -pgo: the sections run as they are
// measured, with every modelfn process (modelfn serve, batchscore)
// writing a CPU profile, and the profiles are merged into one.

// profileArgs are the flags that make a modelfn process write a CPU
// profile when -pgo is on, each into a file of its own; flag is the
// program's spelling of it.
func (s *setup) profileArgs(flag string) []string {
	if s.profiles == "" {
		return nil
	}
	s.profileCount++
	return []string{flag, filepath.Join(s.profiles, strconv.Itoa(s.profileCount)+".pprof")}
}

// mergeProfiles writes the profiles the run collected into dst, as one.
// The processes have all ended by now: each wrote its profile on the way out.
func (s *setup) mergeProfiles(ctx context.Context, dst string) error {
	files, err := filepath.Glob(filepath.Join(s.profiles, "*.pprof"))
	if err != nil {
		return err
	}
	if len(files) < s.profileCount {
		return fmt.Errorf("-pgo: %d of %d modelfn processes wrote their profile", len(files), s.profileCount)
	}
	out, err := os.Create(dst)
	if err != nil {
		return err
	}
	cmd := exec.CommandContext(ctx, s.goBin, append([]string{"tool", "pprof", "-proto"}, files...)...)
	var stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = out, &stderr
	if err := cmd.Run(); err != nil {
		out.Close()
		return fmt.Errorf("go tool pprof -proto: %w\n%s", err, stderr.Bytes())
	}
	return out.Close()
}
