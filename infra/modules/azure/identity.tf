# Each app's system-assigned identity gets only what its function uses:
# - predict: write blobs in logs (custom role: write, no read or delete);
# - batch: read and write batch (input/ in, output/ and errors/ out,
#   stale errors deleted), write blobs in logs, take messages from its
#   queue and move failing ones to the poison queue;
# - monitor: read logs and write its state there, publish to the metrics
#   data collection rule.
# Every app's host also needs its runtime storage and Application Insights.

locals {
  data_roles = {
    predict_logs  = { fn = "predict", container = "logs", role = "writer" }
    batch_batch   = { fn = "batch", container = "batch", role = "Storage Blob Data Contributor" }
    batch_logs    = { fn = "batch", container = "logs", role = "writer" }
    monitor_read  = { fn = "monitor", container = "logs", role = "Storage Blob Data Reader" }
    monitor_write = { fn = "monitor", container = "logs", role = "writer" }
  }
}

# Blob write without read or delete: for appending log objects.
resource "azurerm_role_definition" "blob_writer" {
  name        = "${var.name}-blob-writer"
  scope       = azurerm_storage_account.data.id
  description = "modelfn ${var.name}: create blobs, nothing else"

  permissions {
    data_actions = [
      "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/write",
      "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/add/action",
    ]
  }

  assignable_scopes = [azurerm_storage_account.data.id]
}

resource "azurerm_role_assignment" "data" {
  for_each             = local.data_roles
  scope                = azurerm_storage_container.data[each.value.container].id
  principal_id         = azurerm_function_app_flex_consumption.this[each.value.fn].identity[0].principal_id
  principal_type       = "ServicePrincipal"
  description          = "modelfn ${var.name}: ${each.value.fn} on container ${each.value.container}"
  role_definition_id   = each.value.role == "writer" ? azurerm_role_definition.blob_writer.role_definition_resource_id : null
  role_definition_name = each.value.role == "writer" ? null : each.value.role
}

resource "azurerm_role_assignment" "batch_queues" {
  for_each             = azurerm_storage_queue.batch
  scope                = each.value.id
  role_definition_name = "Storage Queue Data Contributor"
  principal_id         = azurerm_function_app_flex_consumption.this["batch"].identity[0].principal_id
  principal_type       = "ServicePrincipal"
  description          = "modelfn ${var.name}: batch drains ${each.key}"
}

resource "azurerm_role_assignment" "metrics" {
  scope                = azurerm_monitor_data_collection_rule.metrics.id
  role_definition_name = "Monitoring Metrics Publisher"
  principal_id         = azurerm_function_app_flex_consumption.this["monitor"].identity[0].principal_id
  principal_type       = "ServicePrincipal"
  description          = "modelfn ${var.name}: the monitor publishes metrics"
}

# The Functions host keeps leases, keys and the deployment package in the
# runtime account (identity-based AzureWebJobsStorage needs Blob Data Owner).
resource "azurerm_role_assignment" "host_storage" {
  for_each             = local.functions
  scope                = azurerm_storage_account.runtime.id
  role_definition_name = "Storage Blob Data Owner"
  principal_id         = azurerm_function_app_flex_consumption.this[each.key].identity[0].principal_id
  principal_type       = "ServicePrincipal"
  description          = "modelfn ${var.name}: ${each.key} host storage"
}

# Telemetry with Entra ID (the component's local auth is off).
resource "azurerm_role_assignment" "telemetry" {
  for_each             = local.functions
  scope                = azurerm_application_insights.this.id
  role_definition_name = "Monitoring Metrics Publisher"
  principal_id         = azurerm_function_app_flex_consumption.this[each.key].identity[0].principal_id
  principal_type       = "ServicePrincipal"
  description          = "modelfn ${var.name}: ${each.key} telemetry"
}
