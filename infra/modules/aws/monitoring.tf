# Alarms on the metrics the monitor publishes (namespace ModelFn,
# dimensions model and version, plus feature on per-feature metrics) and
# on the functions' own Lambda metrics, all notifying one topic.

resource "aws_sns_topic" "alarms" {
  name              = "${var.name}-alarms"
  kms_master_key_id = aws_kms_key.this.arn
  tags              = var.tags
}

resource "aws_sns_topic_subscription" "email" {
  count     = var.alarm_email == "" ? 0 : 1
  topic_arn = aws_sns_topic.alarms.arn
  protocol  = "email"
  endpoint  = var.alarm_email
}

locals {
  alarm_actions = [aws_sns_topic.alarms.arn]

  # The dataset-level drift metrics: the monitor publishes each once a run.
  model_alarms = {
    drift_share = {
      description = "Share of drifted features reached the threshold"
      comparison  = "GreaterThanOrEqualToThreshold"
      threshold   = var.drift_share_threshold
    }
    data_quality_issues = {
      description = "The monitor found data-quality issues (missing values, out-of-range values, unseen categories, type errors)"
      comparison  = "GreaterThanThreshold"
      threshold   = 0
    }
  }
}

resource "aws_cloudwatch_metric_alarm" "model" {
  for_each          = local.model_alarms
  alarm_name        = "${var.name}-${each.key}"
  alarm_description = "modelfn ${var.model_name} ${var.model_version}: ${each.value.description}"

  namespace   = local.metrics_namespace
  metric_name = each.key
  dimensions  = local.metric_dimensions
  statistic   = "Maximum"
  period      = local.monitor_period

  evaluation_periods  = 1
  comparison_operator = each.value.comparison
  threshold           = each.value.threshold
  treat_missing_data  = "notBreaching"

  alarm_actions = local.alarm_actions
  ok_actions    = local.alarm_actions
  tags          = var.tags
}

# performance_drop carries the primary metric's name as a dimension too
# (roc_auc, accuracy or r2, by task): one alarm per name it may take.
resource "aws_cloudwatch_metric_alarm" "performance_drop" {
  for_each          = toset(var.performance_metrics)
  alarm_name        = "${var.name}-performance-drop-${each.key}"
  alarm_description = "modelfn ${var.model_name} ${var.model_version}: ${each.key} dropped by ${var.performance_drop_threshold} or more of its reference value"

  namespace   = local.metrics_namespace
  metric_name = "performance_drop"
  dimensions  = merge(local.metric_dimensions, { metric = each.key })
  statistic   = "Maximum"
  period      = local.monitor_period

  evaluation_periods  = 1
  comparison_operator = "GreaterThanOrEqualToThreshold"
  threshold           = var.performance_drop_threshold
  treat_missing_data  = "notBreaching"

  alarm_actions = local.alarm_actions
  ok_actions    = local.alarm_actions
  tags          = var.tags
}

resource "aws_cloudwatch_metric_alarm" "feature_drift" {
  for_each          = toset(var.features)
  alarm_name        = "${var.name}-feature-drift-${each.key}"
  alarm_description = "modelfn ${var.model_name} ${var.model_version}: feature ${each.key} drifted"

  namespace   = local.metrics_namespace
  metric_name = "feature_drifted"
  dimensions  = merge(local.metric_dimensions, { feature = each.key })
  statistic   = "Maximum"
  period      = local.monitor_period

  evaluation_periods  = 1
  comparison_operator = "GreaterThanOrEqualToThreshold"
  threshold           = 1
  treat_missing_data  = "notBreaching"

  alarm_actions = local.alarm_actions
  ok_actions    = local.alarm_actions
  tags          = var.tags
}

resource "aws_cloudwatch_metric_alarm" "predict_errors" {
  alarm_name        = "${var.name}-predict-errors"
  alarm_description = "modelfn ${var.model_name} ${var.model_version}: the predict function failed"

  namespace   = "AWS/Lambda"
  metric_name = "Errors"
  dimensions  = { FunctionName = aws_lambda_function.this["predict"].function_name }
  statistic   = "Sum"
  period      = 300

  evaluation_periods  = 1
  comparison_operator = "GreaterThanOrEqualToThreshold"
  threshold           = var.predict_error_threshold
  treat_missing_data  = "notBreaching"

  alarm_actions = local.alarm_actions
  ok_actions    = local.alarm_actions
  tags          = var.tags
}

resource "aws_cloudwatch_metric_alarm" "predict_latency" {
  alarm_name        = "${var.name}-predict-p99-latency"
  alarm_description = "modelfn ${var.model_name} ${var.model_version}: the predict function's p99 duration is above ${var.predict_p99_latency_ms} ms"

  namespace          = "AWS/Lambda"
  metric_name        = "Duration"
  dimensions         = { FunctionName = aws_lambda_function.this["predict"].function_name }
  extended_statistic = "p99"
  period             = 300

  evaluation_periods  = 3
  datapoints_to_alarm = 2
  comparison_operator = "GreaterThanThreshold"
  threshold           = var.predict_p99_latency_ms
  treat_missing_data  = "notBreaching"

  alarm_actions = local.alarm_actions
  ok_actions    = local.alarm_actions
  tags          = var.tags
}

# A failing monitor means no drift alarms at all: say so.
resource "aws_cloudwatch_metric_alarm" "monitor_errors" {
  alarm_name        = "${var.name}-monitor-errors"
  alarm_description = "modelfn ${var.model_name} ${var.model_version}: the monitor function failed"

  namespace   = "AWS/Lambda"
  metric_name = "Errors"
  dimensions  = { FunctionName = aws_lambda_function.this["monitor"].function_name }
  statistic   = "Sum"
  period      = local.monitor_period

  evaluation_periods  = 1
  comparison_operator = "GreaterThanOrEqualToThreshold"
  threshold           = 1
  treat_missing_data  = "notBreaching"

  alarm_actions = local.alarm_actions
  ok_actions    = local.alarm_actions
  tags          = var.tags
}

# Batch events that failed every retry, and missed monitor runs.
resource "aws_cloudwatch_metric_alarm" "failures" {
  alarm_name        = "${var.name}-failed-events"
  alarm_description = "modelfn ${var.model_name} ${var.model_version}: batch or monitor events failed every retry (see queue ${aws_sqs_queue.failures.name})"

  namespace   = "AWS/SQS"
  metric_name = "ApproximateNumberOfMessagesVisible"
  dimensions  = { QueueName = aws_sqs_queue.failures.name }
  statistic   = "Maximum"
  period      = 300

  evaluation_periods  = 1
  comparison_operator = "GreaterThanThreshold"
  threshold           = 0
  treat_missing_data  = "notBreaching"

  alarm_actions = local.alarm_actions
  tags          = var.tags
}
