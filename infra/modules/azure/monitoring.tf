# Log Analytics holds the functions' logs and requests (through
# workspace-based Application Insights) and the monitor's metrics: rows
# of the custom table ModelFnMetrics_CL sent through the Logs Ingestion
# API (data collection endpoint + rule). Scheduled-query alerts watch
# both and notify one action group.

locals {
  metrics_table  = "ModelFnMetrics_CL"
  metrics_stream = "Custom-${local.metrics_table}"

  metrics_columns = [
    { name = "TimeGenerated", type = "datetime" },
    { name = "Name", type = "string" },
    { name = "Value", type = "real" },
    { name = "Model", type = "string" },
    { name = "Version", type = "string" },
    { name = "Feature", type = "string" },
    { name = "Labels", type = "dynamic" },
  ]

  # Rows of this deployment's model and version.
  # jsonencode quotes and escapes a name as a KQL string literal.
  metrics_rows = "${local.metrics_table} | where Model == ${jsonencode(var.model_name)} and Version == ${jsonencode(var.model_version)}"

  # Alert windows: the smallest the service accepts that covers two
  # monitor runs (a run may land just after a window starts).
  windows = [
    { minutes = 15, iso = "PT15M" }, { minutes = 30, iso = "PT30M" }, { minutes = 45, iso = "PT45M" },
    { minutes = 60, iso = "PT1H" }, { minutes = 120, iso = "PT2H" }, { minutes = 180, iso = "PT3H" },
    { minutes = 240, iso = "PT4H" }, { minutes = 300, iso = "PT5H" }, { minutes = 360, iso = "PT6H" },
    { minutes = 1440, iso = "P1D" }, { minutes = 2880, iso = "P2D" },
  ]
  monitor_window = [for w in local.windows : w.iso if w.minutes >= 2 * var.monitor_interval_minutes][0]

  model_alerts = {
    drift_share = {
      description = "Share of drifted features reached ${var.drift_share_threshold}"
      operator    = "GreaterThanOrEqual"
      threshold   = var.drift_share_threshold
    }
    data_quality_issues = {
      description = "The monitor found data-quality issues (missing values, out-of-range values, unseen categories, type errors)"
      operator    = "GreaterThan"
      threshold   = 0
    }
    performance_drop = {
      description = "The primary metric dropped by ${var.performance_drop_threshold} or more of its reference value"
      operator    = "GreaterThanOrEqual"
      threshold   = var.performance_drop_threshold
    }
  }
}

resource "azurerm_log_analytics_workspace" "this" {
  name                = "${var.name}-logs"
  resource_group_name = azurerm_resource_group.this.name
  location            = azurerm_resource_group.this.location
  sku                 = "PerGB2018"
  retention_in_days   = var.log_retention_days
  tags                = var.tags
}

resource "azurerm_application_insights" "this" {
  name                          = "${var.name}-insights"
  resource_group_name           = azurerm_resource_group.this.name
  location                      = azurerm_resource_group.this.location
  workspace_id                  = azurerm_log_analytics_workspace.this.id
  application_type              = "other"
  local_authentication_disabled = true
  tags                          = var.tags
}

resource "azurerm_log_analytics_workspace_table_custom_log" "metrics" {
  name         = local.metrics_table
  workspace_id = azurerm_log_analytics_workspace.this.id
  display_name = "modelfn metrics"
  description  = "Drift, data-quality, performance and monitor-health metrics of modelfn deployments"
  plan         = "Analytics"

  dynamic "column" {
    for_each = local.metrics_columns
    content {
      name = column.value.name
      type = column.value.type
    }
  }
}

resource "azurerm_monitor_data_collection_endpoint" "this" {
  name                          = "${var.name}-dce"
  resource_group_name           = azurerm_resource_group.this.name
  location                      = azurerm_resource_group.this.location
  public_network_access_enabled = true
  description                   = "modelfn ${var.name}: Logs Ingestion endpoint for the monitor"
  tags                          = var.tags
}

resource "azurerm_monitor_data_collection_rule" "metrics" {
  name                        = "${var.name}-metrics"
  resource_group_name         = azurerm_resource_group.this.name
  location                    = azurerm_resource_group.this.location
  data_collection_endpoint_id = azurerm_monitor_data_collection_endpoint.this.id
  description                 = "modelfn ${var.name}: monitor metrics into ${local.metrics_table}"

  stream_declaration {
    stream_name = local.metrics_stream
    dynamic "column" {
      for_each = local.metrics_columns
      content {
        name = column.value.name
        type = column.value.type
      }
    }
  }

  destinations {
    log_analytics {
      name                  = "workspace"
      workspace_resource_id = azurerm_log_analytics_workspace.this.id
    }
  }

  data_flow {
    streams       = [local.metrics_stream]
    destinations  = ["workspace"]
    output_stream = local.metrics_stream
    transform_kql = "source"
  }

  tags = var.tags

  depends_on = [azurerm_log_analytics_workspace_table_custom_log.metrics]
}

resource "azurerm_monitor_action_group" "this" {
  name                = "${var.name}-alarms"
  resource_group_name = azurerm_resource_group.this.name
  short_name          = substr(replace(var.name, "-", ""), 0, 12)

  dynamic "email_receiver" {
    for_each = var.alarm_email == "" ? [] : [var.alarm_email]
    content {
      name                    = "email"
      email_address           = email_receiver.value
      use_common_alert_schema = true
    }
  }

  tags = var.tags
}

resource "azurerm_monitor_scheduled_query_rules_alert_v2" "model" {
  for_each             = local.model_alerts
  name                 = "${var.name}-${each.key}"
  resource_group_name  = azurerm_resource_group.this.name
  location             = azurerm_resource_group.this.location
  description          = "modelfn ${var.model_name} ${var.model_version}: ${each.value.description}"
  severity             = 2
  scopes               = [azurerm_log_analytics_workspace.this.id]
  evaluation_frequency = "PT15M"
  window_duration      = local.monitor_window

  criteria {
    query                   = "${local.metrics_rows} and Name == \"${each.key}\" | project TimeGenerated, Value"
    time_aggregation_method = "Maximum"
    metric_measure_column   = "Value"
    operator                = each.value.operator
    threshold               = each.value.threshold
    failing_periods {
      minimum_failing_periods_to_trigger_alert = 1
      number_of_evaluation_periods             = 1
    }
  }

  action {
    action_groups = [azurerm_monitor_action_group.this.id]
  }

  auto_mitigation_enabled = true
  tags                    = var.tags

  depends_on = [azurerm_log_analytics_workspace_table_custom_log.metrics]
}

# Rule names cannot hold some characters a feature name may: the name
# uses a cleaned copy, the query the feature itself.
resource "azurerm_monitor_scheduled_query_rules_alert_v2" "feature_drift" {
  for_each             = toset(var.features)
  name                 = "${var.name}-feature-drift-${replace(each.key, "/[^A-Za-z0-9_.-]/", "-")}"
  resource_group_name  = azurerm_resource_group.this.name
  location             = azurerm_resource_group.this.location
  description          = "modelfn ${var.model_name} ${var.model_version}: feature ${each.key} drifted"
  severity             = 3
  scopes               = [azurerm_log_analytics_workspace.this.id]
  evaluation_frequency = "PT15M"
  window_duration      = local.monitor_window

  criteria {
    query                   = "${local.metrics_rows} and Name == \"feature_drifted\" and Feature == ${jsonencode(each.key)} | project TimeGenerated, Value"
    time_aggregation_method = "Maximum"
    metric_measure_column   = "Value"
    operator                = "GreaterThanOrEqual"
    threshold               = 1
    failing_periods {
      minimum_failing_periods_to_trigger_alert = 1
      number_of_evaluation_periods             = 1
    }
  }

  action {
    action_groups = [azurerm_monitor_action_group.this.id]
  }

  auto_mitigation_enabled = true
  tags                    = var.tags

  depends_on = [azurerm_log_analytics_workspace_table_custom_log.metrics]
}

# The functions' own health from Application Insights' requests: failed
# invocations of each app, and the prediction app's p99 duration.
resource "azurerm_monitor_scheduled_query_rules_alert_v2" "function_failures" {
  for_each             = local.functions
  name                 = "${var.name}-${each.key}-failures"
  resource_group_name  = azurerm_resource_group.this.name
  location             = azurerm_resource_group.this.location
  description          = "modelfn ${var.model_name} ${var.model_version}: the ${each.key} function is failing"
  severity             = 2
  scopes               = [azurerm_log_analytics_workspace.this.id]
  evaluation_frequency = "PT5M"
  window_duration      = "PT5M"

  criteria {
    query                   = "AppRequests | where AppRoleName =~ \"${azurerm_function_app_flex_consumption.this[each.key].name}\" and Success == false"
    time_aggregation_method = "Count"
    operator                = "GreaterThanOrEqual"
    threshold               = each.key == "predict" ? var.predict_error_threshold : 1
    failing_periods {
      minimum_failing_periods_to_trigger_alert = 1
      number_of_evaluation_periods             = 1
    }
  }

  action {
    action_groups = [azurerm_monitor_action_group.this.id]
  }

  auto_mitigation_enabled = true
  skip_query_validation   = true
  tags                    = var.tags
}

resource "azurerm_monitor_scheduled_query_rules_alert_v2" "predict_latency" {
  name                 = "${var.name}-predict-p99-latency"
  resource_group_name  = azurerm_resource_group.this.name
  location             = azurerm_resource_group.this.location
  description          = "modelfn ${var.model_name} ${var.model_version}: the prediction function's p99 duration is above ${var.predict_p99_latency_ms} ms"
  severity             = 3
  scopes               = [azurerm_log_analytics_workspace.this.id]
  evaluation_frequency = "PT5M"
  window_duration      = "PT15M"

  criteria {
    query                   = "AppRequests | where AppRoleName =~ \"${azurerm_function_app_flex_consumption.this["predict"].name}\" | summarize P99 = percentile(DurationMs, 99) by bin(TimeGenerated, 5m)"
    time_aggregation_method = "Maximum"
    metric_measure_column   = "P99"
    operator                = "GreaterThan"
    threshold               = var.predict_p99_latency_ms
    failing_periods {
      minimum_failing_periods_to_trigger_alert = 2
      number_of_evaluation_periods             = 3
    }
  }

  action {
    action_groups = [azurerm_monitor_action_group.this.id]
  }

  auto_mitigation_enabled = true
  skip_query_validation   = true
  tags                    = var.tags
}

# Batch events Event Grid gave up on.
resource "azurerm_monitor_metric_alert" "dead_letters" {
  name                = "${var.name}-dead-lettered-events"
  resource_group_name = azurerm_resource_group.this.name
  scopes              = [azurerm_eventgrid_system_topic.data.id]
  description         = "modelfn ${var.model_name} ${var.model_version}: batch events failed every delivery (see container deadletter)"
  severity            = 2
  frequency           = "PT5M"
  window_size         = "PT15M"

  criteria {
    metric_namespace = "Microsoft.EventGrid/systemTopics"
    metric_name      = "DeadLetteredCount"
    aggregation      = "Total"
    operator         = "GreaterThan"
    threshold        = 0
  }

  action {
    action_group_id = azurerm_monitor_action_group.this.id
  }

  tags = var.tags
}
