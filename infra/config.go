// Package infra writes the Terraform root module that deploys one model
// bundle on one cloud (Generate), from the embedded per-cloud modules, and
// reads what a deployment produced (DecodeOutputs). The terraform
// subpackage runs it.
package infra

import (
	"errors"
	"fmt"
	"net/mail"
	"regexp"
	"strings"
	"time"
)

// Clouds modelfn deploys to.
const (
	AWS   = "aws"
	GCP   = "gcp"
	Azure = "azure"
)

// Clouds lists the supported clouds.
var Clouds = []string{AWS, GCP, Azure}

// Config is one deployment: one model bundle (name, version) on one cloud.
// Zero values leave the module's default in place.
type Config struct {
	Cloud string // aws, gcp or azure

	// Name prefixes every resource; derived from ModelName when empty.
	// 3-20 lower-case letters, digits and hyphens.
	Name         string
	ModelName    string
	ModelVersion string
	Features     []string // each gets its own drift alarm

	Region       string // AWS and Google Cloud region
	Project      string // Google Cloud project ID
	Location     string // Azure region
	Subscription string // Azure subscription ID

	// ArtifactPath is the zip `modelfn build --cloud X` wrote. Generate
	// copies it into the root module. Empty leaves artifact_path to be
	// given at plan time.
	ArtifactPath string

	// Public serves predictions without authentication. Off by default.
	Public bool

	MemoryMB            int
	TimeoutSeconds      int           // predict
	BatchTimeoutSeconds int           // batch and monitor
	MonitorInterval     time.Duration // whole minutes dividing an hour, whole hours dividing a day, or 24h

	DriftShareThreshold      float64
	PerformanceDropThreshold float64
	// PerformanceMetric is the bundle's primary performance metric
	// (roc_auc, accuracy, r2): on AWS the performance alarm's dimension.
	// Empty watches every name it can take.
	PerformanceMetric     string
	PredictErrorThreshold int           // failures in 5 minutes
	PredictP99Latency     time.Duration // p99 alarm

	AlarmEmail              string
	LogRetentionDays        int
	PredictionRetentionDays int

	// State keeps Terraform state remotely; nil keeps it in the root
	// module's folder.
	State *RemoteState

	Tags map[string]string
}

// RemoteState is a Terraform backend block.
type RemoteState struct {
	// Backend is "s3", "gcs" or "azurerm".
	Backend string
	// Settings are the backend's arguments, e.g. bucket and region for
	// s3. A missing state path (key or prefix) defaults to one per
	// deployment name.
	Settings map[string]string
}

var nameRE = regexp.MustCompile(`^[a-z][a-z0-9-]{1,18}[a-z0-9]$`)

// DeploymentName is cfg.Name, or one derived from the model name:
// lower-case, other characters as hyphens, at most 20 characters.
func (c Config) DeploymentName() string {
	if c.Name != "" {
		return c.Name
	}
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(c.ModelName) {
		switch {
		case r >= 'a' && r <= 'z' || r >= '0' && r <= '9':
			b.WriteRune(r)
			dash = false
		case !dash && b.Len() > 0:
			b.WriteByte('-')
			dash = true
		}
	}
	n := b.String()
	if n == "" || n[0] < 'a' || n[0] > 'z' {
		n = "mf-" + n
	}
	if len(n) > 20 {
		n = n[:20]
	}
	n = strings.TrimRight(n, "-")
	for len(n) < 3 {
		n += "0"
	}
	return n
}

// Validate reports every setting the chosen cloud cannot take.
func (c Config) Validate() error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }

	switch c.Cloud {
	case AWS:
		if c.Region == "" {
			bad("aws needs a region")
		}
	case GCP:
		if c.Project == "" {
			bad("gcp needs a project")
		}
		if c.Region == "" {
			bad("gcp needs a region")
		}
	case Azure:
		if c.Location == "" {
			bad("azure needs a location")
		}
		if c.Subscription == "" {
			bad("azure needs a subscription ID")
		}
	default:
		bad("cloud %q: want one of %s", c.Cloud, strings.Join(Clouds, ", "))
	}
	if c.ModelName == "" {
		bad("model name is empty")
	}
	if c.ModelVersion == "" {
		bad("model version is empty")
	}
	if n := c.DeploymentName(); !nameRE.MatchString(n) {
		bad("name %q: want 3-20 lower-case letters, digits or hyphens, starting with a letter", n)
	}
	seen := map[string]bool{}
	for _, f := range c.Features {
		if f == "" || seen[f] {
			bad("feature %q: empty or repeated", f)
		}
		seen[f] = true
	}
	if c.MonitorInterval != 0 {
		if err := checkInterval(c.MonitorInterval); err != nil {
			errs = append(errs, err)
		}
	}
	if c.AlarmEmail != "" {
		if a, err := mail.ParseAddress(c.AlarmEmail); err != nil || a.Address != c.AlarmEmail {
			bad("alarm email %q is not a plain address", c.AlarmEmail)
		}
	}
	if c.DriftShareThreshold < 0 || c.DriftShareThreshold > 1 {
		bad("drift share threshold %v: want 0 to 1", c.DriftShareThreshold)
	}
	if c.PredictP99Latency < 0 || c.PredictP99Latency%time.Millisecond != 0 {
		bad("p99 latency alarm %v: want whole milliseconds", c.PredictP99Latency)
	}
	if c.State != nil {
		switch c.State.Backend {
		case "s3", "gcs", "azurerm":
		default:
			bad("state backend %q: want s3, gcs or azurerm", c.State.Backend)
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("deployment config: %w", errors.Join(errs...))
	}
	return nil
}

// checkInterval keeps the monitor schedule expressible on every cloud
// (cron on Google Cloud, NCRONTAB on Azure, rate on AWS) and the same
// everywhere.
func checkInterval(d time.Duration) error {
	if d%time.Minute != 0 || d <= 0 {
		return fmt.Errorf("monitor interval %v: want whole minutes", d)
	}
	m := int(d / time.Minute)
	switch {
	case m < 60 && 60%m == 0, m >= 60 && m < 1440 && m%60 == 0 && 24%(m/60) == 0, m == 1440:
		return nil
	}
	return fmt.Errorf("monitor interval %v: want minutes dividing an hour, hours dividing a day, or 24h", d)
}
