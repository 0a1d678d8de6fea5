package functions

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/modelfn/modelfn/functions/monitor"
	"github.com/modelfn/modelfn/runtime"
	"github.com/modelfn/modelfn/runtime/bundle"
)

// InitOptions are `modelfn init`'s inputs.
type InitOptions struct {
	Model     string // model file
	Format    string // "" picks by extension
	Reference string // training data, CSV with a header
	Target    string // label column of the reference data, if any
	// Validation is labelled held-out data (CSV with the Target column) on
	// which the reference performance is measured; "" uses the reference
	// data, which overstates performance when it is the training data.
	Validation string
	Exclude    []string // reference columns that are not features (ids)
	Name       string   // "" derives from the model file name
	Version    string   // "" is "1"
	Classes    []string // class names in the model's output order ("" keeps the model's)
	Dir        string   // "" is the name
	Force      bool     // overwrite an existing bundle
}

// InitBundle writes a bundle: modelfn.yaml with the schema inferred from the
// reference data, a copy of the model, and the reference profile (the
// reference data's distributions and the model's predictions on it, and
// its performance when the data has a target).
func InitBundle(ctx context.Context, o InitOptions) (*bundle.Bundle, error) {
	if o.Name == "" {
		o.Name = nameFrom(o.Model)
	}
	if o.Version == "" {
		o.Version = "1"
	}
	if o.Dir == "" {
		o.Dir = o.Name
	}
	if o.Format == "" {
		var err error
		if o.Format, err = formatOf(o.Model); err != nil {
			return nil, err
		}
	}
	if _, err := os.Stat(filepath.Join(o.Dir, bundle.FileName)); err == nil && !o.Force {
		return nil, fmt.Errorf("%s already holds a bundle; pass --force to overwrite it", o.Dir)
	}
	model, err := os.ReadFile(o.Model)
	if err != nil {
		return nil, err
	}
	ref, err := os.Open(o.Reference)
	if err != nil {
		return nil, err
	}
	features, _, err := bundle.InferFeatures(ref, o.Reference, append([]string{o.Target}, o.Exclude...)...)
	ref.Close()
	if err != nil {
		return nil, err
	}
	schema, err := runtime.NewSchema(features, false)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", o.Reference, err)
	}
	m, err := runtime.Open(o.Format, model, runtime.Spec{Schema: schema, Classes: o.Classes})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", o.Model, err)
	}
	info := m.Info()

	if err := os.MkdirAll(o.Dir, 0o755); err != nil {
		return nil, err
	}
	modelName := filepath.Base(o.Model)
	if err := os.WriteFile(filepath.Join(o.Dir, modelName), model, 0o644); err != nil {
		return nil, err
	}
	b := &bundle.Bundle{Dir: o.Dir, Schema: schema, Config: bundle.Config{
		Name: o.Name, Version: o.Version, Task: info.Task, Classes: info.Classes,
		Model:    bundle.File{Path: modelName, Format: o.Format, SHA256: bundle.Sum(model)},
		Target:   o.Target,
		Features: features,
	}}
	b.Config.Defaults()

	profile, perf, err := monitor.BuildReference(ctx, m, schema, o.Reference, o.Target)
	if err != nil {
		return nil, err
	}
	if o.Validation != "" {
		if o.Target == "" {
			return nil, fmt.Errorf("--validation needs --target: the label column to score against")
		}
		if _, perf, err = monitor.BuildReference(ctx, m, schema, o.Validation, o.Target); err != nil {
			return nil, err
		}
	}
	const profileName = "reference.profile.json"
	if err := os.WriteFile(filepath.Join(o.Dir, profileName), profile, 0o644); err != nil {
		return nil, err
	}
	b.Config.Reference = bundle.File{Path: profileName, Format: "modelfn-profile", SHA256: bundle.Sum(profile)}
	b.Config.Monitoring.Perf.Reference = perf
	if err := b.Config.Validate(); err != nil {
		return nil, fmt.Errorf("bundle %q: %w", o.Name, err)
	}
	if err := b.Save(); err != nil {
		return nil, err
	}
	return b, nil
}

// formatOf picks the model format from the file name.
func formatOf(path string) (string, error) {
	switch strings.ToLower(filepath.Ext(path)) {
	case ".json", ".ubj":
		if strings.HasSuffix(strings.ToLower(path), ".ubj") {
			return "", errors.New(path + ": XGBoost's binary UBJSON is not supported: save_model(\"model.json\") instead")
		}
		return "xgboost-json", nil
	case ".onnx":
		return "onnx", nil
	}
	return "", fmt.Errorf("%s: can't tell the model format from the name; pass --format (one of %v)", path, runtime.Formats())
}

var unsafe = regexp.MustCompile(`[^a-z0-9-]+`)

// nameFrom turns "Churn_Model.v2.json" into "churn-model-v2".
func nameFrom(path string) string {
	base := strings.TrimSuffix(filepath.Base(path), filepath.Ext(path))
	n := strings.Trim(unsafe.ReplaceAllString(strings.ToLower(base), "-"), "-")
	if len(n) > 40 {
		n = strings.Trim(n[:40], "-")
	}
	return n
}
