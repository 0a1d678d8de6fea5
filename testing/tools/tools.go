// Package tools finds the external programs that tests drive (emulators,
// terraform, trivy, python, chromium, node). `make test` installs them at
// pinned versions and sets MODELFN_REQUIRE_TOOLS=1, so a missing tool fails
// there; a bare `go test` skips with the reason instead.
package tools

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"
)

// Root is the repository root, found from this file's location.
func Root() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Clean(filepath.Join(filepath.Dir(file), "..", ".."))
}

// Path looks a program up in the repository's .bin and .tools folders first,
// then on PATH. It returns "" when the program is not installed.
func Path(name string) string {
	root := Root()
	for _, dir := range []string{filepath.Join(root, ".bin"), filepath.Join(root, ".tools", "node_modules", ".bin")} {
		p := filepath.Join(dir, name)
		if st, err := os.Stat(p); err == nil && !st.IsDir() {
			return p
		}
	}
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	return ""
}

// Need returns the path of a program a test cannot run without. The hint says
// which make target installs it.
func Need(t testing.TB, name, hint string) string {
	t.Helper()
	if p := Path(name); p != "" {
		return p
	}
	Missing(t, name+" is not installed ("+hint+")")
	return ""
}

// Missing fails the test under `make test` and skips it elsewhere.
func Missing(t testing.TB, reason string) {
	t.Helper()
	if os.Getenv("MODELFN_REQUIRE_TOOLS") == "1" {
		t.Fatal(reason)
	}
	t.Skip(reason)
}

// Python is Debian's interpreter, which carries xgboost, scikit-learn, scipy
// and onnx from apt (a pyenv python on PATH would not).
func Python(t testing.TB) string {
	t.Helper()
	const p = "/usr/bin/python3"
	if _, err := os.Stat(p); err != nil {
		Missing(t, p+" is not installed (make tools-apt)")
	}
	return p
}
