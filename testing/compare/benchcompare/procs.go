package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// proc is a program the driver started, with the tail of its output kept
// for error messages.
type proc struct {
	name    string
	cmd     *exec.Cmd
	out     *tail
	started time.Time
	done    chan struct{}
}

// startProc starts argv with env added to a minimal environment. It
// records the time just before exec, the start of a cold start.
func startProc(name, dir string, env []string, argv ...string) (*proc, error) {
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Dir = dir
	cmd.Env = append(baseEnv(), env...)
	p := &proc{name: name, cmd: cmd, out: &tail{}, done: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = p.out, p.out
	p.started = time.Now()
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	go func() { cmd.Wait(); close(p.done) }()
	return p, nil
}

func baseEnv() []string {
	var env []string
	for _, k := range []string{"PATH", "HOME", "TMPDIR", "LANG"} {
		if v, ok := os.LookupEnv(k); ok {
			env = append(env, k+"="+v)
		}
	}
	return env
}

func (p *proc) pid() int { return p.cmd.Process.Pid }

func (p *proc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// kill ends the process (SIGKILL, by its pid) and waits for it.
func (p *proc) kill() {
	if !p.exited() {
		p.cmd.Process.Kill()
	}
	<-p.done
}

// stop asks the process to finish (SIGTERM) and kills it after grace.
func (p *proc) stop(grace time.Duration) {
	if !p.exited() {
		p.cmd.Process.Signal(syscall.SIGTERM)
	}
	select {
	case <-p.done:
	case <-time.After(grace):
		p.kill()
	}
}

func (p *proc) failure(err error) error {
	return fmt.Errorf("%s: %w\n%s", p.name, err, p.out.String())
}

// peakRSS is a live process's peak resident set, in MB: VmHWM from
// /proc/PID/status.
func peakRSS(pid int) (float64, error) {
	v := firstValue(filepath.Join("/proc", strconv.Itoa(pid), "status"), "VmHWM", ":")
	kb, err := strconv.ParseFloat(strings.TrimSuffix(v, " kB"), 64)
	if err != nil {
		return 0, fmt.Errorf("VmHWM of pid %d: %q: %w", pid, v, err)
	}
	return kb / 1024, nil
}

// childOf finds a process whose parent is pid (the bootstrap under the
// Lambda emulator), by scanning /proc.
func childOf(pid int) (int, error) {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return 0, err
	}
	for _, e := range entries {
		c, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		// pid (comm) state ppid ...: comm may hold spaces, so split after ')'.
		i := bytes.LastIndexByte(b, ')')
		if i < 0 {
			continue
		}
		f := strings.Fields(string(b[i+1:]))
		if len(f) > 1 && f[1] == strconv.Itoa(pid) {
			return c, nil
		}
	}
	return 0, fmt.Errorf("no child of pid %d", pid)
}

// freeAddr is a loopback address nothing listens on.
func freeAddr() (string, error) {
	a, err := freeAddrs(1)
	if err != nil {
		return "", err
	}
	return a[0], nil
}

// freeAddrs is n different loopback addresses nothing listens on: all
// are held until all are chosen, as the kernel may hand a port it just
// took back to the next caller.
func freeAddrs(n int) ([]string, error) {
	addrs := make([]string, n)
	for i := range addrs {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		defer l.Close()
		addrs[i] = l.Addr().String()
	}
	return addrs, nil
}

// poll calls try every interval until it reports done, fails, the process
// exits or ctx ends.
func poll(ctx context.Context, p *proc, interval time.Duration, try func() (bool, error)) error {
	for {
		done, err := try()
		if err != nil {
			return p.failure(err)
		}
		if done {
			return nil
		}
		if p.exited() {
			return p.failure(errors.New("exited before answering"))
		}
		select {
		case <-ctx.Done():
			return p.failure(ctx.Err())
		case <-time.After(interval):
		}
	}
}

// tail keeps the last 8 KB written to it.
type tail struct {
	mu  sync.Mutex
	buf []byte
}

func (t *tail) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, p...)
	if len(t.buf) > 8<<10 {
		t.buf = append(t.buf[:0], t.buf[len(t.buf)-8<<10:]...)
	}
	return len(p), nil
}

func (t *tail) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(t.buf)
}
