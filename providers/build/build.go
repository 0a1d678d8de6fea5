// Package build turns a bundle into a deployable artifact for a cloud,
// with the steps every cloud shares: cross-compiling a function binary
// from this module, laying the bundle out beside it, zipping, and
// reporting the size. Each provider registers a Cloud that says what goes
// into its artifact.
package build

import (
	"archive/zip"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"

	"github.com/modelfn/modelfn/runtime/bundle"
)

// Artifact is a built deployable.
type Artifact struct {
	Cloud string
	Path  string // the zip
	Size  int64  // bytes
}

// Cloud builds one cloud's artifact.
type Cloud interface {
	Name() string
	// Build writes the artifact for b into dir, narrating to log.
	Build(ctx context.Context, b *bundle.Bundle, dir string, log io.Writer) (Artifact, error)
}

var (
	mu     sync.Mutex
	clouds = map[string]Cloud{}
)

// Register makes a cloud available to Lookup; providers call it from init.
func Register(c Cloud) {
	mu.Lock()
	defer mu.Unlock()
	clouds[c.Name()] = c
}

// Lookup finds a registered cloud.
func Lookup(name string) (Cloud, error) {
	mu.Lock()
	defer mu.Unlock()
	if c, ok := clouds[name]; ok {
		return c, nil
	}
	names := make([]string, 0, len(clouds))
	for n := range clouds {
		names = append(names, n)
	}
	sort.Strings(names)
	return nil, fmt.Errorf("unknown cloud %q (known: %s)", name, strings.Join(names, ", "))
}

// Module is this module's path.
const Module = "github.com/modelfn/modelfn"

// ModuleDir finds this module's source: the checkout modelfn runs from, or
// the module cache when modelfn was installed with `go install`.
func ModuleDir(ctx context.Context) (string, error) {
	out, err := exec.CommandContext(ctx, "go", "list", "-m", "-f", "{{.Dir}}", Module).Output()
	if err == nil && len(strings.TrimSpace(string(out))) > 0 {
		return strings.TrimSpace(string(out)), nil
	}
	// Outside the module: ask for the package, which finds it in the cache.
	out, err2 := exec.CommandContext(ctx, "go", "list", "-f", "{{.Module.Dir}}", Module+"/functions").Output()
	if err2 == nil && len(strings.TrimSpace(string(out))) > 0 {
		return strings.TrimSpace(string(out)), nil
	}
	return "", fmt.Errorf("building a function needs Go and modelfn's source (run from a checkout of %s): %v", Module, err)
}

// PGOFile is the CPU profile go build optimizes modelfn with
// (profile-guided optimization), from the module's root: `make pgo` makes
// it from modelfn serve and batch scoring under load.
const PGOFile = "cmd/modelfn/default.pgo"

// Target is what to compile: a main package of this module (e.g.
// "./providers/aws/bootstrap") for an OS and architecture, with build tags.
type Target struct {
	Pkg, GOOS, GOARCH string
	Tags              []string
}

// Binary cross-compiles t into out: static (CGO_ENABLED=0), stripped,
// reproducible (-trimpath).
func Binary(ctx context.Context, t Target, out string, log io.Writer) error {
	dir, err := ModuleDir(ctx)
	if err != nil {
		return err
	}
	abs, err := filepath.Abs(out)
	if err != nil {
		return err
	}
	args := []string{"build", "-trimpath", "-ldflags=-s -w -buildid=", "-tags", strings.Join(t.Tags, ","), "-o", abs}
	// modelfn's profile (see PGOFile) serves every function binary: they
	// run the same predict, batch and log code as modelfn serve.
	pgo := filepath.Join(dir, filepath.FromSlash(PGOFile))
	if _, err := os.Stat(pgo); err == nil {
		args = append(args, "-pgo="+pgo)
	}
	fmt.Fprintf(log, "compiling %s for %s/%s\n", t.Pkg, t.GOOS, t.GOARCH)
	cmd := exec.CommandContext(ctx, "go", append(args, t.Pkg)...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS="+t.GOOS, "GOARCH="+t.GOARCH)
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("go build %s for %s/%s: %w", t.Pkg, t.GOOS, t.GOARCH, err)
	}
	return nil
}

// File is one entry of a zip: from a path on disk, or from Data.
type File struct {
	Name string // path inside the zip, with "/"
	Path string
	Data []byte
	Mode os.FileMode // 0 means 0644
}

// BundleFiles lists the bundle's files (manifest, model, reference
// profile) under prefix, e.g. "bundle/".
func BundleFiles(b *bundle.Bundle, prefix string) []File {
	var fs []File
	for _, name := range []string{bundle.FileName, b.Config.Model.Path, b.Config.Reference.Path} {
		fs = append(fs, File{Name: prefix + filepath.ToSlash(name), Path: filepath.Join(b.Dir, name)})
	}
	return fs
}

// Zip writes files into a new zip at out and returns its size. Entries
// carry a fixed time, so the same inputs give the same bytes (and the
// clouds see no change to deploy).
func Zip(out string, files []File) (int64, error) {
	if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
		return 0, err
	}
	f, err := os.Create(out)
	if err != nil {
		return 0, err
	}
	zw := zip.NewWriter(f)
	for _, file := range files {
		mode := file.Mode
		if mode == 0 {
			mode = 0o644
		}
		h := &zip.FileHeader{Name: file.Name, Method: zip.Deflate}
		h.SetMode(mode)
		w, err := zw.CreateHeader(h)
		if err != nil {
			f.Close()
			return 0, err
		}
		data := file.Data
		if data == nil {
			if data, err = os.ReadFile(file.Path); err != nil {
				f.Close()
				return 0, err
			}
		}
		if _, err := w.Write(data); err != nil {
			f.Close()
			return 0, err
		}
	}
	if err := zw.Close(); err != nil {
		f.Close()
		return 0, err
	}
	if err := f.Close(); err != nil {
		return 0, err
	}
	st, err := os.Stat(out)
	if err != nil {
		return 0, err
	}
	return st.Size(), nil
}
