package aws_test

import (
	"archive/zip"
	"bytes"
	"context"
	"debug/buildinfo"
	"io"
	"strings"
	"testing"

	"github.com/modelfn/modelfn/providers/build"
	"github.com/modelfn/modelfn/runtime/bundle"
	"github.com/modelfn/modelfn/testing/conformance"
)

// The deployment package as `modelfn build --cloud aws` makes it: the
// linux/arm64 bootstrap at the root, executable, and the bundle under
// bundle/, under 15 MB zipped.
func TestBuildArm64Zip(t *testing.T) {
	if testing.Short() {
		t.Skip("cross-compiles the bootstrap for linux/arm64")
	}
	cloud, err := build.Lookup("aws")
	if err != nil {
		t.Fatal(err)
	}
	b, err := bundle.Load(conformance.Bundle())
	if err != nil {
		t.Fatal(err)
	}
	var log bytes.Buffer
	art, err := cloud.Build(context.Background(), b, t.TempDir(), &log)
	if err != nil {
		t.Fatalf("%v\n%s", err, log.String())
	}
	t.Logf("%s: %d bytes (%.2f MB)\n%s", art.Path, art.Size, float64(art.Size)/(1<<20), log.String())
	const goal = 15 << 20
	if art.Size > goal {
		t.Errorf("function.zip is %d bytes, over the %d-byte goal", art.Size, goal)
	}
	zr, err := zip.OpenReader(art.Path)
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	files := map[string]*zip.File{}
	for _, f := range zr.File {
		files[f.Name] = f
	}
	for _, name := range []string{"bootstrap", "bundle/modelfn.yaml", "bundle/model.json", "bundle/reference.profile.json"} {
		if files[name] == nil {
			t.Errorf("%s missing from the zip (has %v)", name, len(files))
		}
	}
	boot := files["bootstrap"]
	if boot == nil {
		return
	}
	if boot.Mode().Perm()&0o111 == 0 {
		t.Errorf("bootstrap mode %v: Lambda needs it executable", boot.Mode())
	}
	r, err := boot.Open()
	if err != nil {
		t.Fatal(err)
	}
	bin, err := io.ReadAll(r)
	r.Close()
	if err != nil {
		t.Fatal(err)
	}
	// ELF, 64-bit, little-endian, e_machine 183 (EM_AARCH64).
	if head := bin[:20]; !bytes.HasPrefix(head, []byte("\x7fELF\x02\x01")) || head[18] != 183 || head[19] != 0 {
		t.Errorf("bootstrap header % x: want a 64-bit little-endian ELF for aarch64", head)
	}
	// Optimized with modelfn's profile, as modelfn serve is.
	info, err := buildinfo.Read(bytes.NewReader(bin))
	if err != nil {
		t.Fatal(err)
	}
	pgo := ""
	for _, s := range info.Settings {
		if s.Key == "-pgo" {
			pgo = s.Value
		}
	}
	if !strings.HasSuffix(pgo, "default.pgo") {
		t.Errorf("bootstrap built with -pgo=%q, want %s", pgo, build.PGOFile)
	}
}
