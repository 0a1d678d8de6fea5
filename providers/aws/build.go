package aws

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/modelfn/modelfn/providers/build"
	"github.com/modelfn/modelfn/runtime/bundle"
)

// BootstrapPkg is the Lambda main package, relative to the module root.
const BootstrapPkg = "./providers/aws/bootstrap"

// ZipName is the artifact's file name under DIR/aws/.
const ZipName = "function.zip"

func init() { build.Register(Cloud{}) }

// Cloud builds the Lambda deployment package: the bootstrap binary for
// linux/arm64 (provided.al2023 on Graviton) at the zip's root and the
// bundle under bundle/, where MODELFN_BUNDLE defaults to. The same zip
// serves the three functions; MODELFN_FUNCTION picks the role.
type Cloud struct {
	// GOARCH overrides the architecture (tests build amd64 to run under
	// the x86-64-only Runtime Interface Emulator); "" is arm64.
	GOARCH string
}

// Name is "aws".
func (Cloud) Name() string { return "aws" }

// Build writes DIR/aws/function.zip and reports its size.
func (c Cloud) Build(ctx context.Context, b *bundle.Bundle, dir string, log io.Writer) (build.Artifact, error) {
	arch := c.GOARCH
	if arch == "" {
		arch = "arm64"
	}
	out := filepath.Join(dir, "aws")
	if err := os.MkdirAll(out, 0o755); err != nil {
		return build.Artifact{}, fmt.Errorf("aws build: %w", err)
	}
	bin := filepath.Join(out, "bootstrap")
	if err := build.Binary(ctx, build.Target{Pkg: BootstrapPkg, GOOS: "linux", GOARCH: arch, Tags: []string{"lambda.norpc"}}, bin, log); err != nil {
		return build.Artifact{}, fmt.Errorf("aws build: %w", err)
	}
	files := append([]build.File{{Name: "bootstrap", Path: bin, Mode: 0o755}}, build.BundleFiles(b, "bundle/")...)
	zipPath := filepath.Join(out, ZipName)
	fmt.Fprintf(log, "zipping bootstrap and bundle %q into %s\n", b.Config.Name, zipPath)
	size, err := build.Zip(zipPath, files)
	if err != nil {
		return build.Artifact{}, fmt.Errorf("aws build: zip %s: %w", zipPath, err)
	}
	if err := os.Remove(bin); err != nil {
		return build.Artifact{}, fmt.Errorf("aws build: %w", err)
	}
	fmt.Fprintf(log, "built %s: %.1f MB (Lambda takes up to 50 MB zipped for a direct upload)\n", zipPath, float64(size)/(1<<20))
	return build.Artifact{Cloud: "aws", Path: zipPath, Size: size}, nil
}
