"""The attack tests that need the local Kubernetes and ARM servers use the live tests' ``served`` fixture."""

from tests.live.conftest import served  # noqa: F401
