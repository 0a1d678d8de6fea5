package deploy_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/modelfn/modelfn/infra"
	_ "github.com/modelfn/modelfn/providers/aws"
	"github.com/modelfn/modelfn/providers/deploy"
	"github.com/modelfn/modelfn/runtime/bundle"
	"github.com/modelfn/modelfn/testing/tools"
)

var example = filepath.Join(tools.Root(), "examples", "breast-cancer", "bundle")

func TestConfigFromBundle(t *testing.T) {
	b, err := bundle.Load(example)
	if err != nil {
		t.Fatal(err)
	}
	b.Config.Clouds.AWS.Region = "eu-west-1"
	b.Config.Clouds.AWS.StateBucket = "tf-state"
	cfg := deploy.Config(b, infra.AWS, "dist/aws/function.zip")
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	if cfg.ModelName != "breast-cancer" || len(cfg.Features) != 30 || cfg.Public || cfg.PerformanceMetric != "roc_auc" ||
		cfg.MonitorInterval.Hours() != 1 || cfg.DriftShareThreshold != 0.5 || cfg.State == nil || cfg.State.Settings["bucket"] != "tf-state" {
		t.Fatalf("%+v", cfg)
	}
	if cfg := deploy.Config(b, infra.Azure, ""); cfg.Validate() == nil {
		t.Fatal("azure without location and subscription validated")
	}
}

// TestGenerateAWS builds the real Lambda artifact and writes the root
// module, as `modelfn generate --cloud aws` does.
func TestGenerateAWS(t *testing.T) {
	if testing.Short() {
		t.Skip("cross-compiles the Lambda binary")
	}
	dir := t.TempDir()
	var log strings.Builder
	root, err := deploy.Generate(context.Background(), deploy.Options{
		Cloud: "aws", Bundle: example, Region: "us-east-1", Dist: filepath.Join(dir, "dist"), Dir: filepath.Join(dir, "tf"), Log: &log,
	})
	if err != nil {
		t.Fatalf("%v\n%s", err, log.String())
	}
	main, err := os.ReadFile(filepath.Join(root, "main.tf"))
	if err != nil || !strings.Contains(string(main), `source = "./modules/aws"`) {
		t.Fatalf("%v\n%s", err, main)
	}
	vars, _ := os.ReadFile(filepath.Join(root, "variables.tf"))
	if !strings.Contains(string(vars), `"mean radius"`) || !strings.Contains(string(vars), "breast-cancer") {
		t.Fatalf("variables.tf lacks the bundle's settings:\n%.2000s", vars)
	}
	if !strings.Contains(log.String(), "function.zip") {
		t.Fatalf("no progress:\n%s", log.String())
	}
	// Deploying needs approval when nobody can give it.
	_, err = deploy.Deploy(context.Background(), deploy.Options{Cloud: "aws", Bundle: example, Region: "us-east-1",
		Dist: filepath.Join(dir, "dist"), Dir: filepath.Join(dir, "tf"), Terraform: "/nonexistent/terraform"})
	if err == nil || !strings.Contains(err.Error(), "terraform") {
		t.Fatalf("deploy with no terraform: %v", err)
	}
}
