package infra_test

import (
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"

	"github.com/modelfn/modelfn/infra"
)

// statement is one statement of an aws_iam_policy_document.
type statement struct {
	doc, sid, effect string
	actions          []string
	resources        string // source text
}

func policyStatements(t *testing.T, m *tfDir) []statement {
	t.Helper()
	var out []statement
	for _, doc := range m.all("data", "aws_iam_policy_document") {
		for _, s := range nested(doc, "statement") {
			st := statement{doc: doc.Labels[1], effect: "Allow", resources: m.attrText(s, "resources")}
			if _, ok := s.Body.Attributes["sid"]; ok {
				st.sid = m.eval(s, "sid", nil).AsString()
			}
			if _, ok := s.Body.Attributes["effect"]; ok {
				st.effect = m.eval(s, "effect", nil).AsString()
			}
			st.actions = strs(m.eval(s, "actions", nil))
			out = append(out, st)
		}
	}
	return out
}

func TestAWSModule(t *testing.T) {
	t.Parallel()
	cfg := configFor(t, infra.AWS)
	dir := generate(t, cfg)
	m := parseDir(t, filepath.Join(dir, "modules", "aws"))
	ctx := vars(t, dir, nil)
	public := vars(t, dir, map[string]cty.Value{"public": cty.True})

	t.Run("buckets are private, encrypted, versioned and TLS only", func(t *testing.T) {
		m := m.with(t)
		if got := strs(m.local("buckets", ctx)); !reflect.DeepEqual(got, []string{"artifacts", "batch", "logs"}) {
			t.Fatalf("buckets = %v", got)
		}
		for _, typ := range []string{"aws_s3_bucket", "aws_s3_bucket_public_access_block", "aws_s3_bucket_ownership_controls",
			"aws_s3_bucket_versioning", "aws_s3_bucket_server_side_encryption_configuration", "aws_s3_bucket_policy"} {
			if got := m.attrText(m.one("resource", typ, "this"), "for_each"); got != "local.buckets" {
				t.Errorf("%s covers %q, not every bucket", typ, got)
			}
		}
		pab := m.one("resource", "aws_s3_bucket_public_access_block", "this")
		for _, a := range []string{"block_public_acls", "block_public_policy", "ignore_public_acls", "restrict_public_buckets"} {
			if !m.eval(pab, a, nil).True() {
				t.Errorf("public access block %s is not true", a)
			}
		}
		own := nested(m.one("resource", "aws_s3_bucket_ownership_controls", "this"), "rule")[0]
		if got := m.eval(own, "object_ownership", nil).AsString(); got != "BucketOwnerEnforced" {
			t.Errorf("object ownership %s: ACLs still apply", got)
		}
		ver := nested(m.one("resource", "aws_s3_bucket_versioning", "this"), "versioning_configuration")[0]
		if got := m.eval(ver, "status", nil).AsString(); got != "Enabled" {
			t.Errorf("versioning %s", got)
		}
		sse := nested(nested(m.one("resource", "aws_s3_bucket_server_side_encryption_configuration", "this"), "rule")[0], "apply_server_side_encryption_by_default")[0]
		if got := m.eval(sse, "sse_algorithm", nil).AsString(); got != "aws:kms" {
			t.Errorf("encryption %s, want aws:kms with the deployment's key", got)
		}
		if got := m.attrText(sse, "kms_master_key_id"); got != "aws_kms_key.this.arn" {
			t.Errorf("encryption key %s", got)
		}
		if !m.eval(m.one("resource", "aws_kms_key", "this"), "enable_key_rotation", nil).True() {
			t.Error("key rotation off")
		}
		var tls bool
		for _, s := range policyStatements(t, m) {
			if s.doc == "tls_only" && s.effect == "Deny" {
				tls = true
			}
		}
		if !tls || m.attrText(m.one("resource", "aws_s3_bucket_policy", "this"), "policy") != "data.aws_iam_policy_document.tls_only[each.key].json" {
			t.Error("no bucket policy denying insecure transport")
		}
		// Logged predictions expire after the retention.
		lc := m.one("resource", "aws_s3_bucket_lifecycle_configuration", "logs")
		var expires bool
		for _, r := range nested(lc, "rule") {
			for _, f := range nested(r, "filter") {
				if _, ok := f.Body.Attributes["prefix"]; ok && m.eval(f, "prefix", nil).AsString() == "predictions/" {
					exp := nested(r, "expiration")[0]
					expires = m.eval(exp, "days", ctx).RawEquals(cty.NumberIntVal(90))
				}
			}
		}
		if !expires {
			t.Error("predictions/ does not expire after prediction_retention_days")
		}
	})

	t.Run("no wildcard actions and one role per function", func(t *testing.T) {
		m := m.with(t)
		stmts := policyStatements(t, m)
		for _, s := range stmts {
			if s.effect != "Allow" {
				continue
			}
			for _, a := range s.actions {
				if strings.Contains(a, "*") && !(s.doc == "key" && s.sid == "AccountAdministers") {
					t.Errorf("%s/%s allows wildcard action %q", s.doc, s.sid, a)
				}
			}
			if strings.Contains(s.resources, `"*"`) && s.doc != "key" && s.sid != "PublishMetrics" {
				t.Errorf("%s/%s allows every resource", s.doc, s.sid)
			}
		}
		// The key's administrator is the account itself (AWS's default key policy).
		for _, d := range m.all("data", "aws_iam_policy_document") {
			if d.Labels[1] != "key" {
				continue
			}
			for _, s := range nested(d, "statement") {
				if m.eval(s, "sid", nil).AsString() == "AccountAdministers" &&
					!strings.Contains(m.attrText(nested(s, "principals")[0], "identifiers"), ":root") {
					t.Error("kms:* granted to someone other than the account root")
				}
			}
		}
		if got := strs(m.local("functions", ctx)); !reflect.DeepEqual(got, []string{"batch", "monitor", "predict"}) {
			t.Fatalf("functions = %v", got)
		}
		if got := m.attrText(m.one("resource", "aws_iam_role", "function"), "for_each"); got != "local.functions" {
			t.Errorf("roles for_each %s: want one per function", got)
		}
		if got := m.attrText(m.one("resource", "aws_lambda_function", "this"), "role"); got != "aws_iam_role.function[each.key].arn" {
			t.Errorf("function role = %s: want its own", got)
		}
		pol := m.one("resource", "aws_iam_role_policy", "function")
		if m.attrText(pol, "policy") != "local.function_policies[each.key]" {
			t.Errorf("role policy = %s", m.attrText(pol, "policy"))
		}
		// Each function's own document, and what only it may do.
		actions := map[string]map[string]string{} // doc -> action -> resources
		for _, s := range stmts {
			if s.effect != "Allow" {
				continue
			}
			if actions[s.doc] == nil {
				actions[s.doc] = map[string]string{}
			}
			for _, a := range s.actions {
				actions[s.doc][a] += s.resources
			}
		}
		for _, fn := range []string{"predict", "batch", "monitor"} {
			if actions[fn] == nil {
				t.Fatalf("no policy document for %s", fn)
			}
		}
		if _, ok := actions["predict"]["s3:GetObject"]; ok {
			t.Error("predict may read objects")
		}
		if r := actions["predict"]["s3:PutObject"]; !strings.Contains(r, "/predictions/*") || strings.Contains(r, "batch") {
			t.Errorf("predict writes %s: want only predictions/ of the logs bucket", r)
		}
		if r := actions["batch"]["s3:GetObject"]; !strings.Contains(r, "/input/*") || strings.Contains(r, "output") {
			t.Errorf("batch reads %s: want only input/", r)
		}
		for doc, acts := range actions {
			if r, ok := acts["s3:DeleteObject"]; ok && (doc != "batch" || strings.Contains(r, "input") || strings.Contains(r, "output")) {
				t.Errorf("%s may delete %s", doc, r)
			}
			if _, ok := acts["cloudwatch:PutMetricData"]; ok && doc != "monitor" {
				t.Errorf("%s may publish metrics", doc)
			}
		}
		if _, ok := actions["monitor"]["cloudwatch:PutMetricData"]; !ok {
			t.Error("monitor cannot publish metrics")
		}
	})

	t.Run("prediction endpoint needs IAM unless public", func(t *testing.T) {
		m := m.with(t)
		url := m.one("resource", "aws_lambda_function_url", "predict")
		if got := m.eval(url, "authorization_type", ctx).AsString(); got != "AWS_IAM" {
			t.Errorf("default authorization %s, want AWS_IAM", got)
		}
		if got := m.eval(url, "authorization_type", public).AsString(); got != "NONE" {
			t.Errorf("public authorization %s, want NONE", got)
		}
		for _, p := range m.all("resource", "aws_lambda_permission") {
			if m.eval(p, "principal", nil).AsString() != "*" {
				continue
			}
			if n := m.eval(p, "count", ctx); !n.RawEquals(cty.NumberIntVal(0)) {
				t.Errorf("permission %s for everyone exists by default", p.Labels[1])
			}
			if n := m.eval(p, "count", public); !n.RawEquals(cty.NumberIntVal(1)) {
				t.Errorf("permission %s missing when public", p.Labels[1])
			}
		}
		inv := m.one("resource", "aws_lambda_permission", "public_invoke")
		if !m.eval(inv, "invoked_via_function_url", nil).True() {
			t.Error("public InvokeFunction not limited to the function URL")
		}
	})

	t.Run("batch runs on input/ with an on-failure destination", func(t *testing.T) {
		m := m.with(t)
		n := nested(m.one("resource", "aws_s3_bucket_notification", "batch"), "lambda_function")[0]
		if got := m.eval(n, "filter_prefix", nil).AsString(); got != "input/" {
			t.Errorf("notification prefix %q", got)
		}
		if got := strs(m.eval(n, "events", nil)); !reflect.DeepEqual(got, []string{"s3:ObjectCreated:*"}) {
			t.Errorf("events %v", got)
		}
		dc := nested(m.one("resource", "aws_lambda_function_event_invoke_config", "batch"), "destination_config")[0]
		if got := m.attrText(nested(dc, "on_failure")[0], "destination"); got != "aws_sqs_queue.failures.arn" {
			t.Errorf("on failure -> %s", got)
		}
		if m.attrText(m.one("resource", "aws_sqs_queue", "failures"), "kms_master_key_id") == "" {
			t.Error("failure queue not encrypted")
		}
	})

	t.Run("monitor schedule", func(t *testing.T) {
		m := m.with(t)
		if got := m.local("monitor_schedule", ctx).AsString(); got != "rate(60 minutes)" {
			t.Errorf("schedule %q", got)
		}
		one := vars(t, dir, map[string]cty.Value{"monitor_interval_minutes": cty.NumberIntVal(1)})
		if got := m.local("monitor_schedule", one).AsString(); got != "rate(1 minute)" {
			t.Errorf("1-minute schedule %q", got)
		}
		target := nested(m.one("resource", "aws_scheduler_schedule", "monitor"), "target")[0]
		if m.attrText(target, "arn") != `aws_lambda_function.this["monitor"].arn` || len(nested(target, "dead_letter_config")) != 1 {
			t.Error("schedule does not target the monitor with a dead-letter queue")
		}
	})

	t.Run("alarms", func(t *testing.T) {
		m := m.with(t)
		if got := m.local("metrics_namespace", ctx).AsString(); got != "ModelFn" {
			t.Errorf("namespace %s", got)
		}
		dims := m.local("metric_dimensions", ctx)
		if dims.GetAttr("model").AsString() != "breast-cancer" || dims.GetAttr("version").AsString() != "3" {
			t.Errorf("dimensions %#v", dims)
		}
		var names []string
		for k := range m.local("model_alarms", ctx).AsValueMap() {
			names = append(names, k)
		}
		if got := sorted(names); !reflect.DeepEqual(got, []string{"data_quality_issues", "drift_share"}) {
			t.Errorf("model alarms %v", got)
		}
		// performance_drop is published with the primary metric's name as a
		// dimension: one alarm per name, narrowed to the bundle's when known.
		pd := m.one("resource", "aws_cloudwatch_metric_alarm", "performance_drop")
		if m.attrText(pd, "for_each") != "toset(var.performance_metrics)" || !strings.Contains(m.attrText(pd, "dimensions"), "metric = each.key") {
			t.Error("performance alarm does not match the metric dimension")
		}
		if got := strs(ctx.Variables["var"].GetAttr("performance_metrics")); !reflect.DeepEqual(got, []string{"roc_auc"}) {
			t.Errorf("performance_metrics = %v, want the bundle's roc_auc", got)
		}
		checkPerFeature(t, m, m.one("resource", "aws_cloudwatch_metric_alarm", "feature_drift"), ctx)
		fd := m.one("resource", "aws_cloudwatch_metric_alarm", "feature_drift")
		if m.eval(fd, "metric_name", nil).AsString() != "feature_drifted" || !strings.Contains(m.attrText(fd, "dimensions"), "feature = each.key") {
			t.Error("feature alarm does not watch feature_drifted for its feature")
		}
		lat := m.one("resource", "aws_cloudwatch_metric_alarm", "predict_latency")
		if m.eval(lat, "extended_statistic", nil).AsString() != "p99" || m.eval(lat, "metric_name", nil).AsString() != "Duration" {
			t.Error("latency alarm is not p99 of Duration")
		}
		errs := m.one("resource", "aws_cloudwatch_metric_alarm", "predict_errors")
		if m.eval(errs, "metric_name", nil).AsString() != "Errors" || !strings.Contains(m.attrText(errs, "dimensions"), `["predict"]`) {
			t.Error("no alarm on the predict function's errors")
		}
		for _, a := range m.all("resource", "aws_cloudwatch_metric_alarm") {
			if m.attrText(a, "alarm_actions") != "local.alarm_actions" {
				t.Errorf("alarm %s notifies nobody", a.Labels[1])
			}
		}
		email := m.one("resource", "aws_sns_topic_subscription", "email")
		if !m.eval(email, "count", ctx).RawEquals(cty.NumberIntVal(1)) {
			t.Error("no e-mail subscription although an address was given")
		}
		if !m.eval(email, "count", vars(t, dir, map[string]cty.Value{"alarm_email": cty.StringVal("")})).RawEquals(cty.NumberIntVal(0)) {
			t.Error("e-mail subscription without an address")
		}
	})

	t.Run("log groups have retention", func(t *testing.T) {
		m := m.with(t)
		lg := m.one("resource", "aws_cloudwatch_log_group", "function")
		if m.attrText(lg, "for_each") != "local.functions" || !m.eval(lg, "retention_in_days", ctx).RawEquals(cty.NumberIntVal(30)) {
			t.Error("log groups lack retention or do not cover every function")
		}
	})
}

// checkPerFeature: one alarm per configured feature.
func checkPerFeature(t *testing.T, m *tfDir, b *hclsyntax.Block, ctx *hcl.EvalContext) {
	t.Helper()
	if got := m.attrText(b, "for_each"); got != "toset(var.features)" {
		t.Errorf("%v for_each %s: want one per feature", b.Labels, got)
	}
	if got := strs(ctx.Variables["var"].GetAttr("features")); len(got) != len(features) {
		t.Errorf("features %v", got)
	}
}
