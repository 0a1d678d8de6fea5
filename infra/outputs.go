package infra

import (
	"fmt"
	"sort"

	"github.com/modelfn/modelfn/infra/terraform"
)

// Outputs are what every cloud's module reports after apply, for a
// person and for the CLI's next steps.
type Outputs struct {
	PredictURL    string            // the prediction endpoint
	PredictAuth   string            // AWS_IAM, IAM, FUNCTION_KEY or NONE
	LogsBucket    string            // predictions/, labels/, monitor/
	BatchBucket   string            // input/, output/, errors/
	BatchInputURL string            // where to upload files to score
	MetricsURL    string            // MODELFN_METRICS_URL of the monitor
	Functions     map[string]string // role -> function name
	AlarmNames    []string
	// Other holds the cloud-specific outputs (sensitive ones included,
	// e.g. Azure's predict_key), as Terraform gave them.
	Other map[string]terraform.Output
}

// DecodeOutputs reads a deployment's `terraform output`.
func DecodeOutputs(out map[string]terraform.Output) (Outputs, error) {
	o := Outputs{Other: map[string]terraform.Output{}}
	strs := map[string]*string{
		"predict_url":     &o.PredictURL,
		"predict_auth":    &o.PredictAuth,
		"logs_bucket":     &o.LogsBucket,
		"batch_bucket":    &o.BatchBucket,
		"batch_input_url": &o.BatchInputURL,
		"metrics_url":     &o.MetricsURL,
	}
	for name, v := range out {
		var err error
		switch {
		case strs[name] != nil:
			err = v.Decode(strs[name])
		case name == "functions":
			err = v.Decode(&o.Functions)
		case name == "alarm_names":
			err = v.Decode(&o.AlarmNames)
		default:
			o.Other[name] = v
		}
		if err != nil {
			return o, fmt.Errorf("terraform output %s: %w", name, err)
		}
	}
	var missing []string
	for name, p := range strs {
		if *p == "" {
			missing = append(missing, name)
		}
	}
	if len(missing) > 0 {
		sort.Strings(missing)
		return o, fmt.Errorf("terraform outputs lack %v: is this a modelfn deployment, applied?", missing)
	}
	return o, nil
}
