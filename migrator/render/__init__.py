"""Rendering: Terraform, Kubernetes manifests and runbooks from a plan, and the escaping filters."""
