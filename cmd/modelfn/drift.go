package main

import (
	"github.com/spf13/cobra"

	"github.com/modelfn/modelfn/drift"
	"github.com/modelfn/modelfn/drift/cli"
)

func newDriftCmd() *cobra.Command {
	var o cli.Options
	cmd := &cobra.Command{
		Use:   "drift --reference A --current B",
		Short: "Compare two tables (CSV or JSON Lines, .gz welcome) for drift, data quality and performance",
		Long: `drift compares a current table with a reference one: per-column drift (method chosen
per column as Evidently does, or forced with --method), dataset drift (share of drifted
features), data quality, and performance when --target and --prediction are given.

Methods: auto, ` + joinMethods() + `.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return cli.Run(cmd.Context(), o, cmd.OutOrStdout())
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.Reference, "reference", "", "reference table (.csv or .jsonl, optionally .gz)")
	f.StringVar(&o.Current, "current", "", "current table (.csv or .jsonl, optionally .gz)")
	f.StringVar(&o.Format, "format", "json", "report format: json, text or html")
	f.StringVar(&o.Method, "method", "auto", "drift method for every column")
	f.Float64Var(&o.Threshold, "threshold", 0, "threshold for the method (0: the method's default)")
	f.StringSliceVar(&o.Columns, "columns", nil, "compare only these columns (comma-separated)")
	f.StringVar(&o.Target, "target", "", "label column (target drift; performance with --prediction)")
	f.StringVar(&o.Prediction, "prediction", "", "model output column (prediction drift)")
	f.Float64Var(&o.DriftShare, "drift-share", drift.DefaultDriftShare, "share of drifted features that means dataset drift")
	f.StringVarP(&o.Out, "out", "o", "", "write the report here instead of stdout")
	_ = cmd.MarkFlagRequired("reference")
	_ = cmd.MarkFlagRequired("current")
	return cmd
}

func joinMethods() string {
	s := ""
	for i, m := range drift.Methods() {
		if i > 0 {
			s += ", "
		}
		s += m
	}
	return s
}
