output "predict_url" {
  description = "The prediction endpoint (AWS SigV4-signed requests unless public)."
  value       = aws_lambda_function_url.predict.function_url
}

output "predict_auth" {
  description = "How callers authenticate: AWS_IAM (attach invoke_policy_arn to them) or NONE."
  value       = aws_lambda_function_url.predict.authorization_type
}

output "invoke_policy_arn" {
  description = "IAM policy that lets a user or role call the prediction endpoint."
  value       = aws_iam_policy.invoke_predict.arn
}

output "functions" {
  description = "Lambda function names by role."
  value       = { for k, f in aws_lambda_function.this : k => f.function_name }
}

output "logs_bucket" {
  description = "Prediction log bucket (predictions/, labels/, monitor/)."
  value       = aws_s3_bucket.this["logs"].id
}

output "batch_bucket" {
  description = "Batch bucket: put objects under input/, results appear under output/ and errors/."
  value       = aws_s3_bucket.this["batch"].id
}

output "batch_input_url" {
  description = "Where to upload files to score."
  value       = "s3://${aws_s3_bucket.this["batch"].id}/input/"
}

output "artifacts_bucket" {
  description = "Bucket holding the Lambda zip."
  value       = aws_s3_bucket.this["artifacts"].id
}

output "failure_queue_url" {
  description = "Events that failed every retry."
  value       = aws_sqs_queue.failures.url
}

output "alarm_topic_arn" {
  description = "SNS topic every alarm notifies."
  value       = aws_sns_topic.alarms.arn
}

output "alarm_names" {
  description = "Every CloudWatch alarm of this deployment."
  value = concat(
    [for a in aws_cloudwatch_metric_alarm.model : a.alarm_name],
    [for a in aws_cloudwatch_metric_alarm.performance_drop : a.alarm_name],
    [for a in aws_cloudwatch_metric_alarm.feature_drift : a.alarm_name],
    [
      aws_cloudwatch_metric_alarm.predict_errors.alarm_name,
      aws_cloudwatch_metric_alarm.predict_latency.alarm_name,
      aws_cloudwatch_metric_alarm.monitor_errors.alarm_name,
      aws_cloudwatch_metric_alarm.failures.alarm_name,
    ],
  )
}

output "metrics_url" {
  description = "MODELFN_METRICS_URL the monitor publishes to."
  value       = local.environment.MODELFN_METRICS_URL
}
