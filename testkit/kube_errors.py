"""``metav1.Status`` errors as kube-apiserver sends them."""

from __future__ import annotations

from typing import Any

__all__ = ["KubeError", "status_body", "REASONS", "not_found", "already_exists", "conflict", "invalid",
           "bad_request"]

REASONS = {
    400: "BadRequest", 401: "Unauthorized", 403: "Forbidden", 404: "NotFound", 405: "MethodNotAllowed",
    406: "NotAcceptable", 409: "Conflict", 410: "Expired", 413: "RequestEntityTooLarge",
    415: "UnsupportedMediaType", 422: "Invalid", 429: "TooManyRequests", 500: "InternalError",
    503: "ServiceUnavailable", 504: "Timeout",
}


def status_body(code: int, reason: str | None, message: str, details: dict[str, Any] | None = None,
                metadata: dict[str, Any] | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"kind": "Status", "apiVersion": "v1", "metadata": metadata or {},
                            "status": "Failure", "message": message, "reason": reason or REASONS.get(code, "")}
    if details is not None:
        body["details"] = details
    body["code"] = code
    return body


class KubeError(Exception):
    def __init__(self, code: int, reason: str | None, message: str, details: dict[str, Any] | None = None,
                 metadata: dict[str, Any] | None = None, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.reason = reason or REASONS.get(code, "")
        self.message = message
        self.details = details
        self.metadata = metadata
        self.headers = headers or {}

    def body(self) -> dict[str, Any]:
        return status_body(self.code, self.reason, self.message, self.details, self.metadata)


def _details(name: str | None, group: str, plural: str) -> dict[str, Any]:
    d: dict[str, Any] = {}
    if name is not None:
        d["name"] = name
    if group:
        d["group"] = group
    d["kind"] = plural
    return d


def not_found(qualified: str, name: str, group: str, plural: str) -> KubeError:
    return KubeError(404, "NotFound", f'{qualified} "{name}" not found', _details(name, group, plural))


def already_exists(qualified: str, name: str, group: str, plural: str) -> KubeError:
    return KubeError(409, "AlreadyExists", f'{qualified} "{name}" already exists', _details(name, group, plural))


def conflict(qualified: str, name: str, group: str, plural: str) -> KubeError:
    return KubeError(409, "Conflict", f'Operation cannot be fulfilled on {qualified} "{name}": the object has been '
                                      "modified; please apply your changes to the latest version and try again",
                     _details(name, group, plural))


def invalid(kind: str, name: str, group: str, causes: list[tuple[str, str]]) -> KubeError:
    """``causes``: (field, message) pairs."""
    msg = "; ".join(f"{f}: {m}" for f, m in causes)
    d = {"name": name, "group": group, "kind": kind,
         "causes": [{"reason": "FieldValueInvalid", "message": m, "field": f} for f, m in causes]}
    if not group:
        del d["group"]
    return KubeError(422, "Invalid", f'{kind} "{name}" is invalid: {msg}', d)


def bad_request(message: str) -> KubeError:
    return KubeError(400, "BadRequest", message)
