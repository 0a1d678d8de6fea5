package infra_test

import (
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/zclconf/go-cty/cty"

	"github.com/modelfn/modelfn/infra"
)

func TestAzureModule(t *testing.T) {
	t.Parallel()
	cfg := configFor(t, infra.Azure)
	dir := generate(t, cfg)
	m := parseDir(t, filepath.Join(dir, "modules", "azure"))
	ctx := vars(t, dir, nil)
	public := vars(t, dir, map[string]cty.Value{"public": cty.True})

	t.Run("storage: no keys, no public blobs, TLS 1.2, HTTPS, versioned data", func(t *testing.T) {
		m := m.with(t)
		for _, name := range []string{"data", "runtime"} {
			a := m.one("resource", "azurerm_storage_account", name)
			if got := m.eval(a, "min_tls_version", nil).AsString(); got != "TLS1_2" {
				t.Errorf("%s: TLS %s", name, got)
			}
			for attr, want := range map[string]bool{
				"https_traffic_only_enabled": true, "allow_nested_items_to_be_public": false,
				"shared_access_key_enabled": false, "infrastructure_encryption_enabled": true,
			} {
				if got := m.eval(a, attr, nil).True(); got != want {
					t.Errorf("%s: %s = %v", name, attr, got)
				}
			}
		}
		bp := nested(m.one("resource", "azurerm_storage_account", "data"), "blob_properties")[0]
		if !m.eval(bp, "versioning_enabled", nil).True() || len(nested(bp, "delete_retention_policy")) != 1 {
			t.Error("data account without versioning or soft delete")
		}
		for _, c := range m.all("resource", "azurerm_storage_container") {
			if got := m.eval(c, "container_access_type", nil).AsString(); got != "private" {
				t.Errorf("container %s is %s", c.Labels[1], got)
			}
		}
		pol := m.one("resource", "azurerm_storage_management_policy", "data")
		if !strings.Contains(string(m.src[pol.Range().Filename][pol.Range().Start.Byte:pol.Range().End.Byte]), `prefix_match = ["logs/predictions/"]`) {
			t.Error("predictions/ has no expiry")
		}
	})

	t.Run("one identity per function, roles on containers", func(t *testing.T) {
		m := m.with(t)
		app := m.one("resource", "azurerm_function_app_flex_consumption", "this")
		if m.attrText(app, "for_each") != "local.functions" {
			t.Error("not one app (and identity) per function")
		}
		if got := m.eval(nested(app, "identity")[0], "type", nil).AsString(); got != "SystemAssigned" {
			t.Errorf("identity %s", got)
		}
		if !m.eval(app, "https_only", nil).True() || m.eval(nested(app, "site_config")[0], "minimum_tls_version", nil).AsString() != "1.2" {
			t.Error("app accepts plain HTTP or old TLS")
		}
		if m.eval(app, "storage_authentication_type", nil).AsString() != "SystemAssignedIdentity" || !m.eval(app, "function_app_storage_uses_managed_identity", nil).True() {
			t.Error("app reaches its storage with keys")
		}
		if m.eval(app, "runtime_name", nil).AsString() != "custom" {
			t.Error("not a custom handler")
		}
		if !strings.Contains(m.attrText(app, "app_settings"), `"AzureWebJobs.${other}.Disabled" => "true" if other != each.key`) {
			t.Error("apps do not disable the other functions")
		}
		// Where each role may be assigned.
		allowedScopes := []string{"azurerm_storage_container.", "azurerm_storage_queue.", "azurerm_storage_account.runtime.id", "azurerm_monitor_data_collection_rule.metrics.id", "azurerm_application_insights.this.id"}
		for _, r := range m.all("resource", "azurerm_role_assignment") {
			scope := m.attrText(r, "scope")
			if scope == "each.value.id" {
				scope = m.attrText(r, "for_each")
			}
			ok := false
			for _, a := range allowedScopes {
				ok = ok || strings.HasPrefix(scope, a)
			}
			if !ok {
				t.Errorf("role assignment %s scoped to %s", r.Labels[1], scope)
			}
			if name := m.attrText(r, "role_definition_name"); name == `"Owner"` || name == `"Contributor"` {
				t.Errorf("role assignment %s grants %s", r.Labels[1], name)
			}
		}
		type role struct{ container, role string }
		got := map[string][]role{}
		for _, r := range m.local("data_roles", ctx).AsValueMap() {
			fn := r.GetAttr("fn").AsString()
			got[fn] = append(got[fn], role{r.GetAttr("container").AsString(), r.GetAttr("role").AsString()})
		}
		for _, rs := range got {
			for i := range rs {
				for j := i + 1; j < len(rs); j++ {
					if rs[j].container+rs[j].role < rs[i].container+rs[i].role {
						rs[i], rs[j] = rs[j], rs[i]
					}
				}
			}
		}
		want := map[string][]role{
			"predict": {{"logs", "writer"}},
			"batch":   {{"batch", "Storage Blob Data Contributor"}, {"logs", "writer"}},
			"monitor": {{"logs", "Storage Blob Data Reader"}, {"logs", "writer"}},
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("data roles\n got %v\nwant %v", got, want)
		}
		writer := nested(m.one("resource", "azurerm_role_definition", "blob_writer"), "permissions")[0]
		for _, a := range strs(m.eval(writer, "data_actions", nil)) {
			if strings.Contains(a, "*") || strings.HasSuffix(a, "/read") || strings.HasSuffix(a, "/delete") {
				t.Errorf("writer role may %s", a)
			}
		}
		metrics := m.one("resource", "azurerm_role_assignment", "metrics")
		if !strings.Contains(m.attrText(metrics, "principal_id"), `["monitor"]`) {
			t.Error("metrics publisher is not the monitor")
		}
	})

	t.Run("prediction needs a function key unless public", func(t *testing.T) {
		m := m.with(t)
		var auth *ctyBlock
		for _, o := range m.all("output", "predict_auth") {
			auth = &ctyBlock{m.eval(o, "value", ctx), m.eval(o, "value", public)}
		}
		if auth == nil || auth.def.AsString() != "FUNCTION_KEY" || auth.pub.AsString() != "NONE" {
			t.Errorf("predict_auth = %v", auth)
		}
		if len(m.all("data", "azurerm_function_app_host_keys")) != 1 {
			t.Error("the function key is not read back for the caller")
		}
	})

	t.Run("batch: Event Grid queues input/ events for the batch function", func(t *testing.T) {
		m := m.with(t)
		sub := m.one("resource", "azurerm_eventgrid_system_topic_event_subscription", "batch")
		if got := m.attrText(nested(sub, "subject_filter")[0], "subject_begins_with"); !strings.HasSuffix(got, `/blobs/input/"`) {
			t.Errorf("subject filter %s", got)
		}
		if got := strs(m.eval(sub, "included_event_types", nil)); !reflect.DeepEqual(got, []string{"Microsoft.Storage.BlobCreated"}) {
			t.Errorf("event types %v", got)
		}
		q := nested(sub, "storage_queue_endpoint")
		if len(q) != 1 || m.attrText(q[0], "queue_name") != `azurerm_storage_queue.batch["modelfn-batch"].name` {
			t.Error("events do not go to the modelfn-batch queue")
		}
		if len(nested(sub, "storage_blob_dead_letter_destination")) != 1 {
			t.Error("no dead-letter destination")
		}
		// The names providers/azure's function.json uses.
		if got := strs(m.eval(m.one("resource", "azurerm_storage_queue", "batch"), "for_each", ctx)); !reflect.DeepEqual(got, []string{"modelfn-batch", "modelfn-batch-poison"}) {
			t.Errorf("queues %v", got)
		}
		app := m.one("resource", "azurerm_function_app_flex_consumption", "this")
		if !strings.Contains(strings.Join(strings.Fields(m.attrText(app, "app_settings")), " "), "MODELFN_STORAGE__queueServiceUri = azurerm_storage_account.data.primary_queue_endpoint") {
			t.Error("the queue trigger's connection MODELFN_STORAGE is not set")
		}
		bq := m.one("resource", "azurerm_role_assignment", "batch_queues")
		if !strings.Contains(m.attrText(bq, "principal_id"), `["batch"]`) {
			t.Error("the queues are not the batch function's")
		}
	})

	t.Run("metrics table, rule and alerts", func(t *testing.T) {
		m := m.with(t)
		var cols []string
		for _, c := range m.local("metrics_columns", ctx).AsValueSlice() {
			cols = append(cols, c.GetAttr("name").AsString())
		}
		if want := []string{"TimeGenerated", "Name", "Value", "Model", "Version", "Feature", "Labels"}; !reflect.DeepEqual(cols, want) {
			t.Errorf("columns %v, want %v", cols, want)
		}
		if got := m.local("metrics_stream", ctx).AsString(); got != "Custom-ModelFnMetrics_CL" {
			t.Errorf("stream %s", got)
		}
		var env string
		for _, l := range m.all("locals", "") {
			env += m.attrText(l, "environment")
		}
		if !strings.Contains(env, "azuremonitor://") || !strings.Contains(env, "rule=${azurerm_monitor_data_collection_rule.metrics.immutable_id}") {
			t.Errorf("metrics URL %s", env)
		}
		var alerts []string
		for k := range m.local("model_alerts", ctx).AsValueMap() {
			alerts = append(alerts, k)
		}
		if got := sorted(alerts); !reflect.DeepEqual(got, []string{"data_quality_issues", "drift_share", "performance_drop"}) {
			t.Errorf("model alerts %v", got)
		}
		fd := m.one("resource", "azurerm_monitor_scheduled_query_rules_alert_v2", "feature_drift")
		checkPerFeature(t, m, fd, ctx)
		if q := m.attrText(nested(fd, "criteria")[0], "query"); !strings.Contains(q, "Feature == ${jsonencode(each.key)}") {
			t.Errorf("feature alert query %s", q)
		}
		if m.attrText(m.one("resource", "azurerm_monitor_scheduled_query_rules_alert_v2", "function_failures"), "for_each") != "local.functions" {
			t.Error("no failure alert per function")
		}
		lat := nested(m.one("resource", "azurerm_monitor_scheduled_query_rules_alert_v2", "predict_latency"), "criteria")[0]
		if !strings.Contains(m.attrText(lat, "query"), "percentile(DurationMs, 99)") {
			t.Error("latency alert is not p99")
		}
		if got := m.local("monitor_window", ctx).AsString(); got != "PT2H" {
			t.Errorf("window for hourly runs %s, want PT2H", got)
		}
		names, _ := monitoringMetrics(t)
		for _, n := range alerts {
			if !names[n] {
				t.Errorf("alert on %s, no metric the monitor publishes", n)
			}
		}
	})
}

// ctyBlock is an output's value by default and when public.
type ctyBlock struct{ def, pub cty.Value }
