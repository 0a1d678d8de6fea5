package infra_test

import (
	"bytes"
	"context"
	"encoding/json"
	"os/exec"
	"testing"

	"github.com/modelfn/modelfn/testing/tools"
)

// trivyReport is the part of `trivy config --format json` the test reads.
type trivyReport struct {
	Results []struct {
		Target            string
		Misconfigurations []struct {
			ID, Title, Severity, Status, Message string
			CauseMetadata                        struct {
				Resource  string
				StartLine int
			}
		}
	}
}

// TestTrivyFindsNoHighOrCritical scans each cloud's generated root
// module (with its module copy) with trivy's built-in checks. A remaining
// finding must be ignored inline in the module with its reason.
func TestTrivyFindsNoHighOrCritical(t *testing.T) {
	t.Parallel()
	trivy := tools.Need(t, "trivy", "make tools-trivy")
	for _, cfg := range configs(t) {
		t.Run(cfg.Cloud, func(t *testing.T) {
			t.Parallel()
			dir := generate(t, cfg)
			cmd := exec.CommandContext(context.Background(), trivy, "config",
				"--skip-check-update", "--quiet", "--format", "json",
				"--cache-dir", t.TempDir(), dir)
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			out, err := cmd.Output()
			if err != nil {
				t.Fatalf("trivy: %v\n%s", err, stderr.String())
			}
			var rep trivyReport
			if err := json.Unmarshal(out, &rep); err != nil {
				t.Fatalf("trivy output: %v\n%s", err, out)
			}
			counts := map[string]int{}
			scanned := 0
			for _, r := range rep.Results {
				scanned++
				for _, m := range r.Misconfigurations {
					if m.Status != "FAIL" {
						continue
					}
					counts[m.Severity]++
					if m.Severity == "HIGH" || m.Severity == "CRITICAL" {
						t.Errorf("%s %s %s: %s (%s, %s:%d); fix it, or put #trivy:ignore:AVD-%s with the reason above the resource", m.Severity, m.ID, m.Title, m.Message, m.CauseMetadata.Resource, r.Target, m.CauseMetadata.StartLine, m.ID)
					}
				}
			}
			if scanned == 0 {
				t.Fatalf("trivy scanned nothing in %s:\n%s", dir, out)
			}
			t.Logf("%s: %d files, findings by severity %v", cfg.Cloud, scanned, counts)
		})
	}
}
