"""The plan: every (cluster, namespace, serviceaccount) mapped to a federated identity credential.

Pure functions over the catalog. Where each decision lives:
``names`` (credential and identity names), ``limits`` (Azure's 20-per-identity rule),
``conflicts`` (service accounts shared across identities, workloads with several identities),
``strategy`` (reuse vs per-workload identities), ``prerequisites`` (OIDC issuer, workload identity),
``build`` (puts them together), ``model`` (the schema-versioned plan file).
"""
