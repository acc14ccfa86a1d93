# Cluster aks-staging-weu is waiting for prerequisites. Nothing in this file is applied:
# it is all comments, for review.
#
# 1. enable-oidc-issuer
#    Enabling the OIDC issuer on a running cluster restarts the API server, changes the issuer of
#    service-account tokens, and cannot be undone. Credentials for this cluster wait for it; their
#    issuer is read from the cluster at apply time, never guessed.
#    With the Azure CLI:
#      az aks update --resource-group rg-aks-staging-weu --name aks-staging-weu --enable-oidc-issuer
#    Or in the configuration that manages the cluster (not in this folder), then plan and apply it there:
#      # azurerm_kubernetes_cluster for "aks-staging-weu"
#      oidc_issuer_enabled = true
#
# 2. enable-workload-identity
#    Enabling workload identity installs the mutating webhook in kube-system with failurePolicy Fail:
#    while it is down, pods labelled azure.workload.identity/use are rejected.
#    With the Azure CLI:
#      az aks update --resource-group rg-aks-staging-weu --name aks-staging-weu --enable-workload-identity
#    Or in the configuration that manages the cluster (not in this folder), then plan and apply it there:
#      # azurerm_kubernetes_cluster for "aks-staging-weu"
#      workload_identity_enabled = true
#
# These credentials wait for the issuer. Once the prerequisites are applied, run migrate plan and
# migrate render again: they then appear in fic_aks-staging-weu.tf as regular blocks. As they will read:
#
# data "azurerm_kubernetes_cluster" "aks_staging_weu" {
#   provider = azurerm.sub_00000000_0000_0000_0000_000000000002
#
#   name                = "aks-staging-weu"
#   resource_group_name = "rg-aks-staging-weu"
# }
#
# data "azuread_application" "app_billing_sp" {
#   client_id = "ec3b6fba-d662-5509-83a0-d3f43defb2f5"
# }
#
# # billing/default -> billing-sp
# #   from aks-staging-weu/billing/AzureIdentityBinding/billing-sp-binding
# #   from aks-staging-weu/billing/Deployment/invoice-renderer
# #   from aks-staging-weu/billing/ReplicaSet/ledger-export
# resource "azuread_application_federated_identity_credential" "aks_staging_weu_billing_default" {
#   application_id = data.azuread_application.app_billing_sp.id
#   display_name   = "aks-staging-weu-billing-default"
#   audiences      = ["api://AzureADTokenExchange"]
#   issuer         = data.azurerm_kubernetes_cluster.aks_staging_weu.oidc_issuer_url
#   subject        = "system:serviceaccount:billing:default"
# }
