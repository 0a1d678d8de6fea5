# Metric descriptors for everything the monitor writes, created here so
# the alert policies can refer to them before the first write, and so a
# write with a wrong label is refused rather than creating a new metric.
# Points are DOUBLE gauges on the "global" monitored resource.

locals {
  metric_prefix = "custom.googleapis.com/modelfn"

  # name => extra label beyond model and version ("" for none), unit, description.
  metrics = {
    drift_share             = { label = "", unit = "1", description = "Share of features drifted" }
    dataset_drift           = { label = "", unit = "1", description = "1 when the drift share reached its threshold" }
    feature_drift_score     = { label = "feature", unit = "1", description = "A feature's drift statistic" }
    feature_drifted         = { label = "feature", unit = "1", description = "1 when the feature drifted" }
    prediction_drift_score  = { label = "", unit = "1", description = "The model output's drift statistic" }
    prediction_drifted      = { label = "", unit = "1", description = "1 when the model output drifted" }
    missing_share           = { label = "feature", unit = "1", description = "Share of missing values" }
    out_of_range_share      = { label = "feature", unit = "1", description = "Share of values outside the reference range" }
    unseen_category_share   = { label = "feature", unit = "1", description = "Share of categories absent from the reference" }
    data_quality_issues     = { label = "", unit = "1", description = "Data-quality violations found in the run" }
    performance             = { label = "metric", unit = "1", description = "A performance metric on labelled predictions" }
    performance_drop        = { label = "metric", unit = "1", description = "Relative drop of the primary metric (the metric label) against the reference" }
    window_rows             = { label = "", unit = "1", description = "Records in the current window" }
    monitor_objects_read    = { label = "", unit = "1", description = "Log objects the run read" }
    monitor_records_read    = { label = "", unit = "1", description = "Log records the run read" }
    monitor_corrupt_objects = { label = "", unit = "1", description = "Log objects skipped as corrupt" }
    monitor_labels_joined   = { label = "", unit = "1", description = "Labels joined to predictions" }
    monitor_run_seconds     = { label = "", unit = "s", description = "Duration of the monitor run" }
  }

  # A filter on one of this deployment's metrics.
  # jsonencode quotes and escapes a name as the filter language expects.
  metric_filter = "resource.type = \"global\" AND metric.label.model = ${jsonencode(var.model_name)} AND metric.label.version = ${jsonencode(var.model_version)}"

  # Cloud Monitoring's threshold conditions compare with > or < only:
  # "at least t" is "more than t less a hair".
  hair = 0.000001

  model_alerts = {
    drift_share = {
      summary   = "Share of drifted features reached ${var.drift_share_threshold}"
      threshold = var.drift_share_threshold - local.hair
    }
    data_quality_issues = {
      summary   = "The monitor found data-quality issues (missing values, out-of-range values, unseen categories, type errors)"
      threshold = 0
    }
    performance_drop = {
      summary   = "The primary metric dropped by ${var.performance_drop_threshold} or more of its reference value"
      threshold = var.performance_drop_threshold - local.hair
    }
  }

  notification_channels = google_monitoring_notification_channel.email[*].id
  monitor_period        = "${var.monitor_interval_minutes * 60}s"
}

resource "google_monitoring_metric_descriptor" "this" {
  for_each     = local.metrics
  project      = var.project
  type         = "${local.metric_prefix}/${each.key}"
  display_name = "modelfn ${each.key}"
  description  = each.value.description
  metric_kind  = "GAUGE"
  value_type   = "DOUBLE"
  unit         = each.value.unit

  labels {
    key         = "model"
    value_type  = "STRING"
    description = "Model name"
  }
  labels {
    key         = "version"
    value_type  = "STRING"
    description = "Model version"
  }
  dynamic "labels" {
    for_each = each.value.label == "" ? [] : [each.value.label]
    content {
      key         = labels.value
      value_type  = "STRING"
      description = labels.value == "feature" ? "Input feature" : "Performance metric name"
    }
  }

  depends_on = [google_project_service.this]
}

resource "google_monitoring_notification_channel" "email" {
  count        = var.alarm_email == "" ? 0 : 1
  project      = var.project
  display_name = "modelfn ${var.name} alarms"
  type         = "email"
  labels = {
    email_address = var.alarm_email
  }
  user_labels = local.labels

  depends_on = [google_project_service.this]
}

resource "google_monitoring_alert_policy" "model" {
  for_each              = local.model_alerts
  project               = var.project
  display_name          = "${var.name}-${each.key}"
  combiner              = "OR"
  notification_channels = local.notification_channels
  user_labels           = local.labels

  conditions {
    display_name = "${var.model_name} ${var.model_version}: ${each.key}"
    condition_threshold {
      filter          = "metric.type = \"${local.metric_prefix}/${each.key}\" AND ${local.metric_filter}"
      comparison      = "COMPARISON_GT"
      threshold_value = each.value.threshold
      duration        = "0s"
      aggregations {
        alignment_period   = local.monitor_period
        per_series_aligner = "ALIGN_MAX"
      }
    }
  }

  documentation {
    content   = "modelfn ${var.model_name} ${var.model_version}: ${each.value.summary}. See the monitor's report under monitor/ in bucket ${local.logs_bucket}."
    mime_type = "text/markdown"
  }

  depends_on = [google_monitoring_metric_descriptor.this]
}

resource "google_monitoring_alert_policy" "feature_drift" {
  for_each              = toset(var.features)
  project               = var.project
  display_name          = "${var.name}-feature-drift-${each.key}"
  combiner              = "OR"
  notification_channels = local.notification_channels
  user_labels           = local.labels

  conditions {
    display_name = "${var.model_name} ${var.model_version}: feature ${each.key} drifted"
    condition_threshold {
      filter          = "metric.type = \"${local.metric_prefix}/feature_drifted\" AND ${local.metric_filter} AND metric.label.feature = ${jsonencode(each.key)}"
      comparison      = "COMPARISON_GT"
      threshold_value = 0.5
      duration        = "0s"
      aggregations {
        alignment_period   = local.monitor_period
        per_series_aligner = "ALIGN_MAX"
      }
    }
  }

  documentation {
    content   = "modelfn ${var.model_name} ${var.model_version}: feature `${each.key}` drifted from its reference distribution."
    mime_type = "text/markdown"
  }

  depends_on = [google_monitoring_metric_descriptor.this]
}

# The functions' own health, from Cloud Run's request metrics: 5xx
# answers of each function, and the prediction function's p99 latency.
resource "google_monitoring_alert_policy" "function_errors" {
  for_each              = local.functions
  project               = var.project
  display_name          = "${var.name}-${each.key}-errors"
  combiner              = "OR"
  notification_channels = local.notification_channels
  user_labels           = local.labels

  conditions {
    display_name = "${each.key} answered 5xx"
    condition_threshold {
      filter          = "metric.type = \"run.googleapis.com/request_count\" AND resource.type = \"cloud_run_revision\" AND resource.label.service_name = \"${google_cloudfunctions2_function.this[each.key].name}\" AND metric.label.response_code_class = \"5xx\""
      comparison      = "COMPARISON_GT"
      threshold_value = (each.key == "predict" ? var.predict_error_threshold : 1) - local.hair
      duration        = "0s"
      aggregations {
        alignment_period     = "300s"
        per_series_aligner   = "ALIGN_SUM"
        cross_series_reducer = "REDUCE_SUM"
      }
    }
  }

  documentation {
    content   = "modelfn ${var.model_name} ${var.model_version}: the ${each.key} function is failing."
    mime_type = "text/markdown"
  }
}

resource "google_monitoring_alert_policy" "predict_latency" {
  project               = var.project
  display_name          = "${var.name}-predict-p99-latency"
  combiner              = "OR"
  notification_channels = local.notification_channels
  user_labels           = local.labels

  conditions {
    display_name = "predict p99 latency above ${var.predict_p99_latency_ms} ms"
    condition_threshold {
      filter          = "metric.type = \"run.googleapis.com/request_latencies\" AND resource.type = \"cloud_run_revision\" AND resource.label.service_name = \"${google_cloudfunctions2_function.this["predict"].name}\""
      comparison      = "COMPARISON_GT"
      threshold_value = var.predict_p99_latency_ms
      duration        = "600s"
      aggregations {
        alignment_period     = "300s"
        per_series_aligner   = "ALIGN_DELTA"
        cross_series_reducer = "REDUCE_PERCENTILE_99"
      }
    }
  }

  documentation {
    content   = "modelfn ${var.model_name} ${var.model_version}: the prediction function's p99 latency is above ${var.predict_p99_latency_ms} ms."
    mime_type = "text/markdown"
  }
}
