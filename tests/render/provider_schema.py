"""The arguments and exported attributes render may use, transcribed from the providers' documentation
(docs/terraform.md has the sources). A test checks every rendered block and reference against it.

azurerm v5.2.0 (``website/docs/{r,d}/*.html.markdown``, also ../shared/reference/terraform-azurerm.md);
azuread v3.9.0 (``docs/resources/application_federated_identity_credential.md``,
``docs/data-sources/application.md``).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Schema:
    required: frozenset[str]
    optional: frozenset[str] = frozenset()
    exported: frozenset[str] = frozenset()
    one_of: frozenset[str] = frozenset()  # exactly one of these must be set


META = frozenset({"provider", "count", "for_each", "depends_on", "lifecycle"})

SCHEMAS: dict[tuple[str, str], Schema] = {
    # azurerm: user_assigned_identity_id since 4.65.0; parent_id and resource_group_name removed in 5.0
    ("resource", "azurerm_federated_identity_credential"): Schema(
        required=frozenset({"name", "user_assigned_identity_id", "audience", "issuer", "subject"}),
        exported=frozenset({"id"})),
    ("resource", "azurerm_user_assigned_identity"): Schema(
        required=frozenset({"name", "resource_group_name", "location"}),
        optional=frozenset({"isolation_scope", "tags"}),
        exported=frozenset({"id", "client_id", "principal_id", "tenant_id"})),
    ("resource", "azurerm_role_assignment"): Schema(
        required=frozenset({"scope", "principal_id"}),
        optional=frozenset({"name", "principal_type", "condition", "condition_version",
                            "delegated_managed_identity_resource_id", "description",
                            "skip_service_principal_aad_check"}),
        one_of=frozenset({"role_definition_id", "role_definition_name"}),
        exported=frozenset({"id"})),
    ("data", "azurerm_kubernetes_cluster"): Schema(
        required=frozenset({"name", "resource_group_name"}),
        exported=frozenset({"id", "oidc_issuer_enabled", "oidc_issuer_url", "location"})),
    ("data", "azurerm_user_assigned_identity"): Schema(
        required=frozenset({"name", "resource_group_name"}),
        exported=frozenset({"id", "location", "principal_id", "client_id", "tenant_id"})),
    ("data", "azurerm_resource_group"): Schema(
        required=frozenset({"name"}), exported=frozenset({"id", "location"})),
    # azuread 3.x: application_id is the application's resource ID (/applications/<object id>)
    ("resource", "azuread_application_federated_identity_credential"): Schema(
        required=frozenset({"application_id", "audiences", "display_name", "issuer", "subject"}),
        optional=frozenset({"description"}), exported=frozenset({"credential_id", "id"})),
    ("data", "azuread_application"): Schema(
        required=frozenset(), one_of=frozenset({"client_id", "display_name", "object_id", "identifier_uri"}),
        exported=frozenset({"id", "client_id", "object_id", "display_name"})),
}

PROVIDERS = {
    "azurerm": Schema(required=frozenset(), optional=frozenset({"alias", "subscription_id", "features"})),
    "azuread": Schema(required=frozenset(), optional=frozenset({"alias", "tenant_id"})),
}
