output "predict_url" {
  description = "The prediction endpoint (send an identity token: `gcloud auth print-identity-token`, unless public)."
  value       = google_cloudfunctions2_function.this["predict"].service_config[0].uri
}

output "predict_auth" {
  description = "How callers authenticate: IAM (roles/run.invoker, see predict_invokers) or NONE."
  value       = var.public ? "NONE" : "IAM"
}

output "functions" {
  description = "Cloud Functions by role."
  value       = { for k, f in google_cloudfunctions2_function.this : k => f.name }
}

output "service_accounts" {
  description = "The service account each function runs as."
  value       = { for k, sa in google_service_account.function : k => sa.email }
}

output "logs_bucket" {
  description = "Prediction log bucket (predictions/, labels/, monitor/)."
  value       = google_storage_bucket.this["logs"].name
}

output "batch_bucket" {
  description = "Batch bucket: put objects under input/, results appear under output/ and errors/."
  value       = google_storage_bucket.this["batch"].name
}

output "batch_input_url" {
  description = "Where to upload files to score."
  value       = "gs://${google_storage_bucket.this["batch"].name}/input/"
}

output "source_bucket" {
  description = "Bucket holding the function source."
  value       = google_storage_bucket.this["source"].name
}

output "alarm_names" {
  description = "Every alert policy of this deployment (display names)."
  value = concat(
    [for p in google_monitoring_alert_policy.model : p.display_name],
    [for p in google_monitoring_alert_policy.feature_drift : p.display_name],
    [for p in google_monitoring_alert_policy.function_errors : p.display_name],
    [google_monitoring_alert_policy.predict_latency.display_name],
  )
}

output "metrics_url" {
  description = "MODELFN_METRICS_URL the monitor publishes to."
  value       = local.environment.MODELFN_METRICS_URL
}
