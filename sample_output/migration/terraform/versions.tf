# Provider versions whose schema this module is written for (see README.md).
# azurerm >= 4.65: user_assigned_identity_id (parent_id is gone in 5.0); Terraform >= 1.5: import blocks.
terraform {
  required_version = ">= 1.5.0, < 2.0.0"

  required_providers {
    azurerm = {
      source  = "hashicorp/azurerm"
      version = ">= 4.65.0, < 6.0.0"
    }
  }
}
