package main

import (
	"fmt"
	"os"
	"sort"

	"github.com/spf13/cobra"

	"github.com/modelfn/modelfn/infra"
	_ "github.com/modelfn/modelfn/providers/aws"   // the aws build
	_ "github.com/modelfn/modelfn/providers/azure" // the azure build
	"github.com/modelfn/modelfn/providers/deploy"
	_ "github.com/modelfn/modelfn/providers/gcp" // the gcp build
)

const cloudHelp = `
Clouds (settings come from the bundle's clouds section; flags override):
  aws     Lambda (arm64, provided.al2023) behind an IAM-authenticated Function URL,
          S3 buckets, an EventBridge schedule, CloudWatch metrics and alarms
  gcp     Cloud Functions 2nd gen (invoker restricted), Cloud Storage, Cloud
          Scheduler with OIDC, Cloud Monitoring metrics and alert policies
  azure   a Flex Consumption function app (function keys), Blob Storage, Event
          Grid, a timer, Azure Monitor rows and scheduled-query alerts

Credentials are your cloud CLI's usual ones (AWS_PROFILE, gcloud auth
application-default login, az login); modelfn only runs Terraform with them.`

// deployFlags are shared by build, generate, deploy and destroy.
func deployFlags(cmd *cobra.Command, o *deploy.Options) {
	f := cmd.Flags()
	f.StringVar(&o.Cloud, "cloud", "", "aws, gcp or azure")
	f.StringVar(&o.Bundle, "bundle", ".", "bundle folder")
	f.StringVar(&o.Dist, "dist", "dist", "where artifacts are built")
	f.StringVar(&o.Dir, "dir", "", "Terraform root module folder (default deploy/CLOUD/NAME)")
	f.StringVar(&o.Region, "region", "", "AWS or Google Cloud region")
	f.StringVar(&o.Project, "project", "", "Google Cloud project ID")
	f.StringVar(&o.Location, "location", "", "Azure region")
	f.StringVar(&o.Subscription, "subscription", "", "Azure subscription ID")
	f.BoolVar(&o.Public, "public", false, "serve predictions WITHOUT authentication (off by default)")
	f.StringVar(&o.AlarmEmail, "alarm-email", "", "send alarm notifications to this address")
	f.StringVar(&o.Terraform, "terraform", "", "terraform binary (default: on $PATH, or .bin/terraform)")
	cmd.MarkFlagRequired("cloud")
}

func newBuildCmd() *cobra.Command {
	var o deploy.Options
	cmd := &cobra.Command{
		Use:     "build --cloud CLOUD",
		Short:   "Build the deployable artifact for a cloud",
		Long:    "Build cross-compiles the function binary for the cloud and packs it with the bundle\n(a zip under --dist), then reports its size. Needs Go and modelfn's source.\n" + cloudHelp,
		Example: `  modelfn build --cloud aws --bundle examples/breast-cancer/bundle`,
		RunE: func(cmd *cobra.Command, args []string) error {
			o.Log = cmd.ErrOrStderr()
			a, err := deploy.Build(cmd.Context(), o)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s\t%d bytes\n", a.Path, a.Size)
			return nil
		},
	}
	deployFlags(cmd, &o)
	return cmd
}

func newGenerateCmd() *cobra.Command {
	var o deploy.Options
	cmd := &cobra.Command{
		Use:   "generate --cloud CLOUD",
		Short: "Write the Terraform root module for a deployment",
		Long: "Generate builds the artifact and writes a Terraform root module (main.tf, variables.tf\n" +
			"with the bundle's settings as defaults, outputs.tf, the cloud's module under modules/)\n" +
			"that you can review, keep in version control and apply yourself.\n" + cloudHelp,
		Example: `  modelfn generate --cloud gcp --project my-project --region europe-west1 --dir infra/churn`,
		RunE: func(cmd *cobra.Command, args []string) error {
			o.Log = cmd.ErrOrStderr()
			dir, err := deploy.Generate(cmd.Context(), o)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s\nnext: terraform -chdir=%s init && terraform -chdir=%s apply\n", dir, dir, dir)
			return nil
		},
	}
	deployFlags(cmd, &o)
	return cmd
}

func newDeployCmd() *cobra.Command {
	var o deploy.Options
	cmd := &cobra.Command{
		Use:   "deploy --cloud CLOUD",
		Short: "Build, generate and apply a deployment with Terraform",
		Long: "Deploy builds the artifact, writes the root module, runs terraform init and plan, asks\n" +
			"before applying (or --auto-approve), and prints the endpoint, buckets and alarms.\n" +
			"State stays in the root module's folder unless the bundle names a state bucket.\n" + cloudHelp,
		Example: `  modelfn deploy --cloud aws --region eu-west-1 --bundle examples/breast-cancer/bundle`,
		RunE: func(cmd *cobra.Command, args []string) error {
			o.Log = cmd.ErrOrStderr()
			if isTerminal(os.Stdin) {
				o.Approve = deploy.AskOn(os.Stdin, cmd.ErrOrStderr())
			}
			out, err := deploy.Deploy(cmd.Context(), o)
			if err != nil {
				return err
			}
			printOutputs(cmd, out)
			return nil
		},
	}
	deployFlags(cmd, &o)
	cmd.Flags().BoolVar(&o.AutoApprove, "auto-approve", false, "apply without asking")
	return cmd
}

func newDestroyCmd() *cobra.Command {
	var o deploy.Options
	cmd := &cobra.Command{
		Use:   "destroy --cloud CLOUD",
		Short: "Remove a deployment and everything it created",
		Long:  "Destroy runs terraform destroy on the deployment's root module, after asking (or\n--auto-approve). Buckets are removed with their contents.\n" + cloudHelp,
		RunE: func(cmd *cobra.Command, args []string) error {
			o.Log = cmd.ErrOrStderr()
			if isTerminal(os.Stdin) {
				o.Approve = deploy.AskOn(os.Stdin, cmd.ErrOrStderr())
			}
			return deploy.Destroy(cmd.Context(), o)
		},
	}
	deployFlags(cmd, &o)
	cmd.Flags().BoolVar(&o.AutoApprove, "auto-approve", false, "destroy without asking")
	return cmd
}

func printOutputs(cmd *cobra.Command, o infra.Outputs) {
	w := cmd.OutOrStdout()
	fmt.Fprintf(w, "predict:   %s (auth: %s)\n", o.PredictURL, o.PredictAuth)
	fmt.Fprintf(w, "batch:     upload to %s\n", o.BatchInputURL)
	fmt.Fprintf(w, "buckets:   logs %s, batch %s\n", o.LogsBucket, o.BatchBucket)
	roles := make([]string, 0, len(o.Functions))
	for r := range o.Functions {
		roles = append(roles, r)
	}
	sort.Strings(roles)
	for _, r := range roles {
		fmt.Fprintf(w, "function:  %s = %s\n", r, o.Functions[r])
	}
	for _, a := range o.AlarmNames {
		fmt.Fprintf(w, "alarm:     %s\n", a)
	}
}

func isTerminal(f *os.File) bool {
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
