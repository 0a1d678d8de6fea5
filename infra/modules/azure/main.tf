# modelfn on Azure: the three functions as three Function Apps on Flex
# Consumption (Linux, custom handler) from one zip, each with its own
# system-assigned identity: predict (HTTP, function keys), batch (blobs
# created under input/, through Event Grid and a storage queue) and
# monitor (timer). Data
# in a storage account of its own with container-scoped roles; metrics
# in a custom Log Analytics table through a data collection rule, with
# scheduled-query alerts on them.
#
# Why Flex Consumption: Linux Consumption is being retired, Flex runs
# custom handlers, scales to zero like Consumption, takes managed
# identity for host storage and deployment, and one app per plan costs
# nothing extra idle, which is what one identity per function needs.

data "azurerm_client_config" "current" {}

locals {
  functions = toset(["predict", "batch", "monitor"])

  # Storage account names: 3-24 lower-case letters and digits, global.
  compact = substr(replace(var.name, "-", ""), 0, 12)
  suffix  = substr(sha1("${data.azurerm_client_config.current.subscription_id}/${var.name}"), 0, 8)

  # Storage paths are in the gocloud.dev azblob form; AZURE_STORAGE_ACCOUNT names the account.
  environment = {
    AZURE_STORAGE_ACCOUNT = azurerm_storage_account.data.name
    MODELFN_LOG_URL       = "azblob://${azurerm_storage_container.data["logs"].name}"
    MODELFN_BATCH_URL     = "azblob://${azurerm_storage_container.data["batch"].name}"
    MODELFN_METRICS_URL   = "azuremonitor://${trimsuffix(trimprefix(azurerm_monitor_data_collection_endpoint.this.logs_ingestion_endpoint, "https://"), "/")}?rule=${azurerm_monitor_data_collection_rule.metrics.immutable_id}&stream=${local.metrics_stream}"
  }
}

resource "azurerm_resource_group" "this" {
  name     = "${var.name}-rg"
  location = var.location
  tags     = var.tags
}
