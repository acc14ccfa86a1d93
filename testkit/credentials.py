"""Static Azure credentials for tests.

Never use ``DefaultAzureCredential`` against the local servers: it probes the instance metadata
service (169.254.169.254), which is not loopback.  These credentials implement the azure-core
``TokenCredential`` / ``SupportsTokenInfo`` protocols (and their async twins) and hand out one fixed
bearer token that :class:`~testkit.arm_server.ArmServer` accepts.

``expires_on`` uses real time on purpose: azure-core's ``BearerTokenCredentialPolicy`` judges token
freshness with ``time.time()``, not with the injected clock.
"""

from __future__ import annotations

import time
from typing import Any

from azure.core.credentials import AccessToken, AccessTokenInfo

__all__ = ["StaticCredential", "AsyncStaticCredential", "STATIC_TOKEN"]

STATIC_TOKEN = "wi-migrator-test-arm-token"


class StaticCredential:
    def __init__(self, token: str = STATIC_TOKEN, expires_in: int = 3600) -> None:
        self.token = token
        self.expires_in = expires_in
        self.requests: list[tuple[str, ...]] = []   # scopes of every token request

    def get_token(self, *scopes: str, claims: str | None = None, tenant_id: str | None = None,
                  enable_cae: bool = False, **kwargs: Any) -> AccessToken:
        self.requests.append(tuple(scopes))
        return AccessToken(self.token, int(time.time()) + self.expires_in)

    def get_token_info(self, *scopes: str, options: Any = None) -> AccessTokenInfo:
        self.requests.append(tuple(scopes))
        return AccessTokenInfo(self.token, int(time.time()) + self.expires_in)

    def close(self) -> None:
        pass

    def __enter__(self) -> "StaticCredential":
        return self

    def __exit__(self, *exc: Any) -> None:
        pass


class AsyncStaticCredential:
    def __init__(self, token: str = STATIC_TOKEN, expires_in: int = 3600) -> None:
        self.token = token
        self.expires_in = expires_in
        self.requests: list[tuple[str, ...]] = []

    async def get_token(self, *scopes: str, claims: str | None = None, tenant_id: str | None = None,
                        enable_cae: bool = False, **kwargs: Any) -> AccessToken:
        self.requests.append(tuple(scopes))
        return AccessToken(self.token, int(time.time()) + self.expires_in)

    async def get_token_info(self, *scopes: str, options: Any = None) -> AccessTokenInfo:
        self.requests.append(tuple(scopes))
        return AccessTokenInfo(self.token, int(time.time()) + self.expires_in)

    async def close(self) -> None:
        pass

    async def __aenter__(self) -> "AsyncStaticCredential":
        return self

    async def __aexit__(self, *exc: Any) -> None:
        pass
