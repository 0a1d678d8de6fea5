package gcp_test

import (
	"archive/zip"
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/modelfn/modelfn/providers/build"
	"github.com/modelfn/modelfn/providers/gcp"
	"github.com/modelfn/modelfn/testing/tools"
)

// TestSourceArchive: `modelfn build --cloud gcp` writes a self-contained
// module that compiles with vendor/ alone (functionBinary builds it with
// GOPROXY=off and an empty module cache), holds the generated package and
// the bundle, carries no other cloud's SDK, and is the same bytes when
// built twice.
func TestSourceArchive(t *testing.T) {
	functionBinary(t)
	st, err := os.Stat(fnZip)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("source archive: %d bytes (%.1f MB)", st.Size(), float64(st.Size())/(1<<20))
	if st.Size() > gcp.MaxSourceBytes {
		t.Errorf("archive over Cloud Functions' source limit")
	}

	zr, err := zip.OpenReader(fnZip)
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	entries := map[string]*zip.File{}
	for _, f := range zr.File {
		entries[f.Name] = f
		if strings.HasPrefix(f.Name, "_modelfn") {
			t.Errorf("%s: the replace target is not shipped", f.Name)
		}
		if strings.HasPrefix(f.Name, "vendor/github.com/aws/") || strings.HasPrefix(f.Name, "vendor/github.com/Azure/") {
			t.Errorf("%s: another cloud's SDK in the GCP source", f.Name)
		}
	}
	for _, want := range []string{
		"go.mod", "go.sum", "function.go",
		"bundle/modelfn.yaml", "bundle/model.json", "bundle/reference.profile.json",
		"vendor/modules.txt",
		// The buildpack refuses vendored sources without funcframework.
		"vendor/github.com/GoogleCloudPlatform/functions-framework-go/funcframework/framework.go",
		"vendor/github.com/modelfn/modelfn/providers/gcp/gcp.go",
		"vendor/gocloud.dev/blob/gcsblob/gcsblob.go",
	} {
		if entries[want] == nil {
			t.Errorf("archive lacks %s", want)
		}
	}
	goMod := read(t, entries["go.mod"])
	for _, want := range []string{"module modelfn.local/breast-cancer\n", "replace github.com/modelfn/modelfn => ./_modelfn"} {
		if !strings.Contains(goMod, want) {
			t.Errorf("go.mod lacks %q:\n%s", want, goMod)
		}
	}
	gen := read(t, entries["function.go"])
	for _, want := range []string{"package function", "//go:embed bundle", "gcp.Register(bundle)", "functions-framework-go/funcframework"} {
		if !strings.Contains(gen, want) {
			t.Errorf("function.go lacks %q:\n%s", want, gen)
		}
	}
	if read(t, entries["bundle/model.json"]) != string(readFile(t, filepath.Join(tools.Root(), "examples", "breast-cancer", "bundle", "model.json"))) {
		t.Error("bundle/model.json differs from the bundle's")
	}

	// Built again: the same bytes, so Terraform sees no change to deploy.
	b, err := loadExample()
	if err != nil {
		t.Fatal(err)
	}
	var log bytes.Buffer
	again, err := gcp.Cloud{}.Build(context.Background(), b, t.TempDir(), &log)
	if err != nil {
		t.Fatalf("%v\n%s", err, log.Bytes())
	}
	if !bytes.Equal(readFile(t, again.Path), readFile(t, fnZip)) {
		t.Error("a second build gave other bytes")
	}
	if again.Cloud != "gcp" || again.Size != st.Size() || filepath.Base(again.Path) != gcp.SourceName {
		t.Errorf("artifact %+v", again)
	}
	for _, step := range []string{"go mod vendor", "zipping", "MB"} {
		if !strings.Contains(log.String(), step) {
			t.Errorf("build did not narrate %q:\n%s", step, log.String())
		}
	}
	if c, err := build.Lookup("gcp"); err != nil || c.Name() != "gcp" {
		t.Errorf("gcp is not registered with providers/build: %v", err)
	}
}

func read(t *testing.T, f *zip.File) string {
	t.Helper()
	if f == nil {
		return ""
	}
	r, err := f.Open()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	data, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return data
}
