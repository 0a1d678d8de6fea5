output "predict_url" {
  description = "The prediction endpoint (send predict_key as the x-functions-key header, unless public)."
  value       = "https://${azurerm_function_app_flex_consumption.this["predict"].default_hostname}/api/predict"
}

output "predict_auth" {
  description = "How callers authenticate: FUNCTION_KEY or NONE."
  value       = var.public ? "NONE" : "FUNCTION_KEY"
}

output "predict_key" {
  description = "The prediction app's default function key."
  value       = data.azurerm_function_app_host_keys.predict.default_function_key
  sensitive   = true
}

output "functions" {
  description = "Function apps by role."
  value       = { for k, a in azurerm_function_app_flex_consumption.this : k => a.name }
}

output "resource_group" {
  description = "The resource group holding everything."
  value       = azurerm_resource_group.this.name
}

output "storage_account" {
  description = "The data storage account."
  value       = azurerm_storage_account.data.name
}

output "logs_bucket" {
  description = "Prediction log container (predictions/, labels/, monitor/)."
  value       = azurerm_storage_container.data["logs"].name
}

output "batch_bucket" {
  description = "Batch container: put blobs under input/, results appear under output/ and errors/."
  value       = azurerm_storage_container.data["batch"].name
}

output "batch_input_url" {
  description = "Where to upload files to score."
  value       = "${azurerm_storage_account.data.primary_blob_endpoint}${azurerm_storage_container.data["batch"].name}/input/"
}

output "alarm_names" {
  description = "Every alert rule of this deployment."
  value = concat(
    [for a in azurerm_monitor_scheduled_query_rules_alert_v2.model : a.name],
    [for a in azurerm_monitor_scheduled_query_rules_alert_v2.feature_drift : a.name],
    [for a in azurerm_monitor_scheduled_query_rules_alert_v2.function_failures : a.name],
    [azurerm_monitor_scheduled_query_rules_alert_v2.predict_latency.name, azurerm_monitor_metric_alert.dead_letters.name],
  )
}

output "metrics_url" {
  description = "MODELFN_METRICS_URL the monitor publishes to."
  value       = local.environment.MODELFN_METRICS_URL
}
