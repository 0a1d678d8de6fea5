// Package deploy is what `modelfn build|generate|deploy|destroy` do: it
// builds a bundle's artifact for a cloud (providers/build), writes the
// Terraform root module for it (infra.Generate), and runs Terraform
// (infra/terraform) to create or remove the deployment.
package deploy

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"

	"github.com/modelfn/modelfn/infra"
	"github.com/modelfn/modelfn/infra/terraform"
	"github.com/modelfn/modelfn/providers/build"
	"github.com/modelfn/modelfn/runtime/bundle"
)

// Options say what to deploy where. Settings left empty come from the
// bundle's clouds section.
type Options struct {
	Cloud  string
	Bundle string
	// Dist is where artifacts are built (default "dist"); Dir the root
	// module (default "deploy/<cloud>/<name>").
	Dist, Dir string

	Region, Project, Location, Subscription string
	Public                                  bool // serve predictions without authentication
	AlarmEmail                              string

	Terraform string // terraform binary (default: found on $PATH or in .bin)
	// Approve answers the "apply this plan?" question; nil requires
	// AutoApprove.
	Approve     func(prompt string) bool
	AutoApprove bool

	Log io.Writer // progress for a person
}

// defaults fills unset options and writes the command-line overrides into
// the loaded bundle's settings, so the artifact (which bakes some of them
// in, e.g. Azure's key requirement) and the Terraform agree.
func (o *Options) defaults(b *bundle.Bundle) {
	cl := &b.Config.Clouds
	var common *bundle.Common
	switch o.Cloud {
	case infra.AWS:
		common = &cl.AWS.Common
		cl.AWS.Region = pick(o.Region, cl.AWS.Region)
	case infra.GCP:
		common = &cl.GCP.Common
		cl.GCP.Project = pick(o.Project, cl.GCP.Project)
		cl.GCP.Region = pick(o.Region, cl.GCP.Region)
	case infra.Azure:
		common = &cl.Azure.Common
		cl.Azure.Location = pick(o.Location, cl.Azure.Location)
		cl.Azure.Subscription = pick(o.Subscription, cl.Azure.Subscription)
	}
	if common != nil {
		common.Public = common.Public || o.Public
		common.AlarmEmail = pick(o.AlarmEmail, common.AlarmEmail)
	}
	if o.Dist == "" {
		o.Dist = "dist"
	}
	if o.Dir == "" {
		o.Dir = filepath.Join("deploy", o.Cloud, b.Config.Name)
	}
	if o.Log == nil {
		o.Log = io.Discard
	}
}

// Build builds the bundle's artifact for the cloud.
func Build(ctx context.Context, o Options) (build.Artifact, error) {
	b, err := bundle.Load(o.Bundle)
	if err != nil {
		return build.Artifact{}, err
	}
	o.defaults(b)
	return buildFor(ctx, b, o)
}

func buildFor(ctx context.Context, b *bundle.Bundle, o Options) (build.Artifact, error) {
	c, err := build.Lookup(o.Cloud)
	if err != nil {
		return build.Artifact{}, err
	}
	if _, err := b.Model(); err != nil { // refuse a broken bundle before compiling anything
		return build.Artifact{}, err
	}
	fmt.Fprintf(o.Log, "building %s version %s for %s\n", b.Config.Name, b.Config.Version, o.Cloud)
	a, err := c.Build(ctx, b, o.Dist, o.Log) // the cloud reports the artifact and its size
	if err != nil {
		return a, fmt.Errorf("build %s: %w", o.Cloud, err)
	}
	return a, nil
}

// Generate builds the artifact and writes the root module; it returns the
// module's folder.
func Generate(ctx context.Context, o Options) (string, error) {
	b, err := bundle.Load(o.Bundle)
	if err != nil {
		return "", err
	}
	o.defaults(b)
	a, err := buildFor(ctx, b, o)
	if err != nil {
		return "", err
	}
	cfg := Config(b, o.Cloud, a.Path)
	if err := infra.Generate(ctx, cfg, o.Dir); err != nil {
		return "", err
	}
	fmt.Fprintf(o.Log, "wrote the Terraform root module to %s\n", o.Dir)
	return o.Dir, nil
}

// Deploy builds, generates, and applies: init, plan, (approval), apply,
// then reads the outputs.
func Deploy(ctx context.Context, o Options) (infra.Outputs, error) {
	dir, err := Generate(ctx, o)
	if err != nil {
		return infra.Outputs{}, err
	}
	tf, err := runner(dir, o)
	if err != nil {
		return infra.Outputs{}, err
	}
	if err := tf.Init(ctx, terraform.InitOptions{}); err != nil {
		return infra.Outputs{}, err
	}
	plan := "modelfn.tfplan"
	changes, err := tf.Plan(ctx, terraform.PlanOptions{Out: plan})
	if err != nil {
		return infra.Outputs{}, err
	}
	if changes {
		if err := approve(o, "Apply this plan?"); err != nil {
			return infra.Outputs{}, err
		}
		if err := tf.Apply(ctx, terraform.ApplyOptions{Plan: plan}); err != nil {
			return infra.Outputs{}, err
		}
	} else {
		fmt.Fprintln(o.Log, "no changes to apply")
	}
	out, err := tf.Outputs(ctx)
	if err != nil {
		return infra.Outputs{}, err
	}
	return infra.DecodeOutputs(out)
}

// Destroy removes a deployment made from the root module in o.Dir.
func Destroy(ctx context.Context, o Options) error {
	b, err := bundle.Load(o.Bundle)
	if err != nil {
		return err
	}
	o.defaults(b)
	tf, err := runner(o.Dir, o)
	if err != nil {
		return err
	}
	if err := approve(o, fmt.Sprintf("Destroy everything %s deployed for %s on %s, buckets included?", o.Dir, b.Config.Name, o.Cloud)); err != nil {
		return err
	}
	if err := tf.Init(ctx, terraform.InitOptions{}); err != nil {
		return err
	}
	return tf.Destroy(ctx, terraform.DestroyOptions{})
}

func runner(dir string, o Options) (*terraform.Runner, error) {
	bin, err := terraform.Find(o.Terraform)
	if err != nil {
		return nil, err
	}
	return terraform.New(dir, bin, o.Log)
}

func approve(o Options, prompt string) error {
	switch {
	case o.AutoApprove:
		return nil
	case o.Approve == nil:
		return errors.New(prompt + " Not on a terminal: pass --auto-approve to proceed")
	case !o.Approve(prompt):
		return errors.New("stopped: not approved")
	}
	return nil
}

// AskOn returns an Approve that asks on out and reads yes/no from in.
func AskOn(in io.Reader, out io.Writer) func(string) bool {
	r := bufio.NewReader(in)
	return func(prompt string) bool {
		fmt.Fprintf(out, "%s Only 'yes' is accepted: ", prompt)
		line, _ := r.ReadString('\n')
		return strings.TrimSpace(line) == "yes"
	}
}

// Config maps a bundle's settings onto a deployment on a cloud.
func Config(b *bundle.Bundle, cloud, artifact string) infra.Config {
	c := &b.Config
	cfg := infra.Config{
		Cloud: cloud, ModelName: c.Name, ModelVersion: c.Version,
		ArtifactPath:             artifact,
		MonitorInterval:          c.Monitoring.Interval,
		DriftShareThreshold:      c.Monitoring.DriftShare,
		PerformanceDropThreshold: c.Monitoring.Perf.Drop,
		PerformanceMetric:        primaryMetric(b),
		Tags:                     map[string]string{"modelfn-model": c.Name, "modelfn-version": c.Version},
	}
	for _, f := range c.Features {
		cfg.Features = append(cfg.Features, f.Name)
	}
	var common bundle.Common
	switch cloud {
	case infra.AWS:
		common = c.Clouds.AWS.Common
		cfg.Region = c.Clouds.AWS.Region
		if c.Clouds.AWS.StateBucket != "" {
			cfg.State = &infra.RemoteState{Backend: "s3", Settings: map[string]string{"bucket": c.Clouds.AWS.StateBucket, "region": cfg.Region}}
		}
	case infra.GCP:
		common = c.Clouds.GCP.Common
		cfg.Project, cfg.Region = c.Clouds.GCP.Project, c.Clouds.GCP.Region
	case infra.Azure:
		common = c.Clouds.Azure.Common
		cfg.Location, cfg.Subscription = c.Clouds.Azure.Location, c.Clouds.Azure.Subscription
	}
	cfg.Public, cfg.AlarmEmail = common.Public, common.AlarmEmail
	cfg.MemoryMB, cfg.TimeoutSeconds, cfg.LogRetentionDays = common.MemoryMB, common.TimeoutSeconds, common.LogRetention
	return cfg
}

// primaryMetric is the performance metric the monitor judges drops on.
func primaryMetric(b *bundle.Bundle) string {
	switch {
	case b.Config.Task == "regression":
		return "r2"
	case len(b.Config.Classes) == 2:
		return "roc_auc"
	}
	return "accuracy"
}

func pick(flag, setting string) string {
	if flag != "" {
		return flag
	}
	return setting
}
