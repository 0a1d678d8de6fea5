terraform {
  required_version = ">= 1.5.0"

  required_providers {
    azurerm = {
      source = "hashicorp/azurerm"
      # 4.55 added azurerm_log_analytics_workspace_table_custom_log; the
      # Flex Consumption resource takes runtime_name = "custom".
      version = ">= 4.55.0, < 5.0.0"
    }
  }
}
