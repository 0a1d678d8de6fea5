package main

import (
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/modelfn/modelfn/functions"
	"github.com/modelfn/modelfn/functions/batch"
	"github.com/modelfn/modelfn/providers/local"
	"github.com/modelfn/modelfn/runtime/bundle"
)

func newServeCmd() *cobra.Command {
	var bundleDir, addr, data string
	var watch, monitorEvery time.Duration
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run predict, batch and monitor locally on the filesystem",
		Long: `Serve runs all three functions on this machine, with a data folder standing in
for the cloud's buckets:

  predict   HTTP on --addr: POST /predict, POST /v2/models/NAME/infer, GET /v2/health/ready
  batch     drop a .csv or .jsonl file into DATA/input/: it is scored into DATA/output/
  monitor   every monitoring.interval (or --monitor-every): drift from the prediction
            log in DATA/predictions/, alarms printed and written to DATA/monitoring/

Ctrl-C stops it gracefully: requests in flight finish and the prediction log is flushed.`,
		Example: `  modelfn serve --bundle examples/breast-cancer/bundle --addr 127.0.0.1:8080
  curl -s -H 'Content-Type: application/json' -d @examples/breast-cancer/request.json localhost:8080/predict`,
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, err := local.Config(bundleDir, data)
			if err != nil {
				return err
			}
			app, err := functions.New(cmd.Context(), cfg, slog.Default())
			if err != nil {
				return err
			}
			return local.Serve(cmd.Context(), app, local.Options{Addr: addr, DataDir: data, WatchInterval: watch, MonitorInterval: monitorEvery})
		},
	}
	cmd.Flags().StringVar(&bundleDir, "bundle", ".", "bundle folder (holding modelfn.yaml)")
	cmd.Flags().StringVar(&addr, "addr", "127.0.0.1:8080", "listen address (anything but loopback lets other machines call it, unauthenticated)")
	cmd.Flags().StringVar(&data, "data", ".modelfn", "data folder standing in for the buckets")
	cmd.Flags().DurationVar(&watch, "watch-every", time.Second, "how often DATA/input/ is checked for new files")
	cmd.Flags().DurationVar(&monitorEvery, "monitor-every", 0, "run the monitor this often (default: the bundle's monitoring.interval)")
	return cmd
}

func newPredictCmd() *cobra.Command {
	var bundleDir, input, output string
	cmd := &cobra.Command{
		Use:   "predict",
		Short: "Score a CSV or JSON Lines file offline",
		Long: `Predict scores a file with the bundle's model, writing the same rows plus
prediction columns. Rows that fail validation are listed, with their line numbers,
in OUTPUT.errors.jsonl; the good rows are still scored. The output is written to a
temporary file and renamed, so it appears whole or not at all.`,
		Example: `  modelfn predict --bundle examples/breast-cancer/bundle --input examples/breast-cancer/holdout.csv --output scored.csv`,
		RunE: func(cmd *cobra.Command, args []string) error {
			b, err := bundle.Load(bundleDir)
			if err != nil {
				return err
			}
			m, err := b.Model()
			if err != nil {
				return err
			}
			format := "csv"
			if ext := strings.ToLower(filepath.Ext(input)); ext == ".jsonl" || ext == ".ndjson" {
				format = "jsonl"
			}
			in, err := os.Open(input)
			if err != nil {
				return err
			}
			defer in.Close()
			out, err := os.CreateTemp(filepath.Dir(output), "."+filepath.Base(output)+".*")
			if err != nil {
				return err
			}
			defer os.Remove(out.Name())
			var errFile *os.File
			errPath := output + ".errors.jsonl"
			sc := &batch.Scorer{Model: m, Schema: b.Schema, ChunkRows: b.Config.Batch.ChunkRows,
				Progress: progress(cmd, "rows")}
			res, err := sc.Stream(cmd.Context(), in, format, out, func() (w io.Writer, err error) {
				errFile, err = os.Create(errPath)
				return errFile, err
			})
			fmt.Fprintln(cmd.ErrOrStderr())
			if errFile != nil {
				errFile.Close()
			}
			if err != nil {
				return fmt.Errorf("%s: %w", input, err)
			}
			if err := out.Close(); err != nil {
				return err
			}
			if err := os.Rename(out.Name(), output); err != nil {
				return err
			}
			if errFile == nil {
				os.Remove(errPath) // a stale one from an earlier run
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s: %d rows, %d scored into %s", input, res.Rows, res.Scored, output)
			if res.Failed > 0 {
				fmt.Fprintf(cmd.OutOrStdout(), ", %d failed (see %s)", res.Failed, errPath)
			}
			fmt.Fprintln(cmd.OutOrStdout())
			return nil
		},
	}
	cmd.Flags().StringVar(&bundleDir, "bundle", ".", "bundle folder")
	cmd.Flags().StringVar(&input, "input", "", "CSV (header first) or JSON Lines file to score")
	cmd.Flags().StringVar(&output, "output", "", "where to write the scored rows")
	cmd.MarkFlagRequired("input")
	cmd.MarkFlagRequired("output")
	return cmd
}

// progress prints a running count to stderr when it is a terminal.
func progress(cmd *cobra.Command, what string) func(int64) {
	st, err := os.Stderr.Stat()
	if err != nil || st.Mode()&os.ModeCharDevice == 0 {
		return nil
	}
	return func(n int64) { fmt.Fprintf(cmd.ErrOrStderr(), "\r%d %s", n, what) }
}
