// Command modelfn turns a trained model into serverless functions: it
// builds bundles, serves them locally, and builds, generates and deploys
// them to AWS Lambda, Google Cloud Functions and Azure Functions.
package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	_ "github.com/modelfn/modelfn/runtime/formats" // every model format
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	root, finish := newRoot()
	err := root.ExecuteContext(ctx)
	if ferr := finish(); err == nil {
		err = ferr
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "modelfn:", err)
		os.Exit(1)
	}
}

// newRoot is the command tree; finish ends what a run started across
// commands (the --cpu-profile), to be called once it returns.
func newRoot() (root *cobra.Command, finish func() error) {
	var (
		verbose bool
		prof    cpuProfile
	)
	root = &cobra.Command{
		Use:   "modelfn",
		Short: "Turn a trained model into serverless predict, batch and monitor functions",
		Long: `modelfn packages a trained model (XGBoost JSON, ONNX) into a bundle and runs it as
three functions: predict (HTTP), batch (an object lands, it is scored) and monitor
(scheduled: logged predictions -> drift -> metrics and alarms).

Start here:
  modelfn init --model model.json --reference train.csv --target label --name churn
  modelfn serve --bundle churn          # all three functions on this machine
  modelfn deploy --cloud aws --bundle churn`,
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRunE: func(cmd *cobra.Command, args []string) error {
			level := slog.LevelInfo
			if verbose {
				level = slog.LevelDebug
			}
			slog.SetDefault(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level})))
			return prof.start()
		},
	}
	root.PersistentFlags().BoolVarP(&verbose, "verbose", "v", false, "debug logging")
	root.PersistentFlags().StringVar(&prof.path, "cpu-profile", "", "write a CPU profile of the command to this `file` (go tool pprof reads it; make pgo uses it)")
	root.AddCommand(newInitCmd(), newServeCmd(), newPredictCmd(), newMonitorCmd(), newDriftCmd(),
		newBuildCmd(), newGenerateCmd(), newDeployCmd(), newDestroyCmd())
	return root, prof.stop
}
