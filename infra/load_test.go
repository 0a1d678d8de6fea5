package infra_test

import (
	"context"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/modelfn/modelfn/infra"
	"github.com/modelfn/modelfn/infra/terraform"
)

// TestTerraformLoadsGeneratedRoot has the pinned terraform load each
// generated root and its module: `init` installs the module and decodes
// the whole configuration, then stops at the providers (CI cannot
// download them, so they come from an empty plugin folder); `providers`
// then prints the requirement tree from the loaded configuration.
func TestTerraformLoadsGeneratedRoot(t *testing.T) {
	t.Parallel()
	bin := pinnedTerraform(t)
	providers := map[string]string{infra.AWS: "hashicorp/aws", infra.GCP: "hashicorp/google", infra.Azure: "hashicorp/azurerm"}
	for _, cfg := range configs(t) {
		t.Run(cfg.Cloud, func(t *testing.T) {
			t.Parallel()
			dir := generate(t, cfg)
			r, err := terraform.New(dir, bin, nil)
			if err != nil {
				t.Fatal(err)
			}
			env := map[string]string{"CHECKPOINT_DISABLE": "1", "HOME": t.TempDir(), "PATH": os.Getenv("PATH")}
			if err := r.SetEnv(env); err != nil {
				t.Fatal(err)
			}
			err = r.Init(context.Background(), terraform.InitOptions{NoBackend: true, PluginDir: t.TempDir()})
			if err == nil || !strings.Contains(err.Error(), "Failed to query available provider packages") {
				t.Fatalf("init should fail only for want of the provider; got %v", err)
			}
			if strings.Count(err.Error(), "Error:") != 1 {
				t.Errorf("init found more than the missing provider:\n%v", err)
			}
			cmd := exec.Command(bin, "providers", "-no-color")
			cmd.Dir, cmd.Env = dir, []string{"CHECKPOINT_DISABLE=1", "HOME=" + env["HOME"], "PATH=" + env["PATH"]}
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("terraform providers: %v\n%s", err, out)
			}
			if !strings.Contains(string(out), "module.modelfn") || !strings.Contains(string(out), providers[cfg.Cloud]) {
				t.Errorf("terraform providers:\n%s", out)
			}
		})
	}
}
