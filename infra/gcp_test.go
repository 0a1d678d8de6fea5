package infra_test

import (
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"

	"github.com/modelfn/modelfn/infra"
)

func TestGCPModule(t *testing.T) {
	t.Parallel()
	cfg := configFor(t, infra.GCP)
	dir := generate(t, cfg)
	m := parseDir(t, filepath.Join(dir, "modules", "gcp"))
	ctx := vars(t, dir, nil)
	public := vars(t, dir, map[string]cty.Value{"public": cty.True})

	t.Run("buckets are private and versioned", func(t *testing.T) {
		m := m.with(t)
		b := m.one("resource", "google_storage_bucket", "this")
		if got := strs(m.eval(b, "for_each", ctx)); !reflect.DeepEqual(got, []string{"batch", "logs", "source"}) {
			t.Errorf("buckets %v", got)
		}
		if !m.eval(b, "uniform_bucket_level_access", nil).True() {
			t.Error("object ACLs allowed")
		}
		if got := m.eval(b, "public_access_prevention", nil).AsString(); got != "enforced" {
			t.Errorf("public access prevention %s", got)
		}
		if !m.eval(nested(b, "versioning")[0], "enabled", nil).True() {
			t.Error("versioning off")
		}
		if !strings.Contains(string(m.src[b.Range().Filename][b.Range().Start.Byte:b.Range().End.Byte]), `matches_prefix = ["predictions/"]`) {
			t.Error("predictions/ has no expiry")
		}
	})

	t.Run("one service account per function, its own prefixes only", func(t *testing.T) {
		m := m.with(t)
		fns := m.local("functions", ctx)
		var names []string
		for k := range fns.AsValueMap() {
			names = append(names, k)
		}
		if got := sorted(names); !reflect.DeepEqual(got, []string{"batch", "monitor", "predict"}) {
			t.Fatalf("functions %v", got)
		}
		if m.attrText(m.one("resource", "google_service_account", "function"), "for_each") != "local.functions" {
			t.Error("service accounts are not one per function")
		}
		sc := nested(m.one("resource", "google_cloudfunctions2_function", "this"), "service_config")[0]
		if got := m.attrText(sc, "service_account_email"); got != "google_service_account.function[each.key].email" {
			t.Errorf("function runs as %s", got)
		}
		// Bucket grants, with the bucket names stubbed.
		stub := &hcl.EvalContext{Variables: map[string]cty.Value{"local": cty.ObjectVal(map[string]cty.Value{
			"logs_bucket": cty.StringVal("LOGS"), "batch_bucket": cty.StringVal("BATCH"),
		})}}
		type grant struct{ bucket, role, prefixes string }
		got := map[string][]grant{}
		for _, g := range m.local("grants", stub).AsValueMap() {
			fn := g.GetAttr("fn").AsString()
			got[fn] = append(got[fn], grant{g.GetAttr("bucket").AsString(), g.GetAttr("role").AsString(), strings.Join(strs(g.GetAttr("prefixes")), ",")})
		}
		want := map[string][]grant{
			"predict": {{"LOGS", "roles/storage.objectUser", "predictions/"}},
			"batch":   {{"BATCH", "roles/storage.objectUser", "errors/,output/"}, {"BATCH", "roles/storage.objectViewer", "input/"}, {"LOGS", "roles/storage.objectUser", "predictions/"}},
			"monitor": {{"LOGS", "roles/storage.objectUser", "monitor/"}, {"LOGS", "roles/storage.objectViewer", "labels/,predictions/"}},
		}
		for fn := range got {
			g := got[fn]
			for i := range g {
				for j := i + 1; j < len(g); j++ {
					if g[j].bucket+g[j].role < g[i].bucket+g[i].role {
						g[i], g[j] = g[j], g[i]
					}
				}
			}
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("bucket grants\n got %v\nwant %v", got, want)
		}
		member := m.one("resource", "google_storage_bucket_iam_member", "function")
		if len(nested(member, "condition")) != 1 || !strings.Contains(m.attrText(nested(member, "condition")[0], "expression"), "resource.name.startsWith") {
			t.Error("function bucket grants are not limited by an object-name condition")
		}
		// Project-wide roles: only these, none of them broad.
		allowed := map[string]bool{"roles/monitoring.metricWriter": true, "roles/eventarc.eventReceiver": true, "roles/pubsub.publisher": true, "roles/logging.logWriter": true}
		for _, r := range m.all("resource", "google_project_iam_member") {
			if role := m.eval(r, "role", nil).AsString(); !allowed[role] {
				t.Errorf("project-wide role %s (%s)", role, r.Labels[1])
			}
		}
		if got := m.attrText(m.one("resource", "google_project_iam_member", "monitor_metrics"), "member"); !strings.Contains(got, `function["monitor"]`) {
			t.Errorf("metric writer is %s, want the monitor alone", got)
		}
	})

	t.Run("invokers: no allUsers unless public, internal triggers", func(t *testing.T) {
		m := m.with(t)
		for _, b := range m.blocks {
			if b.Type != "resource" {
				continue
			}
			member := m.attrText(b, "member")
			if !strings.Contains(member, "allUsers") && !strings.Contains(member, "allAuthenticatedUsers") {
				continue
			}
			if !m.eval(b, "count", ctx).RawEquals(cty.NumberIntVal(0)) {
				t.Errorf("%v grants %s by default", b.Labels, member)
			}
			if b.Labels[1] != "predict_public" || !m.eval(b, "count", public).RawEquals(cty.NumberIntVal(1)) {
				t.Errorf("%v: only predict_public may open the endpoint, and only when public", b.Labels)
			}
		}
		fns := m.local("functions", ctx).AsValueMap()
		for _, fn := range []string{"batch", "monitor"} {
			if got := fns[fn].GetAttr("ingress").AsString(); got != "ALLOW_INTERNAL_ONLY" {
				t.Errorf("%s ingress %s", fn, got)
			}
		}
		if got := fns["predict"].GetAttr("ingress").AsString(); got != "ALLOW_ALL" {
			t.Errorf("predict ingress %s (default: reachable, IAM-protected)", got)
		}
		job := m.one("resource", "google_cloud_scheduler_job", "monitor")
		oidc := nested(nested(job, "http_target")[0], "oidc_token")
		if len(oidc) != 1 || m.attrText(oidc[0], "service_account_email") != "google_service_account.scheduler.email" {
			t.Error("scheduler does not call the monitor with its own OIDC token")
		}
		if got := m.local("monitor_cron", ctx).AsString(); got != "0 */1 * * *" {
			t.Errorf("hourly cron %q", got)
		}
		for minutes, want := range map[int64]string{15: "*/15 * * * *", 360: "0 */6 * * *", 1440: "0 0 * * *"} {
			c := vars(t, dir, map[string]cty.Value{"monitor_interval_minutes": cty.NumberIntVal(minutes)})
			if got := m.local("monitor_cron", c).AsString(); got != want {
				t.Errorf("cron for %d minutes = %q, want %q", minutes, got, want)
			}
		}
		fn := m.one("resource", "google_cloudfunctions2_function", "this")
		src := string(m.src[fn.Range().Filename][fn.Range().Start.Byte:fn.Range().End.Byte])
		for _, want := range []string{`"google.cloud.storage.object.v1.finalized"`, `google_service_account.trigger.email`, `attribute = "bucket"`} {
			if !strings.Contains(src, want) {
				t.Errorf("batch trigger lacks %s", want)
			}
		}
		if got := m.eval(m.all("variable", "go_runtime")[0], "default", nil).AsString(); got != "go126" {
			t.Errorf("runtime %s", got)
		}
	})

	t.Run("metric descriptors and alert policies", func(t *testing.T) {
		m := m.with(t)
		names, label := monitoringMetrics(t)
		desc := m.local("metrics", ctx).AsValueMap()
		for n := range names {
			d, ok := desc[n]
			if !ok {
				t.Errorf("no descriptor for %s", n)
				continue
			}
			if got := d.GetAttr("label").AsString(); got != label[n] {
				t.Errorf("%s: extra label %q, the monitor publishes %q", n, got, label[n])
			}
		}
		for n := range desc {
			if !names[n] {
				t.Errorf("descriptor %s is no metric the monitor publishes", n)
			}
		}
		var alerts []string
		for k := range m.local("model_alerts", ctx).AsValueMap() {
			alerts = append(alerts, k)
		}
		if got := sorted(alerts); !reflect.DeepEqual(got, []string{"data_quality_issues", "drift_share", "performance_drop"}) {
			t.Errorf("model alerts %v", got)
		}
		fd := m.one("resource", "google_monitoring_alert_policy", "feature_drift")
		checkPerFeature(t, m, fd, ctx)
		if !strings.Contains(m.attrText(nested(nested(fd, "conditions")[0], "condition_threshold")[0], "filter"), "jsonencode(each.key)") {
			t.Error("feature alert does not filter on its feature")
		}
		errs := m.one("resource", "google_monitoring_alert_policy", "function_errors")
		if m.attrText(errs, "for_each") != "local.functions" {
			t.Error("no error alert per function")
		}
		lat := nested(nested(m.one("resource", "google_monitoring_alert_policy", "predict_latency"), "conditions")[0], "condition_threshold")[0]
		if !strings.Contains(m.attrText(nested(lat, "aggregations")[0], "cross_series_reducer"), "PERCENTILE_99") {
			t.Error("latency alert is not p99")
		}
		ch := m.one("resource", "google_monitoring_notification_channel", "email")
		if !m.eval(ch, "count", ctx).RawEquals(cty.NumberIntVal(1)) {
			t.Error("no e-mail channel although an address was given")
		}
	})

	t.Run("required APIs", func(t *testing.T) {
		m := m.with(t)
		apis := strs(m.eval(m.one("resource", "google_project_service", "this"), "for_each", ctx))
		for _, want := range []string{"cloudfunctions.googleapis.com", "run.googleapis.com", "cloudbuild.googleapis.com", "eventarc.googleapis.com", "cloudscheduler.googleapis.com", "monitoring.googleapis.com", "artifactregistry.googleapis.com"} {
			found := false
			for _, a := range apis {
				found = found || a == want
			}
			if !found {
				t.Errorf("API %s not enabled", want)
			}
		}
	})
}
