package gcp

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"text/template"

	"github.com/modelfn/modelfn/providers/build"
	"github.com/modelfn/modelfn/runtime/bundle"
)

// SourceName is the artifact's file name under DIR/gcp/.
const SourceName = "source.zip"

// MaxSourceBytes is Cloud Functions' limit on a zipped source upload.
const MaxSourceBytes = 100 << 20

// modelfnDir is where the generated go.mod's replace directive points
// modelfn while vendoring; the archive does not carry it, since vendor/
// holds every package the build needs.
const modelfnDir = "./_modelfn"

func init() { build.Register(Cloud{}) }

// Cloud builds the Cloud Functions source archive. Cloud Functions builds
// Go from source with Google's buildpack, which writes its own main
// package importing the function's package, so the archive is a module:
//
//	go.mod, go.sum   module modelfn.local/NAME, modelfn replaced by a vendored copy
//	function.go      the generated package: embeds bundle/, calls gcp.Register
//	bundle/          modelfn.yaml, the model, the reference profile
//	vendor/          every imported package, modelfn's and functions-framework's
//	                 included, so the build fetches nothing
//
// The same archive serves the three functions; the entry point (Predict,
// Batch, Monitor) picks one.
type Cloud struct{}

// Name is "gcp".
func (Cloud) Name() string { return "gcp" }

// Build writes DIR/gcp/source.zip and reports its size.
func (Cloud) Build(ctx context.Context, b *bundle.Bundle, dir string, log io.Writer) (build.Artifact, error) {
	fail := func(err error) (build.Artifact, error) { return build.Artifact{}, fmt.Errorf("gcp build: %w", err) }
	modDir, err := build.ModuleDir(ctx)
	if err != nil {
		return fail(err)
	}
	work, err := os.MkdirTemp("", "modelfn-gcp-source-")
	if err != nil {
		return fail(err)
	}
	defer os.RemoveAll(work)
	if err := WriteSource(ctx, b, modDir, work, log); err != nil {
		return fail(err)
	}
	files, err := sourceFiles(work)
	if err != nil {
		return fail(err)
	}
	out := filepath.Join(dir, "gcp", SourceName)
	fmt.Fprintf(log, "zipping %d files into %s\n", len(files), out)
	size, err := build.Zip(out, files)
	if err != nil {
		return fail(fmt.Errorf("zip %s: %w", out, err))
	}
	fmt.Fprintf(log, "built %s: %.1f MB (Cloud Functions takes up to %d MB of zipped source)\n", out, float64(size)/(1<<20), MaxSourceBytes>>20)
	if size > MaxSourceBytes {
		return fail(fmt.Errorf("%s is %d bytes, over Cloud Functions' %d-byte source limit", out, size, MaxSourceBytes))
	}
	return build.Artifact{Cloud: "gcp", Path: out, Size: size}, nil
}

// WriteSource lays the function's source out in dir (empty): go.mod and
// go.sum, the generated package, the bundle and vendor/, from modelfn's
// checkout at modDir. The module cache provides the dependencies (the Go
// proxy only for what it lacks). dir then builds with -mod=vendor and no
// network; the replace target modelfnDir is a symbolic link that is left
// in dir for inspection but not zipped.
func WriteSource(ctx context.Context, b *bundle.Bundle, modDir, dir string, log io.Writer) error {
	goVersion, err := goDirective(filepath.Join(modDir, "go.mod"))
	if err != nil {
		return err
	}
	absMod, err := filepath.Abs(modDir)
	if err != nil {
		return err
	}
	if err := os.Symlink(absMod, filepath.Join(dir, modelfnDir)); err != nil {
		return err
	}
	c := &b.Config
	fmt.Fprintf(log, "writing the function source for %s version %s (entry points %s, %s, %s)\n", c.Name, c.Version, EntryPredict, EntryBatch, EntryMonitor)
	var gen bytes.Buffer
	if err := functionTmpl.Execute(&gen, c); err != nil {
		return err
	}
	goMod := fmt.Sprintf("module modelfn.local/%s\n\ngo %s\n\nrequire %s v0.0.0-00010101000000-000000000000\n\nreplace %s => %s\n",
		c.Name, goVersion, build.Module, build.Module, modelfnDir)
	sum, err := os.ReadFile(filepath.Join(modDir, "go.sum"))
	if err != nil {
		return err
	}
	writes := map[string][]byte{"go.mod": []byte(goMod), "go.sum": sum, "function.go": gen.Bytes()}
	for _, f := range build.BundleFiles(b, "bundle/") {
		data, err := os.ReadFile(f.Path)
		if err != nil {
			return err
		}
		writes[f.Name] = data
	}
	for name, data := range writes {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(p, data, 0o644); err != nil {
			return err
		}
	}
	for _, args := range [][]string{{"mod", "tidy"}, {"mod", "vendor"}} {
		fmt.Fprintf(log, "go %s\n", strings.Join(args, " "))
		cmd := exec.CommandContext(ctx, "go", args...)
		cmd.Dir = dir
		// The module cache first; GOFLAGS from the caller (e.g. -mod=vendor)
		// would not apply to this module.
		cmd.Env = append(os.Environ(), "GOWORK=off", "GOFLAGS=-mod=mod", "GOTOOLCHAIN=local")
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Run(); err != nil {
			return fmt.Errorf("go %s in %s: %w\n%s", strings.Join(args, " "), dir, err, out.Bytes())
		}
	}
	return nil
}

// sourceFiles lists what goes into the archive, in a fixed order.
func sourceFiles(dir string) ([]build.File, error) {
	var files []build.File
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		if rel == filepath.Base(modelfnDir) {
			return nil // the symbolic link: vendor/ has the packages
		}
		if d.IsDir() || !d.Type().IsRegular() {
			return nil
		}
		files = append(files, build.File{Name: filepath.ToSlash(rel), Path: p})
		return nil
	})
	sort.Slice(files, func(i, j int) bool { return files[i].Name < files[j].Name })
	return files, err
}

// goDirective reads the go line of a go.mod: the generated module needs at
// least modelfn's.
func goDirective(goMod string) (string, error) {
	data, err := os.ReadFile(goMod)
	if err != nil {
		return "", err
	}
	for _, l := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(l), "go "); ok {
			return strings.TrimSpace(v), nil
		}
	}
	return "", fmt.Errorf("%s has no go directive", goMod)
}

var functionTmpl = template.Must(template.New("function.go").Parse(`// Code generated by modelfn build --cloud gcp. DO NOT EDIT.

// Package function is the Cloud Functions source of model {{printf "%q" .Name}}
// version {{printf "%q" .Version}}: entry points Predict (HTTP), Batch
// (CloudEvent: google.cloud.storage.object.v1.finalized) and Monitor (HTTP),
// with the bundle embedded.
package function

import (
	"embed"
	"io/fs"

	// The buildpack's generated main imports funcframework; with vendored
	// dependencies it must be in vendor/.
	_ "github.com/GoogleCloudPlatform/functions-framework-go/funcframework"

	"github.com/modelfn/modelfn/providers/gcp"
)

//go:embed bundle
var files embed.FS

func init() {
	bundle, _ := fs.Sub(files, "bundle") // a fixed, valid path: no error
	gcp.Register(bundle)
}
`))
