# One Flex Consumption plan and app per function, all from the same zip.
# The host loads every function folder in the zip; the others are
# disabled in each app (AzureWebJobs.<name>.Disabled), and
# MODELFN_FUNCTION tells the handler which role it plays. The monitor's
# timer schedule and the predict function's authLevel are in the zip's
# function.json files, built from the bundle.

resource "azurerm_service_plan" "this" {
  for_each            = local.functions
  name                = "${var.name}-${each.key}-plan"
  resource_group_name = azurerm_resource_group.this.name
  location            = azurerm_resource_group.this.location
  os_type             = "Linux"
  sku_name            = "FC1"
  tags                = var.tags
}

resource "azurerm_function_app_flex_consumption" "this" {
  for_each            = local.functions
  name                = "${var.name}-${each.key}-${local.suffix}"
  resource_group_name = azurerm_resource_group.this.name
  location            = azurerm_resource_group.this.location
  service_plan_id     = azurerm_service_plan.this[each.key].id

  runtime_name           = "custom"
  runtime_version        = "1.0"
  instance_memory_in_mb  = var.memory_mb
  maximum_instance_count = var.max_instances

  # The package lives in this app's container, read with its identity.
  storage_container_type      = "blobContainer"
  storage_container_endpoint  = "${azurerm_storage_account.runtime.primary_blob_endpoint}${azurerm_storage_container.deploy[each.key].name}"
  storage_authentication_type = "SystemAssignedIdentity"

  # Host storage (AzureWebJobsStorage) with the identity too: no keys.
  function_app_storage_account_name          = azurerm_storage_account.runtime.name
  function_app_storage_uses_managed_identity = true

  # Deployed by Terraform from the built zip. Zip deploy goes through the
  # app's publishing endpoint, so its basic-auth publishing stays on.
  zip_deploy_file = var.artifact_path

  https_only                    = true
  public_network_access_enabled = true
  client_certificate_mode       = "Optional"

  identity {
    type = "SystemAssigned"
  }

  site_config {
    minimum_tls_version                    = "1.2"
    scm_minimum_tls_version                = "1.2"
    http2_enabled                          = true
    application_insights_connection_string = azurerm_application_insights.this.connection_string
  }

  app_settings = merge(
    local.environment,
    {
      MODELFN_FUNCTION = each.key
      # The batch queue trigger's identity-based connection.
      MODELFN_STORAGE__queueServiceUri          = azurerm_storage_account.data.primary_queue_endpoint
      APPLICATIONINSIGHTS_AUTHENTICATION_STRING = "Authorization=AAD"
    },
    { for other in local.functions : "AzureWebJobs.${other}.Disabled" => "true" if other != each.key },
  )

  tags = var.tags

  depends_on = [azurerm_storage_container.deploy]
}

# Batch: Event Grid puts each BlobCreated event for a blob under input/
# of the batch container on a storage queue, which the batch function's
# queue trigger drains (names from providers/azure: queue modelfn-batch,
# connection MODELFN_STORAGE). The queue decouples delivery from the
# app's deployment and gives retries and a poison queue; events Event
# Grid cannot deliver go to the deadletter container.
resource "azurerm_storage_queue" "batch" {
  for_each           = toset(["modelfn-batch", "modelfn-batch-poison"])
  name               = each.key
  storage_account_id = azurerm_storage_account.data.id
}

resource "azurerm_eventgrid_system_topic" "data" {
  name                   = "${var.name}-data-events"
  resource_group_name    = azurerm_resource_group.this.name
  location               = azurerm_resource_group.this.location
  source_arm_resource_id = azurerm_storage_account.data.id
  topic_type             = "Microsoft.Storage.StorageAccounts"

  identity {
    type = "SystemAssigned"
  }

  tags = var.tags
}

resource "azurerm_role_assignment" "events_to_queue" {
  scope                = azurerm_storage_queue.batch["modelfn-batch"].id
  role_definition_name = "Storage Queue Data Message Sender"
  principal_id         = azurerm_eventgrid_system_topic.data.identity[0].principal_id
  principal_type       = "ServicePrincipal"
  description          = "modelfn ${var.name}: Event Grid queues batch events"
}

resource "azurerm_role_assignment" "deadletter" {
  scope                = azurerm_storage_container.data["deadletter"].id
  role_definition_name = "Storage Blob Data Contributor"
  principal_id         = azurerm_eventgrid_system_topic.data.identity[0].principal_id
  principal_type       = "ServicePrincipal"
  description          = "modelfn ${var.name}: Event Grid dead-letters batch events"
}

resource "azurerm_eventgrid_system_topic_event_subscription" "batch" {
  name                = "${var.name}-batch-input"
  system_topic        = azurerm_eventgrid_system_topic.data.name
  resource_group_name = azurerm_resource_group.this.name

  storage_queue_endpoint {
    storage_account_id = azurerm_storage_account.data.id
    queue_name         = azurerm_storage_queue.batch["modelfn-batch"].name
  }

  delivery_identity {
    type = "SystemAssigned"
  }

  included_event_types = ["Microsoft.Storage.BlobCreated"]

  # Only input/: output/ and errors/ never trigger the function again.
  subject_filter {
    subject_begins_with = "/blobServices/default/containers/${azurerm_storage_container.data["batch"].name}/blobs/input/"
  }

  retry_policy {
    max_delivery_attempts = 10
    event_time_to_live    = 1440
  }

  dead_letter_identity {
    type = "SystemAssigned"
  }

  storage_blob_dead_letter_destination {
    storage_account_id          = azurerm_storage_account.data.id
    storage_blob_container_name = azurerm_storage_container.data["deadletter"].name
  }

  depends_on = [azurerm_role_assignment.events_to_queue, azurerm_role_assignment.deadletter]
}

# The host's default function key: callers send it as ?code= or the
# x-functions-key header.
data "azurerm_function_app_host_keys" "predict" {
  name                = azurerm_function_app_flex_consumption.this["predict"].name
  resource_group_name = azurerm_resource_group.this.name
}
