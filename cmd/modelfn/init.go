package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/modelfn/modelfn/functions"
)

func newInitCmd() *cobra.Command {
	var o functions.InitOptions
	cmd := &cobra.Command{
		Use:   "init",
		Short: "Make a bundle from a model file and its training data",
		Long: `Init writes a bundle folder: modelfn.yaml (name, version, task, the feature schema
inferred from the reference data, limits, prediction-log, monitoring and per-cloud
settings), a copy of the model with its sha256, and the reference profile the
monitor compares live traffic with (the data's distributions and the model's own
predictions on it; with --target, also the model's reference performance).

A column is numeric when every non-empty value parses as a number, categorical
otherwise; the reference's range and categories are recorded. Edit modelfn.yaml
afterwards to tune anything; loading checks every file against its sha256.`,
		Example: `  modelfn init --model model.json --reference train.csv --target churned --name churn
  modelfn init --model pipeline.onnx --reference train.csv --exclude customer_id --classes no,yes`,
		RunE: func(cmd *cobra.Command, args []string) error {
			b, err := functions.InitBundle(cmd.Context(), o)
			if err != nil {
				return err
			}
			c := b.Config
			fmt.Fprintf(cmd.OutOrStdout(), "wrote bundle %q version %s to %s: %s %s, %d features", c.Name, c.Version, b.Dir, c.Task, c.Model.Format, len(c.Features))
			if len(c.Classes) > 0 {
				fmt.Fprintf(cmd.OutOrStdout(), ", classes %v", c.Classes)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "\nnext: modelfn serve --bundle %s\n", b.Dir)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.Model, "model", "", "model file: XGBoost JSON (save_model(\"model.json\")) or ONNX")
	f.StringVar(&o.Reference, "reference", "", "training data as CSV with a header")
	f.StringVar(&o.Target, "target", "", "label column of the reference data (left out of the features)")
	f.StringVar(&o.Validation, "validation", "", "labelled held-out CSV to measure the reference performance on (default: the reference data)")
	f.StringSliceVar(&o.Exclude, "exclude", nil, "other reference columns that are not features, e.g. ids")
	f.StringVar(&o.Name, "name", "", "bundle name: lowercase letters, digits, dashes (default: from the model file)")
	f.StringVar(&o.Version, "version", "1", "model version")
	f.StringSliceVar(&o.Classes, "classes", nil, "class names in the model's output order (default: the model's own labels)")
	f.StringVar(&o.Format, "format", "", "model format (default: from the file extension)")
	f.StringVar(&o.Dir, "dir", "", "bundle folder to write (default: the name)")
	f.BoolVar(&o.Force, "force", false, "overwrite an existing bundle")
	cmd.MarkFlagRequired("model")
	cmd.MarkFlagRequired("reference")
	return cmd
}
