// Package terraform drives a real terraform binary through terraform-exec:
// init, plan, apply, output and destroy with typed options. Terraform's own
// progress goes to a writer for a person, and a failure carries Terraform's
// own message.
package terraform

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"

	"github.com/hashicorp/terraform-exec/tfexec"
)

// Find returns the terraform binary to run: the configured path when given,
// else terraform on $PATH, else .bin/terraform in the working directory or
// one of its parents (where `make tools-terraform` installs it).
func Find(configured string) (string, error) {
	if configured != "" {
		p, err := exec.LookPath(configured)
		if err != nil {
			return "", fmt.Errorf("terraform binary %q: %w", configured, err)
		}
		return p, nil
	}
	if p, err := exec.LookPath("terraform"); err == nil {
		return p, nil
	}
	wd, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("terraform not found on $PATH and the working directory is unknown: %w", err)
	}
	for dir := wd; ; dir = filepath.Dir(dir) {
		p := filepath.Join(dir, ".bin", "terraform")
		if st, err := os.Stat(p); err == nil && !st.IsDir() {
			return p, nil
		}
		if filepath.Dir(dir) == dir {
			break
		}
	}
	return "", errors.New("terraform not found: set its path, put it on $PATH, or run `make tools-terraform` (installs .bin/terraform)")
}

// Runner runs terraform in one root-module directory.
type Runner struct {
	tf  *tfexec.Terraform
	dir string
}

// New prepares a runner for the root module in dir with the terraform at
// execPath (see Find). Terraform's output is streamed to progress (nil
// discards it).
func New(dir, execPath string, progress io.Writer) (*Runner, error) {
	tf, err := tfexec.NewTerraform(dir, execPath)
	if err != nil {
		return nil, fmt.Errorf("terraform in %s: %w", dir, err)
	}
	if progress != nil {
		tf.SetStdout(progress)
		tf.SetStderr(progress)
	}
	return &Runner{tf: tf, dir: dir}, nil
}

// Dir is the root module the runner works in.
func (r *Runner) Dir() string { return r.dir }

// SetEnv replaces the environment terraform runs with (nil: inherit this
// process's). Credentials for the clouds reach terraform this way.
func (r *Runner) SetEnv(env map[string]string) error {
	if err := r.tf.SetEnv(env); err != nil {
		return fmt.Errorf("terraform in %s: environment: %w", r.dir, err)
	}
	return nil
}

// Version is the terraform binary's version, e.g. "1.5.7".
func (r *Runner) Version(ctx context.Context) (string, error) {
	v, _, err := r.tf.Version(ctx, true)
	if err != nil {
		return "", r.wrap("version", err)
	}
	return v.String(), nil
}

// InitOptions configure `terraform init`.
type InitOptions struct {
	// BackendConfig are -backend-config values ("key=value" or a file),
	// e.g. the remote state's bucket, chosen at init time.
	BackendConfig []string
	// NoBackend skips backend initialisation (-backend=false).
	NoBackend bool
	// Reconfigure ignores existing backend state (-reconfigure).
	Reconfigure bool
	// Upgrade picks the newest allowed providers and modules (-upgrade).
	Upgrade bool
	// PluginDir reads providers only from this folder (-plugin-dir), for
	// machines that cannot reach the registry.
	PluginDir string
}

// Init runs `terraform init`.
func (r *Runner) Init(ctx context.Context, o InitOptions) error {
	opts := []tfexec.InitOption{
		tfexec.Backend(!o.NoBackend),
		tfexec.Reconfigure(o.Reconfigure),
		tfexec.Upgrade(o.Upgrade),
	}
	for _, bc := range o.BackendConfig {
		opts = append(opts, tfexec.BackendConfig(bc))
	}
	if o.PluginDir != "" {
		opts = append(opts, tfexec.PluginDir(o.PluginDir))
	}
	return r.wrap("init", r.tf.Init(ctx, opts...))
}

// PlanOptions configure `terraform plan`.
type PlanOptions struct {
	Out      string            // save the plan here, to apply exactly it later
	Vars     map[string]string // -var name=value
	VarFiles []string          // -var-file
	Targets  []string          // -target
	Destroy  bool              // plan the destruction (-destroy)
}

// Plan runs `terraform plan` and reports whether it would change anything.
func (r *Runner) Plan(ctx context.Context, o PlanOptions) (changes bool, err error) {
	opts := []tfexec.PlanOption{tfexec.Destroy(o.Destroy)}
	if o.Out != "" {
		opts = append(opts, tfexec.Out(o.Out))
	}
	for _, v := range vars(o.Vars) {
		opts = append(opts, tfexec.Var(v))
	}
	for _, f := range o.VarFiles {
		opts = append(opts, tfexec.VarFile(f))
	}
	for _, t := range o.Targets {
		opts = append(opts, tfexec.Target(t))
	}
	changes, err = r.tf.Plan(ctx, opts...)
	return changes, r.wrap("plan", err)
}

// ApplyOptions configure `terraform apply`.
type ApplyOptions struct {
	Plan     string            // a saved plan (from PlanOptions.Out); variables are then fixed by it
	Vars     map[string]string // -var name=value
	VarFiles []string          // -var-file
	Targets  []string          // -target
}

// Apply runs `terraform apply -auto-approve`.
func (r *Runner) Apply(ctx context.Context, o ApplyOptions) error {
	var opts []tfexec.ApplyOption
	if o.Plan != "" {
		opts = append(opts, tfexec.DirOrPlan(o.Plan))
	}
	for _, v := range vars(o.Vars) {
		opts = append(opts, tfexec.Var(v))
	}
	for _, f := range o.VarFiles {
		opts = append(opts, tfexec.VarFile(f))
	}
	for _, t := range o.Targets {
		opts = append(opts, tfexec.Target(t))
	}
	return r.wrap("apply", r.tf.Apply(ctx, opts...))
}

// DestroyOptions configure `terraform destroy`.
type DestroyOptions struct {
	Vars     map[string]string
	VarFiles []string
	Targets  []string
}

// Destroy runs `terraform destroy -auto-approve`.
func (r *Runner) Destroy(ctx context.Context, o DestroyOptions) error {
	var opts []tfexec.DestroyOption
	for _, v := range vars(o.Vars) {
		opts = append(opts, tfexec.Var(v))
	}
	for _, f := range o.VarFiles {
		opts = append(opts, tfexec.VarFile(f))
	}
	for _, t := range o.Targets {
		opts = append(opts, tfexec.Target(t))
	}
	return r.wrap("destroy", r.tf.Destroy(ctx, opts...))
}

// Output is one root-module output.
type Output struct {
	Value     json.RawMessage // the value as Terraform's JSON
	Sensitive bool
}

// String is the output as text: a string as it is, anything else as JSON.
func (o Output) String() string {
	var s string
	if json.Unmarshal(o.Value, &s) == nil {
		return s
	}
	return string(o.Value)
}

// Decode unmarshals the value into v.
func (o Output) Decode(v any) error { return json.Unmarshal(o.Value, v) }

// Outputs runs `terraform output -json`.
func (r *Runner) Outputs(ctx context.Context) (map[string]Output, error) {
	meta, err := r.tf.Output(ctx)
	if err != nil {
		return nil, r.wrap("output", err)
	}
	out := make(map[string]Output, len(meta))
	for name, m := range meta {
		out[name] = Output{Value: m.Value, Sensitive: m.Sensitive}
	}
	return out, nil
}

// Format rewrites the root module's files in Terraform's canonical style
// (`terraform fmt -recursive`).
func (r *Runner) Format(ctx context.Context) error {
	return r.wrap("fmt", r.tf.FormatWrite(ctx, tfexec.Recursive(true), tfexec.Dir(r.dir)))
}

// FormatCheck lists the files `terraform fmt -check` would change.
func (r *Runner) FormatCheck(ctx context.Context) ([]string, error) {
	ok, files, err := r.tf.FormatCheck(ctx, tfexec.Recursive(true), tfexec.Dir(r.dir))
	if err != nil {
		return nil, r.wrap("fmt -check", err)
	}
	if ok {
		return nil, nil
	}
	return files, nil
}

// wrap says which command failed where; tfexec's error already holds
// Terraform's own message (its stderr).
func (r *Runner) wrap(cmd string, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("terraform %s in %s: %w", cmd, r.dir, err)
}

func vars(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k, v := range m {
		out = append(out, k+"="+v)
	}
	sort.Strings(out)
	return out
}
