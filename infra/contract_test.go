package infra_test

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/modelfn/modelfn/testing/tools"
)

// monitoringMetrics reads the metric names, and the extra label each
// carries beyond model and version, from functions/monitoring (the
// contract the monitor publishes by), from its source: infra imports
// nothing of modelfn's runtime. A "(feature)" or "(metric: …)" note on
// the constant names the label; performance_drop, published with the
// primary metric's name (functions/monitor/analyze.go), has no note.
func monitoringMetrics(t *testing.T) (names map[string]bool, label map[string]string) {
	t.Helper()
	src, err := os.ReadFile(filepath.Join(tools.Root(), "functions", "monitoring", "monitoring.go"))
	if err != nil {
		t.Fatal(err)
	}
	re := regexp.MustCompile(`(?m)^\s*Metric\w+\s*=\s*"([a-z_0-9]+)"(.*)$`)
	names, label = map[string]bool{}, map[string]string{}
	for _, m := range re.FindAllStringSubmatch(string(src), -1) {
		names[m[1]] = true
		switch {
		case strings.Contains(m[2], "(feature)"):
			label[m[1]] = "feature"
		case strings.Contains(m[2], "(metric"):
			label[m[1]] = "metric"
		}
	}
	label["performance_drop"] = "metric"
	if len(names) < 10 || !names["drift_share"] || label["feature_drifted"] != "feature" || label["performance"] != "metric" {
		t.Fatalf("could not read the metric names from monitoring.go: %v %v", names, label)
	}
	return names, label
}
