package main

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/modelfn/modelfn/functions"
	"github.com/modelfn/modelfn/providers/local"
)

func newMonitorCmd() *cobra.Command {
	var bundleDir, data string
	var once, asJSON bool
	var every time.Duration
	cmd := &cobra.Command{
		Use:   "monitor",
		Short: "Run the monitor on the local data folder",
		Long: `Monitor reads the prediction-log objects written since its last checkpoint (in
DATA/predictions/), joins ground-truth labels (DATA/labels/NAME/*.jsonl lines of
{"id": "<prediction id>", "label": ...}), compares the window with the bundle's
reference profile, and publishes metrics and alarms to DATA/monitoring/. Its
checkpoint is committed in one write at the end of a run, so a run that is killed
half-way is simply redone by the next one, without double counting.`,
		Example: `  modelfn monitor --bundle examples/breast-cancer/bundle --data .run --once`,
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, err := local.Config(bundleDir, data)
			if err != nil {
				return err
			}
			app, err := functions.New(cmd.Context(), cfg, slog.Default())
			if err != nil {
				return err
			}
			defer app.Close(cmd.Context())
			if !once {
				if every == 0 {
					every = app.Bundle.Config.Monitoring.Interval
				}
				return local.Every(cmd.Context(), every, app.RunMonitor, slog.Default())
			}
			res, err := app.Monitor.Run(cmd.Context())
			if err != nil {
				return err
			}
			if asJSON {
				enc := json.NewEncoder(cmd.OutOrStdout())
				enc.SetIndent("", "  ")
				return enc.Encode(res)
			}
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "window since %s: %d predictions (%d new in %d objects, %d corrupt skipped, %d labels joined)\n",
				res.WindowStart.Format(time.RFC3339), res.WindowRows, res.Health.Records, res.Health.ObjectsRead, res.Health.CorruptObjects, res.Health.LabelsJoined)
			if res.NotEnoughData {
				fmt.Fprintf(out, "not enough data to judge drift (fewer than monitoring.min_rows = %d)\n", app.Bundle.Config.Monitoring.MinRows)
				return nil
			}
			ds := res.Report.Dataset
			fmt.Fprintf(out, "dataset drift: %v (%d of %d features drifted, share %.2f, threshold %.2f)\n", ds.Drifted, ds.DriftedColumns, ds.Columns, ds.Share, ds.Threshold)
			if n := len(res.Alarms); n > 0 {
				fmt.Fprintf(out, "%d alarms raised (printed above; kept in %s)\n", n, filepath.Join(data, "monitoring", "alarms.jsonl"))
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&bundleDir, "bundle", ".", "bundle folder")
	cmd.Flags().StringVar(&data, "data", ".modelfn", "data folder (as given to modelfn serve)")
	cmd.Flags().BoolVar(&once, "once", false, "run one pass and exit (default: run on the schedule)")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the whole result as JSON")
	cmd.Flags().DurationVar(&every, "every", 0, "schedule (default: the bundle's monitoring.interval)")
	return cmd
}
