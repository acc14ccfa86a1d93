# One azurerm configuration per subscription. Every block names its provider: azurerm builds a
# federated credential's ID from the provider's subscription, so it must be the identity's.
# Credentials come from the environment (az login, ARM_* variables, OIDC in CI).

provider "azurerm" {
  alias           = "sub_00000000_0000_0000_0000_000000000001"
  subscription_id = "00000000-0000-0000-0000-000000000001"
  features {}
}

provider "azurerm" {
  alias           = "sub_00000000_0000_0000_0000_000000000002"
  subscription_id = "00000000-0000-0000-0000-000000000002"
  features {}
}
