package terraform_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/modelfn/modelfn/infra/terraform"
	"github.com/modelfn/modelfn/testing/tools"
)

// pinned is the terraform `make tools-terraform` installs. Tests use it, not
// whatever terraform is on PATH, so they see the version CI has.
func pinned(t *testing.T) string {
	t.Helper()
	p := filepath.Join(tools.Root(), ".bin", "terraform")
	if _, err := os.Stat(p); err != nil {
		tools.Missing(t, ".bin/terraform is not installed (make tools-terraform)")
	}
	return p
}

// builtinOnly uses no provider, so init needs no network.
const builtinOnly = `
variable "greeting" {
  type    = string
  default = "hello"
}

resource "terraform_data" "greeting" {
  input = var.greeting
}

output "greeting" {
  value = terraform_data.greeting.output
}

output "token" {
  value     = "s3cr3t"
  sensitive = true
}

output "sizes" {
  value = { small = 1, large = 2 }
}
`

func newRunner(t *testing.T, config string) (*terraform.Runner, *tools.SyncBuffer) {
	t.Helper()
	bin := pinned(t)
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "main.tf"), []byte(config), 0o644); err != nil {
		t.Fatal(err)
	}
	var progress tools.SyncBuffer
	r, err := terraform.New(dir, bin, &progress)
	if err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"CHECKPOINT_DISABLE": "1", "HOME": t.TempDir(), "PATH": os.Getenv("PATH")}
	if err := r.SetEnv(env); err != nil {
		t.Fatal(err)
	}
	return r, &progress
}

func TestLifecycle(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	r, progress := newRunner(t, builtinOnly)

	if v, err := r.Version(ctx); err != nil || v != "1.5.7" {
		t.Fatalf("Version = %q, %v; want the pinned 1.5.7", v, err)
	}
	if err := r.Init(ctx, terraform.InitOptions{}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(progress.String(), "Terraform has been successfully initialized") {
		t.Errorf("init's own output was not streamed:\n%s", progress.String())
	}

	plan := filepath.Join(r.Dir(), "deploy.tfplan")
	changes, err := r.Plan(ctx, terraform.PlanOptions{Out: plan, Vars: map[string]string{"greeting": "bonjour"}})
	if err != nil || !changes {
		t.Fatalf("Plan = %v, %v; want changes", changes, err)
	}
	if err := r.Apply(ctx, terraform.ApplyOptions{Plan: plan}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(progress.String(), "Apply complete! Resources: 1 added") {
		t.Errorf("apply's own output was not streamed:\n%s", progress.String())
	}
	out, err := r.Outputs(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got := out["greeting"].String(); got != "bonjour" {
		t.Errorf("greeting = %q, want the planned variable %q", got, "bonjour")
	}
	if tok := out["token"]; !tok.Sensitive || tok.String() != "s3cr3t" {
		t.Errorf("token = %+v, want sensitive s3cr3t", tok)
	}
	var sizes map[string]int
	if err := out["sizes"].Decode(&sizes); err != nil || sizes["large"] != 2 {
		t.Errorf("sizes = %v, %v", sizes, err)
	}

	// Same variables: nothing to do. Another value: an update.
	if changes, err := r.Plan(ctx, terraform.PlanOptions{Vars: map[string]string{"greeting": "bonjour"}}); err != nil || changes {
		t.Errorf("re-plan = %v, %v; want no changes", changes, err)
	}
	if err := r.Apply(ctx, terraform.ApplyOptions{Vars: map[string]string{"greeting": "hej"}}); err != nil {
		t.Fatal(err)
	}
	if out, err := r.Outputs(ctx); err != nil || out["greeting"].String() != "hej" {
		t.Errorf("after second apply greeting = %q, %v", out["greeting"].String(), err)
	}

	if changes, err := r.Plan(ctx, terraform.PlanOptions{Destroy: true}); err != nil || !changes {
		t.Errorf("destroy plan = %v, %v; want changes", changes, err)
	}
	if err := r.Destroy(ctx, terraform.DestroyOptions{}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(progress.String(), "Destroy complete! Resources: 1 destroyed") {
		t.Errorf("destroy's own output was not streamed")
	}
	if out, err := r.Outputs(ctx); err != nil || len(out) != 0 {
		t.Errorf("outputs after destroy = %v, %v; want none", out, err)
	}
}

func TestErrorsCarryTerraformsMessage(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	r, _ := newRunner(t, `output "x" { value = terraform_data.missing.output }`)
	if err := r.Init(ctx, terraform.InitOptions{}); err != nil {
		t.Fatal(err)
	}
	_, err := r.Plan(ctx, terraform.PlanOptions{})
	if err == nil {
		t.Fatal("plan of a broken configuration succeeded")
	}
	for _, want := range []string{"terraform plan in " + r.Dir(), "Reference to undeclared resource", "terraform_data.missing"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
	if err := r.Apply(ctx, terraform.ApplyOptions{}); err == nil || !strings.Contains(err.Error(), "terraform apply in") {
		t.Errorf("apply error = %v", err)
	}
}

func TestCancelled(t *testing.T) {
	t.Parallel()
	r, _ := newRunner(t, builtinOnly)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := r.Init(ctx, terraform.InitOptions{}); !errors.Is(err, context.Canceled) {
		t.Errorf("Init on a cancelled context = %v, want context.Canceled", err)
	}
}

func TestFormatCheck(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	r, _ := newRunner(t, "output \"x\" {\nvalue=1\n}\n")
	files, err := r.FormatCheck(ctx)
	if err != nil || len(files) != 1 || files[0] != "main.tf" {
		t.Fatalf("FormatCheck = %v, %v; want [main.tf]", files, err)
	}
	if err := r.Format(ctx); err != nil {
		t.Fatal(err)
	}
	if files, err := r.FormatCheck(ctx); err != nil || len(files) != 0 {
		t.Errorf("after Format: %v, %v", files, err)
	}
}

func TestFind(t *testing.T) {
	t.Parallel()
	if _, err := terraform.Find(filepath.Join(t.TempDir(), "nope")); err == nil {
		t.Error("Find accepted a configured path that does not exist")
	}
	bin := pinned(t)
	if p, err := terraform.Find(bin); err != nil || p != bin {
		t.Errorf("Find(%q) = %q, %v", bin, p, err)
	}
}
