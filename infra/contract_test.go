package infra_test

import (
	"os"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/modelfn/modelfn/testing/tools"
)

// monitoringMetrics reads the metric names and which carry a feature
// label from functions/monitoring (the contract the monitor publishes
// by), from its source: infra imports nothing of modelfn's runtime.
func monitoringMetrics(t *testing.T) (names map[string]bool, perFeature map[string]bool) {
	t.Helper()
	src, err := os.ReadFile(filepath.Join(tools.Root(), "functions", "monitoring", "monitoring.go"))
	if err != nil {
		t.Fatal(err)
	}
	re := regexp.MustCompile(`(?m)^\s*Metric\w+\s*=\s*"([a-z_0-9]+)"(.*)$`)
	names, perFeature = map[string]bool{}, map[string]bool{}
	for _, m := range re.FindAllStringSubmatch(string(src), -1) {
		names[m[1]] = true
		if regexp.MustCompile(`\(feature\)`).MatchString(m[2]) {
			perFeature[m[1]] = true
		}
	}
	if len(names) < 10 || !names["drift_share"] || !perFeature["feature_drifted"] {
		t.Fatalf("could not read the metric names from monitoring.go: %v", names)
	}
	return names, perFeature
}
