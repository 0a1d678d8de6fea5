package infra_test

import (
	"context"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/function"
	"github.com/zclconf/go-cty/cty/function/stdlib"

	"github.com/modelfn/modelfn/infra"
)

// tfDir is a folder of .tf files parsed with hashicorp/hcl, to check
// what the configuration says without a provider.
type tfDir struct {
	t      *testing.T
	blocks []*hclsyntax.Block
	src    map[string][]byte
}

func parseDir(t *testing.T, dir string) *tfDir {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*.tf"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no .tf files in %s (%v)", dir, err)
	}
	d := &tfDir{t: t, src: map[string][]byte{}}
	for _, f := range files {
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		file, diags := hclsyntax.ParseConfig(src, f, hcl.InitialPos)
		if diags.HasErrors() {
			t.Fatalf("%s: %v", f, diags)
		}
		d.src[f] = src
		d.blocks = append(d.blocks, file.Body.(*hclsyntax.Body).Blocks...)
	}
	return d
}

// with is d reporting to t (a subtest).
func (d *tfDir) with(t *testing.T) *tfDir {
	c := *d
	c.t = t
	return &c
}

// all returns the blocks of a kind ("resource", "data", "variable", ...)
// whose first label is typ ("" for any).
func (d *tfDir) all(kind, typ string) []*hclsyntax.Block {
	var out []*hclsyntax.Block
	for _, b := range d.blocks {
		if b.Type == kind && (typ == "" || len(b.Labels) > 0 && b.Labels[0] == typ) {
			out = append(out, b)
		}
	}
	return out
}

// one returns the block kind "typ" "name".
func (d *tfDir) one(kind, typ, name string) *hclsyntax.Block {
	d.t.Helper()
	for _, b := range d.all(kind, typ) {
		if len(b.Labels) > 1 && b.Labels[1] == name {
			return b
		}
	}
	d.t.Fatalf("no %s %q %q", kind, typ, name)
	return nil
}

func (d *tfDir) has(kind, typ, name string) bool {
	for _, b := range d.all(kind, typ) {
		if len(b.Labels) > 1 && b.Labels[1] == name {
			return true
		}
	}
	return false
}

// text is an expression's source.
func (d *tfDir) text(e hclsyntax.Expression) string {
	r := e.Range()
	return string(d.src[r.Filename][r.Start.Byte:r.End.Byte])
}

// attrText is the source of an attribute's expression ("" when absent).
func (d *tfDir) attrText(b *hclsyntax.Block, name string) string {
	a, ok := b.Body.Attributes[name]
	if !ok {
		return ""
	}
	return d.text(a.Expr)
}

// eval evaluates an attribute in ctx; it fails the test when the
// attribute is missing or refers to something ctx lacks.
func (d *tfDir) eval(b *hclsyntax.Block, name string, ctx *hcl.EvalContext) cty.Value {
	d.t.Helper()
	a, ok := b.Body.Attributes[name]
	if !ok {
		d.t.Fatalf("%s %v has no attribute %s", b.Type, b.Labels, name)
	}
	v, diags := a.Expr.Value(ctx)
	if diags.HasErrors() {
		d.t.Fatalf("%s %v: %s: %v", b.Type, b.Labels, name, diags)
	}
	return v
}

func nested(b *hclsyntax.Block, typ string) []*hclsyntax.Block {
	var out []*hclsyntax.Block
	for _, n := range b.Body.Blocks {
		if n.Type == typ {
			out = append(out, n)
		}
	}
	return out
}

// local evaluates a locals entry in ctx, with every other local that
// ctx alone can resolve (locals referring to locals included).
func (d *tfDir) local(name string, ctx *hcl.EvalContext) cty.Value {
	d.t.Helper()
	attrs := map[string]*hclsyntax.Attribute{}
	for _, b := range d.all("locals", "") {
		for n, a := range b.Body.Attributes {
			attrs[n] = a
		}
	}
	target, ok := attrs[name]
	if !ok {
		d.t.Fatalf("no local %q", name)
	}
	known := map[string]cty.Value{}
	if l, ok := ctx.Variables["local"]; ok {
		for k, v := range l.AsValueMap() {
			known[k] = v
		}
	}
	with := func() *hcl.EvalContext {
		c := *ctx
		c.Variables = map[string]cty.Value{}
		for k, v := range ctx.Variables {
			c.Variables[k] = v
		}
		c.Variables["local"] = cty.ObjectVal(known)
		return &c
	}
	for progress := true; progress; {
		progress = false
		for n, a := range attrs {
			if _, done := known[n]; done {
				continue
			}
			if v, diags := a.Expr.Value(with()); !diags.HasErrors() {
				known[n] = v
				progress = true
			}
		}
	}
	v, diags := target.Expr.Value(with())
	if diags.HasErrors() {
		d.t.Fatalf("local %s: %v", name, diags)
	}
	return v
}

// strings of a list or set value.
func strs(v cty.Value) []string {
	var out []string
	if v.IsNull() || !v.IsKnown() {
		return nil
	}
	for it := v.ElementIterator(); it.Next(); {
		_, e := it.Element()
		out = append(out, e.AsString())
	}
	sort.Strings(out)
	return out
}

// vars reads the generated root module's variable defaults, as Terraform
// would use them with no -var, then applies overrides.
func vars(t *testing.T, root string, overrides map[string]cty.Value) *hcl.EvalContext {
	t.Helper()
	d := parseDir(t, root)
	vals := map[string]cty.Value{}
	for _, b := range d.all("variable", "") {
		if _, ok := b.Body.Attributes["default"]; ok {
			vals[b.Labels[0]] = d.eval(b, "default", nil)
		}
	}
	for k, v := range overrides {
		vals[k] = v
	}
	return &hcl.EvalContext{
		Variables: map[string]cty.Value{"var": cty.ObjectVal(vals)},
		Functions: map[string]function.Function{"toset": toset, "jsonencode": stdlib.JSONEncodeFunc, "floor": stdlib.FloorFunc},
	}
}

// toset is Terraform's toset for lists of strings.
var toset = function.New(&function.Spec{
	Params: []function.Parameter{{Name: "list", Type: cty.List(cty.String)}},
	Type:   function.StaticReturnType(cty.Set(cty.String)),
	Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
		if args[0].LengthInt() == 0 {
			return cty.SetValEmpty(cty.String), nil
		}
		return cty.SetVal(args[0].AsValueSlice()), nil
	},
})

// features exercises names a query or filter must quote.
var features = []string{"mean radius", "worst area", `odd "quoted" \ name`}

// configs is one deployment per cloud with every setting a user sets often.
func configs(t *testing.T) []infra.Config {
	t.Helper()
	artifact := filepath.Join(t.TempDir(), "artifact.zip")
	if err := os.WriteFile(artifact, []byte("PK\x05\x06"+strings.Repeat("\x00", 18)), 0o644); err != nil {
		t.Fatal(err)
	}
	base := infra.Config{
		ModelName: "breast-cancer", ModelVersion: "3", Features: features,
		ArtifactPath: artifact, AlarmEmail: "ml@example.com", PerformanceMetric: "roc_auc",
		Tags: map[string]string{"team": "ml"},
	}
	aws, gcp, az := base, base, base
	aws.Cloud, aws.Region = infra.AWS, "eu-west-1"
	gcp.Cloud, gcp.Project, gcp.Region = infra.GCP, "modelfn-test", "europe-west1"
	az.Cloud, az.Location, az.Subscription = infra.Azure, "westeurope", "00000000-0000-0000-0000-000000000000"
	return []infra.Config{aws, gcp, az}
}

func generate(t *testing.T, cfg infra.Config) string {
	t.Helper()
	dir := t.TempDir()
	if err := infra.Generate(context.Background(), cfg, dir); err != nil {
		t.Fatal(err)
	}
	return dir
}

func configFor(t *testing.T, cloud string) infra.Config {
	t.Helper()
	for _, c := range configs(t) {
		if c.Cloud == cloud {
			return c
		}
	}
	t.Fatalf("no config for %s", cloud)
	return infra.Config{}
}
