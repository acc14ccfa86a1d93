"""Limits Azure and Kubernetes impose that the catalog and the planner both respect. One place each."""

from __future__ import annotations

import re

#: Federated identity credentials per user-assigned managed identity (or per Entra application).
#: Source: learn.microsoft.com/entra/workload-id/workload-identity-federation-considerations
#: ("No more than 20 federated identity credentials can be added to an application or user-assigned
#: managed identity"); also the AKS workload identity overview, Limitations.
MAX_FEDERATED_CREDENTIALS_PER_IDENTITY = 20

#: Federated credential names: 3-120 characters of letters, digits, '-' and '_', starting with a letter
#: or digit; immutable once created (same source, "federated credential configuration considerations").
FIC_NAME_MIN = 3
FIC_NAME_MAX = 120
FIC_NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{2,119}$")
#: issuer, subject and audience values: at most 600 characters each
FIC_FIELD_MAX = 600

#: User-assigned identity names: 3-128 characters, letters, digits, '-' and '_', starting alphanumeric.
IDENTITY_NAME_MAX = 128
IDENTITY_NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{2,127}$")

#: Kubernetes object names such as service accounts (DNS-1123 subdomain).
K8S_NAME_MAX = 253
