package infra_test

import (
	"context"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/zclconf/go-cty/cty"

	"github.com/modelfn/modelfn/infra"
	"github.com/modelfn/modelfn/infra/terraform"
	"github.com/modelfn/modelfn/testing/tools"
)

func pinnedTerraform(t *testing.T) string {
	t.Helper()
	p := filepath.Join(tools.Root(), ".bin", "terraform")
	if _, err := os.Stat(p); err != nil {
		tools.Missing(t, ".bin/terraform is not installed (make tools-terraform)")
	}
	return p
}

func TestGeneratedRootPassesTerraformFmt(t *testing.T) {
	t.Parallel()
	bin := pinnedTerraform(t)
	for _, cfg := range configs(t) {
		t.Run(cfg.Cloud, func(t *testing.T) {
			t.Parallel()
			dir := generate(t, cfg)
			r, err := terraform.New(dir, bin, nil)
			if err != nil {
				t.Fatal(err)
			}
			files, err := r.FormatCheck(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if len(files) > 0 {
				t.Errorf("terraform fmt -check would rewrite %v", files)
			}
		})
	}
}

func TestGeneratedRootWiresTheModule(t *testing.T) {
	t.Parallel()
	for _, cfg := range configs(t) {
		t.Run(cfg.Cloud, func(t *testing.T) {
			t.Parallel()
			dir := generate(t, cfg)
			root := parseDir(t, dir)
			mod := parseDir(t, filepath.Join(dir, "modules", cfg.Cloud))

			calls := root.all("module", infra.ModuleName)
			if len(calls) != 1 {
				t.Fatalf("%d module blocks, want 1", len(calls))
			}
			call := calls[0]
			if got := root.attrText(call, "source"); got != `"./modules/`+cfg.Cloud+`"` {
				t.Errorf("source = %s", got)
			}
			// Every module variable is a root variable passed straight through.
			for _, v := range mod.all("variable", "") {
				name := v.Labels[0]
				if got := root.attrText(call, name); got != "var."+name {
					t.Errorf("module argument %s = %q, want var.%s", name, got, name)
				}
				if len(root.all("variable", name)) != 1 {
					t.Errorf("root declares no variable %s", name)
				}
			}
			// Every module output is a root output.
			for _, o := range mod.all("output", "") {
				ro := root.all("output", o.Labels[0])
				if len(ro) != 1 || root.attrText(ro[0], "value") != "module.modelfn."+o.Labels[0] {
					t.Errorf("root output %s missing or not module.modelfn.%s", o.Labels[0], o.Labels[0])
				}
				if mod.attrText(o, "sensitive") != root.attrText(ro[0], "sensitive") {
					t.Errorf("output %s: sensitive %q in the module, %q in the root", o.Labels[0], mod.attrText(o, "sensitive"), root.attrText(ro[0], "sensitive"))
				}
			}

			// Defaults are the deployment's values.
			ctx := vars(t, dir, nil)
			v := ctx.Variables["var"]
			want := map[string]cty.Value{
				"name":          cty.StringVal("breast-cancer"),
				"model_name":    cty.StringVal("breast-cancer"),
				"model_version": cty.StringVal("3"),
				"public":        cty.False,
				"alarm_email":   cty.StringVal("ml@example.com"),
			}
			for k, w := range want {
				if got := v.GetAttr(k); !got.RawEquals(w) {
					t.Errorf("default of %s = %#v, want %#v", k, got, w)
				}
			}
			if got := strs(v.GetAttr("features")); !reflect.DeepEqual(got, sorted(features)) {
				t.Errorf("features = %q, want %q", got, features)
			}
			art := v.GetAttr("artifact_path").AsString()
			if !strings.HasPrefix(art, "artifacts/"+cfg.Cloud+"-") {
				t.Errorf("artifact_path = %q, want a copy under artifacts/", art)
			}
			if _, err := os.Stat(filepath.Join(dir, art)); err != nil {
				t.Errorf("artifact copy: %v", err)
			}

			// The provider is configured from root variables.
			provider := map[string]string{infra.AWS: "aws", infra.GCP: "google", infra.Azure: "azurerm"}[cfg.Cloud]
			if len(root.all("provider", provider)) != 1 {
				t.Errorf("no provider %q block", provider)
			}
			if len(root.all("backend", "")) != 0 {
				t.Errorf("a backend without remote state asked for")
			}
		})
	}
}

func sorted(s []string) []string {
	out := append([]string(nil), s...)
	for i := range out {
		for j := i + 1; j < len(out); j++ {
			if out[j] < out[i] {
				out[i], out[j] = out[j], out[i]
			}
		}
	}
	return out
}

func TestRemoteState(t *testing.T) {
	t.Parallel()
	cfg := configFor(t, infra.AWS)
	cfg.State = &infra.RemoteState{Backend: "s3", Settings: map[string]string{"bucket": "tf-state", "region": "eu-west-1", "encrypt": "true"}}
	dir := generate(t, cfg)
	root := parseDir(t, dir)
	tf := root.all("terraform", "")[0]
	backends := nested(tf, "backend")
	if len(backends) != 1 || backends[0].Labels[0] != "s3" {
		t.Fatalf("backends = %v, want one s3", backends)
	}
	got := map[string]string{}
	for name := range backends[0].Body.Attributes {
		got[name] = root.eval(backends[0], name, nil).AsString()
	}
	want := map[string]string{"bucket": "tf-state", "region": "eu-west-1", "encrypt": "true", "key": "modelfn/breast-cancer/terraform.tfstate"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("backend = %v, want %v", got, want)
	}
}

func TestRegenerateReplacesTheArtifact(t *testing.T) {
	t.Parallel()
	cfg := configFor(t, infra.GCP)
	dir := generate(t, cfg)
	first, _ := filepath.Glob(filepath.Join(dir, "artifacts", "*.zip"))

	if err := os.WriteFile(cfg.ArtifactPath, []byte("a new build"), 0o644); err != nil {
		t.Fatal(err)
	}
	// Terraform's own files survive regeneration.
	state := filepath.Join(dir, "terraform.tfstate")
	if err := os.WriteFile(state, []byte("{}"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := infra.Generate(context.Background(), cfg, dir); err != nil {
		t.Fatal(err)
	}
	second, _ := filepath.Glob(filepath.Join(dir, "artifacts", "*.zip"))
	if len(first) != 1 || len(second) != 1 || first[0] == second[0] {
		t.Errorf("artifacts before %v, after %v: want one each, renamed by content", first, second)
	}
	if _, err := os.Stat(state); err != nil {
		t.Errorf("state removed by regeneration: %v", err)
	}
	if got := vars(t, dir, nil).Variables["var"].GetAttr("artifact_path").AsString(); got != "artifacts/"+filepath.Base(second[0]) {
		t.Errorf("artifact_path = %q, want the new copy", got)
	}
}

func TestNoArtifactLeavesItRequired(t *testing.T) {
	t.Parallel()
	cfg := configFor(t, infra.Azure)
	cfg.ArtifactPath = ""
	dir := generate(t, cfg)
	v := parseDir(t, dir).all("variable", "artifact_path")[0]
	if _, ok := v.Body.Attributes["default"]; ok {
		t.Error("artifact_path has a default with no artifact built")
	}
}

func TestValidate(t *testing.T) {
	t.Parallel()
	ok := configFor(t, infra.AWS)
	if err := ok.Validate(); err != nil {
		t.Fatalf("valid config refused: %v", err)
	}
	cases := map[string]func(c *infra.Config){
		"unknown cloud":       func(c *infra.Config) { c.Cloud = "ibm" },
		"aws without region":  func(c *infra.Config) { c.Region = "" },
		"gcp without project": func(c *infra.Config) { c.Cloud = infra.GCP; c.Project = "" },
		"azure without subscription": func(c *infra.Config) {
			c.Cloud, c.Location = infra.Azure, "westeurope"
		},
		"no version":             func(c *infra.Config) { c.ModelVersion = "" },
		"bad name":               func(c *infra.Config) { c.Name = "Has_Caps" },
		"long name":              func(c *infra.Config) { c.Name = "a-name-that-is-far-too-long" },
		"repeated feature":       func(c *infra.Config) { c.Features = []string{"a", "a"} },
		"7 minute interval":      func(c *infra.Config) { c.MonitorInterval = 7 * time.Minute },
		"5 hour interval":        func(c *infra.Config) { c.MonitorInterval = 5 * time.Hour },
		"sub-minute interval":    func(c *infra.Config) { c.MonitorInterval = 90 * time.Second },
		"email with a name":      func(c *infra.Config) { c.AlarmEmail = "Ana <ana@example.com>" },
		"drift share above 1":    func(c *infra.Config) { c.DriftShareThreshold = 1.5 },
		"unknown state backend":  func(c *infra.Config) { c.State = &infra.RemoteState{Backend: "consul"} },
		"latency in nanoseconds": func(c *infra.Config) { c.PredictP99Latency = 1500 * time.Microsecond },
	}
	for name, mutate := range cases {
		c := ok
		mutate(&c)
		if err := c.Validate(); err == nil {
			t.Errorf("%s: accepted", name)
		}
		if err := infra.Generate(context.Background(), c, t.TempDir()); err == nil {
			t.Errorf("%s: Generate accepted it", name)
		}
	}
	for _, d := range []time.Duration{time.Minute, 15 * time.Minute, 30 * time.Minute, time.Hour, 6 * time.Hour, 12 * time.Hour, 24 * time.Hour} {
		c := ok
		c.MonitorInterval = d
		if err := c.Validate(); err != nil {
			t.Errorf("interval %v refused: %v", d, err)
		}
	}
}

func TestDeploymentName(t *testing.T) {
	t.Parallel()
	for model, want := range map[string]string{
		"breast-cancer":                         "breast-cancer",
		"Breast Cancer (XGB) v2":                "breast-cancer-xgb-v2",
		"42-answers":                            "mf-42-answers",
		"a very long model name indeed here":    "a-very-long-model-na",
		"x":                                     "x00",
		"Ünïcode model":                         "n-code-model",
		"churn________________________________": "churn",
	} {
		if got := (infra.Config{ModelName: model}).DeploymentName(); got != want {
			t.Errorf("DeploymentName(%q) = %q, want %q", model, got, want)
		}
	}
	if got := (infra.Config{Name: "explicit", ModelName: "other"}).DeploymentName(); got != "explicit" {
		t.Errorf("an explicit name was replaced by %q", got)
	}
}

// DecodeOutputs reads real `terraform output -json` of a configuration
// that has the modules' output names (built-in resources only).
func TestDecodeOutputs(t *testing.T) {
	t.Parallel()
	bin := pinnedTerraform(t)
	dir := t.TempDir()
	cfg := `
resource "terraform_data" "d" { input = "x" }
output "predict_url" { value = "https://example.test/predict" }
output "predict_auth" { value = "AWS_IAM" }
output "logs_bucket" { value = "logs-1" }
output "batch_bucket" { value = "batch-1" }
output "batch_input_url" { value = "s3://batch-1/input/" }
output "metrics_url" { value = "cloudwatch://ModelFn?region=eu-west-1" }
output "functions" { value = { predict = "p", batch = "b", monitor = "m" } }
output "alarm_names" { value = ["a", "b"] }
output "predict_key" {
  value     = "k3y"
  sensitive = true
}
`
	if err := os.WriteFile(filepath.Join(dir, "main.tf"), []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	r, err := terraform.New(dir, bin, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := r.Init(ctx, terraform.InitOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := r.Apply(ctx, terraform.ApplyOptions{}); err != nil {
		t.Fatal(err)
	}
	raw, err := r.Outputs(ctx)
	if err != nil {
		t.Fatal(err)
	}
	o, err := infra.DecodeOutputs(raw)
	if err != nil {
		t.Fatal(err)
	}
	if o.PredictURL != "https://example.test/predict" || o.PredictAuth != "AWS_IAM" || o.BatchInputURL != "s3://batch-1/input/" ||
		o.Functions["monitor"] != "m" || !reflect.DeepEqual(o.AlarmNames, []string{"a", "b"}) {
		t.Errorf("decoded %+v", o)
	}
	if k := o.Other["predict_key"]; !k.Sensitive || k.String() != "k3y" {
		t.Errorf("predict_key = %+v", k)
	}
	delete(raw, "logs_bucket")
	if _, err := infra.DecodeOutputs(raw); err == nil || !strings.Contains(err.Error(), "logs_bucket") {
		t.Errorf("missing output: err = %v", err)
	}
}

// TestGenerateConcurrently: two deployments generated at once share no
// HCL tokens (hclwrite formats a file's tokens in place); the race
// detector in `make test` is the check.
func TestGenerateConcurrently(t *testing.T) {
	t.Parallel()
	for _, cfg := range configs(t) {
		var wg sync.WaitGroup
		for range 2 {
			dir := t.TempDir()
			wg.Go(func() {
				if err := infra.Generate(context.Background(), cfg, dir); err != nil {
					t.Error(err)
				}
			})
		}
		wg.Wait()
	}
}
