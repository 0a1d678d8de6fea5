package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/modelfn/modelfn/testing/tools"
)

// Machine describes where the figures were measured. Only the ratios
// carry over to another machine.
type Machine struct {
	CPU      string            `json:"cpu"`
	Cores    int               `json:"cores"`
	MemoryGB float64           `json:"memory_gb"`
	OS       string            `json:"os"`
	Kernel   string            `json:"kernel"`
	Go       string            `json:"go"`
	Python   string            `json:"python"`
	Versions map[string]string `json:"versions"` // the alternatives' libraries and the load generator
}

func describeMachine(ctx context.Context, python string) Machine {
	m := Machine{Cores: runtime.NumCPU(), Go: runtime.Version(), Versions: map[string]string{}}
	m.CPU = firstValue("/proc/cpuinfo", "model name", ":")
	if kb, err := strconv.ParseFloat(strings.Fields(firstValue("/proc/meminfo", "MemTotal", ":") + " 0")[0], 64); err == nil {
		m.MemoryGB = kb / (1 << 20)
	}
	m.OS = strings.Trim(firstValue("/etc/os-release", "PRETTY_NAME", "="), `"`)
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m.Kernel = strings.TrimSpace(string(b))
	}
	out, err := exec.CommandContext(ctx, python, "-c", `import json, sys, numpy, pandas, xgboost, scipy, fastapi, uvicorn, pydantic
mods = {}
for name in ("uvloop", "httptools"):
    try:
        mods[name] = __import__(name).__version__
    except ImportError:
        mods[name] = "not installed"
print(json.dumps(dict(python=sys.version.split()[0], numpy=numpy.__version__, pandas=pandas.__version__,
    xgboost=xgboost.__version__, scipy=scipy.__version__, fastapi=fastapi.__version__,
    uvicorn=uvicorn.__version__, pydantic=pydantic.VERSION, **mods)))`).Output()
	if err == nil {
		var v map[string]string
		if json.Unmarshal(out, &v) == nil {
			m.Python = v["python"]
			delete(v, "python")
			for k, s := range v {
				m.Versions[k] = s
			}
		}
	}
	if out, err := exec.CommandContext(ctx, "wrk", "-v").CombinedOutput(); len(out) > 0 {
		_ = err // wrk -v exits 1 after printing its version
		v, _, _ := strings.Cut(strings.SplitN(string(out), "\n", 2)[0], " Copyright")
		m.Versions["wrk"] = strings.TrimSpace(v)
	}
	if b, err := os.ReadFile(filepath.Join(tools.Root(), ".tools", "node_modules", "onnxruntime-node", "package.json")); err == nil {
		var pkg struct{ Version string }
		if json.Unmarshal(b, &pkg) == nil {
			m.Versions["onnxruntime-node"] = pkg.Version
		}
	}
	return m
}

// firstValue is the value of the first "key<sep>value" line of a file.
func firstValue(path, key, sep string) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		k, v, ok := strings.Cut(s.Text(), sep)
		if ok && strings.TrimSpace(k) == key {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// loadAverage is the 1-minute load average.
func loadAverage() float64 {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return -1
	}
	v, _ := strconv.ParseFloat(strings.Fields(string(b))[0], 64)
	return v
}

// waitForQuiet polls the 1-minute load average every minute until it is
// below limit, for at most maxWait. It reports whether the machine got
// quiet; the run goes on either way and says so.
func waitForQuiet(ctx context.Context, limit float64, maxWait time.Duration, log *slog.Logger) (bool, error) {
	deadline := time.Now().Add(maxWait)
	for {
		l := loadAverage()
		if l < limit {
			return true, nil
		}
		if time.Now().After(deadline) {
			log.Warn("load average still high; measuring anyway", "load1", l, "limit", limit, "waited", maxWait)
			return false, nil
		}
		log.Info("waiting for a quieter machine", "load1", l, "limit", limit, "until", deadline.Format(time.TimeOnly))
		select {
		case <-ctx.Done():
			return false, fmt.Errorf("waiting for load below %.2f: %w", limit, ctx.Err())
		case <-time.After(time.Minute):
		}
	}
}
