package azure

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/modelfn/modelfn/providers/build"
	"github.com/modelfn/modelfn/runtime/bundle"
)

func init() { build.Register(Cloud{}) }

// HandlerPkg is the custom handler's main package.
const HandlerPkg = "./providers/azure/handler"

// Cloud builds the function app's zip: DIR/azure/app.zip holding the
// linux/amd64 handler, host.json, a folder per function with its
// function.json, and the bundle under bundle/ (where the handler looks by
// default).
type Cloud struct{}

// Name implements build.Cloud.
func (Cloud) Name() string { return "azure" }

// Build implements build.Cloud.
func (Cloud) Build(ctx context.Context, b *bundle.Bundle, dir string, log io.Writer) (build.Artifact, error) {
	art := build.Artifact{Cloud: "azure", Path: filepath.Join(dir, "azure", "app.zip")}
	files, err := AppFiles(b)
	if err != nil {
		return art, fmt.Errorf("azure: %w", err)
	}
	if lim := b.Config.Limits.MaxBodyBytes; lim > MaxRequestBytes {
		fmt.Fprintf(log, "note: limits.max_body_bytes is %d, but the Functions host refuses requests over %d bytes with its own 413 before modelfn sees them\n", lim, MaxRequestBytes)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return art, fmt.Errorf("azure: %w", err)
	}
	tmp, err := os.MkdirTemp(dir, ".azure-build-")
	if err != nil {
		return art, fmt.Errorf("azure: %w", err)
	}
	defer os.RemoveAll(tmp)
	bin := filepath.Join(tmp, Executable)
	if err := build.Binary(ctx, build.Target{Pkg: HandlerPkg, GOOS: "linux", GOARCH: "amd64"}, bin, log); err != nil {
		return art, fmt.Errorf("azure: %w", err)
	}
	files = append([]build.File{{Name: Executable, Path: bin, Mode: 0o755}}, files...)
	files = append(files, build.BundleFiles(b, "bundle/")...)
	fmt.Fprintf(log, "zipping the function app (%d files)\n", len(files))
	if art.Size, err = build.Zip(art.Path, files); err != nil {
		return art, fmt.Errorf("azure: %s: %w", art.Path, err)
	}
	fmt.Fprintf(log, "wrote %s (%.1f MB)\n", art.Path, float64(art.Size)/(1<<20))
	return art, nil
}
