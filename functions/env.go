package functions

import (
	"fmt"
	"os"
)

// Environment variables that wire a deployed function. The Terraform
// modules set them; nothing else reads the environment.
const (
	EnvFunction   = "MODELFN_FUNCTION"    // predict | batch | monitor
	EnvBundle     = "MODELFN_BUNDLE"      // folder holding modelfn.yaml; default "bundle" beside the binary
	EnvLogURL     = "MODELFN_LOG_URL"     // bucket for predictions/, labels/ and monitor/ (a gocloud.dev/blob URL)
	EnvBatchURL   = "MODELFN_BATCH_URL"   // bucket for input/, output/ and errors/
	EnvMetricsURL = "MODELFN_METRICS_URL" // monitoring sink, e.g. cloudwatch://ModelFn
	EnvLogLevel   = "MODELFN_LOG_LEVEL"   // debug | info | warn | error
)

// Roles a deployed binary can play.
const (
	RolePredict = "predict"
	RoleBatch   = "batch"
	RoleMonitor = "monitor"
)

// ConfigFromEnv reads the wiring a cloud function was deployed with.
func ConfigFromEnv() (Config, error) {
	c := Config{
		Bundle:     os.Getenv(EnvBundle),
		LogURL:     os.Getenv(EnvLogURL),
		BatchURL:   os.Getenv(EnvBatchURL),
		MetricsURL: os.Getenv(EnvMetricsURL),
	}
	if c.Bundle == "" {
		exe, err := os.Executable()
		if err != nil {
			return c, fmt.Errorf("%s not set and the executable's folder is unknown: %w", EnvBundle, err)
		}
		c.Bundle = joinDir(exe, "bundle")
	}
	if c.LogURL == "" {
		return c, fmt.Errorf("%s is not set: the function needs the prediction-log bucket", EnvLogURL)
	}
	return c, nil
}

// Role is the function this process serves, from MODELFN_FUNCTION.
func Role() (string, error) {
	switch r := os.Getenv(EnvFunction); r {
	case RolePredict, RoleBatch, RoleMonitor:
		return r, nil
	case "":
		return "", fmt.Errorf("%s is not set (predict, batch or monitor)", EnvFunction)
	default:
		return "", fmt.Errorf("%s=%q: want predict, batch or monitor", EnvFunction, r)
	}
}
