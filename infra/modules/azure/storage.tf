# Two storage accounts, both without shared keys or public blob access,
# HTTPS and TLS 1.2 only:
# - data: containers logs (predictions/, labels/, monitor/) and batch
#   (input/, output/, errors/), versioned with soft delete, roles
#   assigned per container;
# - runtime: the Functions host's own storage and the deployment
#   packages, used only by the apps' hosts.
#
# Network: both accept traffic from the internet (authenticated with
# Entra ID): Flex Consumption apps reach storage over its public endpoint
# unless the apps are integrated into a virtual network, which this
# module does not create.

# Reachable from the internet (Entra ID only, shared keys off): the apps
# are not in a virtual network, and batch input is uploaded from outside.
#trivy:ignore:AVD-AZU-0012
resource "azurerm_storage_account" "data" {
  name                     = "${local.compact}d${local.suffix}"
  resource_group_name      = azurerm_resource_group.this.name
  location                 = azurerm_resource_group.this.location
  account_kind             = "StorageV2"
  account_tier             = "Standard"
  account_replication_type = "ZRS"

  min_tls_version                   = "TLS1_2"
  https_traffic_only_enabled        = true
  allow_nested_items_to_be_public   = false
  shared_access_key_enabled         = false
  default_to_oauth_authentication   = true
  infrastructure_encryption_enabled = true

  blob_properties {
    versioning_enabled = true
    delete_retention_policy {
      days = 14
    }
    container_delete_retention_policy {
      days = 14
    }
  }

  tags = var.tags
}

resource "azurerm_storage_container" "data" {
  for_each              = toset(["logs", "batch", "deadletter"])
  name                  = each.key
  storage_account_id    = azurerm_storage_account.data.id
  container_access_type = "private"
}

# Logged predictions expire after the retention; old versions after 30 days.
resource "azurerm_storage_management_policy" "data" {
  storage_account_id = azurerm_storage_account.data.id

  rule {
    name    = "expire-predictions"
    enabled = true
    filters {
      blob_types   = ["blockBlob"]
      prefix_match = ["logs/predictions/"]
    }
    actions {
      base_blob {
        delete_after_days_since_creation_greater_than = var.prediction_retention_days
      }
    }
  }

  rule {
    name    = "expire-old-versions"
    enabled = true
    filters {
      blob_types = ["blockBlob"]
    }
    actions {
      version {
        delete_after_days_since_creation = 30
      }
    }
  }
}

# Reachable from the internet (Entra ID only, shared keys off): the
# Functions hosts are not in a virtual network.
#trivy:ignore:AVD-AZU-0012
resource "azurerm_storage_account" "runtime" {
  name                     = "${local.compact}r${local.suffix}"
  resource_group_name      = azurerm_resource_group.this.name
  location                 = azurerm_resource_group.this.location
  account_kind             = "StorageV2"
  account_tier             = "Standard"
  account_replication_type = "LRS"

  min_tls_version                   = "TLS1_2"
  https_traffic_only_enabled        = true
  allow_nested_items_to_be_public   = false
  shared_access_key_enabled         = false
  default_to_oauth_authentication   = true
  infrastructure_encryption_enabled = true

  tags = var.tags
}

# One deployment container per app: Flex Consumption keeps the package there.
resource "azurerm_storage_container" "deploy" {
  for_each              = local.functions
  name                  = "deploy-${each.key}"
  storage_account_id    = azurerm_storage_account.runtime.id
  container_access_type = "private"
}
