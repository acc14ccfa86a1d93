"""Proving the federation end to end, before any workload is touched (step 2).

For a service account: a TokenRequest with the audience ``api://AzureADTokenExchange`` (what the
webhook's projected volume will carry), its ``iss`` and ``sub`` checked against the issuer the
cluster reports now, then the token exchanged at the Entra token endpoint
(``<authority>/<tenant>/oauth2/v2.0/token``, client-credentials grant with the token as a JWT
client assertion) for the planned client ID, exactly as ``WorkloadIdentityCredential`` does in the
pod. ``AADSTS70021`` ("no matching federated identity record") is retried within a bounded wait on the
injected clock: a new credential takes seconds to minutes to propagate.

The POST goes through azure-core's pipeline (its transport, TLS settings and user agent); retries are
ours.
"""

from __future__ import annotations

import base64
import json
import random
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from migrator.clock import Clock
from migrator.sources.retry import RETRYABLE_STATUS, RetryPolicy, parse_retry_after

if TYPE_CHECKING:
    from azure.core import PipelineClient
    from azure.core.rest import HttpRequest, HttpResponse

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
_AADSTS = re.compile(r"AADSTS(\d+)")


def jwt_claims(token: str) -> dict[str, Any]:
    """The payload of a JWT, unverified (we only read what the API server put there)."""
    try:
        payload = token.split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except (IndexError, ValueError):
        return {}
    return claims if isinstance(claims, dict) else {}


@dataclass(frozen=True, slots=True)
class Exchange:
    ok: bool
    code: int | None = None  # AADSTS code
    message: str | None = None
    claims: dict[str, Any] | None = None  # of the access token (ok)
    attempts: int = 1
    waited: float = 0.0


class TokenExchanger:
    """The Entra token endpoint, reached through azure-core."""

    def __init__(self, authority: str, *, clock: Clock, connection_verify: str | bool | None = None,
                 retry: RetryPolicy = RetryPolicy(), scope: str = "https://management.azure.com/.default",
                 rng: random.Random | None = None) -> None:
        from azure.core import PipelineClient
        from azure.core.pipeline.policies import HeadersPolicy, UserAgentPolicy
        from azure.core.pipeline.transport import RequestsTransport

        self.authority = authority if authority.endswith("/") else authority + "/"
        self.clock = clock
        self.retry = retry
        self.scope = scope
        self.rng = rng or random.Random(0)
        kwargs: dict[str, Any] = {}
        if connection_verify is not None:
            kwargs["connection_verify"] = connection_verify
        self._client: PipelineClient[HttpRequest, HttpResponse] = PipelineClient(
            self.authority, policies=[HeadersPolicy(), UserAgentPolicy("wi-migrator")],
            transport=RequestsTransport(**kwargs))

    def exchange_once(self, tenant: str, client_id: str, assertion: str) -> tuple[int, dict[str, Any]]:
        from azure.core.exceptions import ServiceRequestError, ServiceResponseError
        from azure.core.rest import HttpRequest

        form = {"client_id": client_id, "scope": self.scope, "grant_type": "client_credentials",
                "client_assertion_type": ASSERTION_TYPE, "client_assertion": assertion}
        attempt = 0
        while True:
            attempt += 1
            retry_after = None
            try:
                request = HttpRequest("POST", f"{self.authority}{tenant}/oauth2/v2.0/token", data=form)
                response = self._client.send_request(request)
                status = response.status_code
                try:
                    body = json.loads(response.read() or b"{}")
                except ValueError:
                    body = {"error_description": response.text()[:200]}
            except (ServiceRequestError, ServiceResponseError) as exc:
                if attempt >= self.retry.max_attempts:
                    return 0, {"error_description": f"the token endpoint did not answer: {exc}"}
            else:
                if status not in RETRYABLE_STATUS or attempt >= self.retry.max_attempts:
                    return status, body
                retry_after = parse_retry_after(response.headers.get("Retry-After"))
            self.clock.sleep(self.retry.delay(attempt, retry_after, self.rng))

    def exchange(self, tenant: str, client_id: str, assertion: Callable[[], str], *, propagation_timeout: float,
                 poll: float = 10.0, on_wait: Callable[[float, str], None] | None = None) -> Exchange:
        """Exchange, retrying AADSTS70021 (credential not propagated yet) until ``propagation_timeout``."""
        started = self.clock.monotonic()
        attempts = 0
        while True:
            attempts += 1
            status, body = self.exchange_once(tenant, client_id, assertion())
            waited = self.clock.monotonic() - started
            if status == 200 and body.get("access_token"):
                return Exchange(True, claims=jwt_claims(str(body["access_token"])), attempts=attempts, waited=waited)
            description = str(body.get("error_description") or body.get("error") or f"HTTP {status}")
            codes = body.get("error_codes") or []
            match = _AADSTS.search(description)
            code = int(codes[0]) if codes else (int(match.group(1)) if match else None)
            short = description.split(" Trace ID:")[0]
            if code == 70021 and waited + poll <= propagation_timeout:
                if on_wait is not None:
                    on_wait(waited, short)
                self.clock.sleep(poll)
                continue
            return Exchange(False, code, short, attempts=attempts, waited=waited)


def explain(code: int | None, message: str | None) -> str:
    """What to do about a failed exchange."""
    hints = {
        70021: "no federated credential matches the token's issuer and subject: create it (terraform apply of "
               "the rendered plan) with the cluster's current issuer, or wait longer for it to propagate "
               "(--propagation-timeout)",
        700212: "the credential's audience is not api://AzureADTokenExchange",
        700016: "the client ID is not an identity of this tenant: check the plan's client ID",
        50166: "Entra cannot reach the cluster's OIDC issuer: is the OIDC issuer enabled and public?",
        700027: "the token's signature does not verify against the issuer's keys (rotated keys?)",
        700024: "the token is outside its validity period: check the clocks",
    }
    return f"{message or 'token exchange failed'}" + (f" — {hints[code]}" if code in hints else "")
