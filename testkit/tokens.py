"""RS256 JSON Web Tokens for the local servers (service-account tokens, Entra access tokens).

Keys are generated lazily (RSA-2048 generation costs tens of milliseconds; a fleet of a thousand
clusters must not pay it at start-up).  ``kid`` is the base64url SHA-256 of the DER public key,
as kube-apiserver computes it.
"""

from __future__ import annotations

import base64
import hashlib
import json
import threading
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

__all__ = ["SigningKey", "b64url", "b64url_decode", "decode_unverified", "verify", "TokenError"]


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64url_decode(s: str) -> bytes:
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


class TokenError(ValueError):
    pass


class SigningKey:
    """An RSA key pair created on first use."""

    def __init__(self) -> None:
        self._key: rsa.RSAPrivateKey | None = None
        self._lock = threading.Lock()
        self._kid: str | None = None

    @property
    def private_key(self) -> rsa.RSAPrivateKey:
        with self._lock:
            if self._key is None:
                self._key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
            return self._key

    @property
    def public_key(self) -> rsa.RSAPublicKey:
        return self.private_key.public_key()

    @property
    def kid(self) -> str:
        if self._kid is None:
            der = self.public_key.public_bytes(serialization.Encoding.DER,
                                               serialization.PublicFormat.SubjectPublicKeyInfo)
            self._kid = b64url(hashlib.sha256(der).digest())
        return self._kid

    def jwk(self) -> dict[str, str]:
        nums = self.public_key.public_numbers()

        def _int(n: int) -> str:
            return b64url(n.to_bytes((n.bit_length() + 7) // 8, "big"))

        return {"use": "sig", "kty": "RSA", "kid": self.kid, "alg": "RS256", "n": _int(nums.n), "e": _int(nums.e)}

    def jwks(self) -> dict[str, Any]:
        return {"keys": [self.jwk()]}

    def sign(self, claims: dict[str, Any], typ: str | None = None) -> str:
        header: dict[str, Any] = {"alg": "RS256", "kid": self.kid}
        if typ:
            header["typ"] = typ
        signing_input = (b64url(json.dumps(header, separators=(",", ":")).encode()) + "."
                         + b64url(json.dumps(claims, separators=(",", ":")).encode()))
        sig = self.private_key.sign(signing_input.encode(), padding.PKCS1v15(), hashes.SHA256())
        return signing_input + "." + b64url(sig)


def decode_unverified(token: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """(header, claims) without checking the signature; raises TokenError when malformed."""
    try:
        h, c, _s = token.split(".")
        return json.loads(b64url_decode(h)), json.loads(b64url_decode(c))
    except Exception as exc:  # noqa: BLE001 - any parse failure is "malformed"
        raise TokenError(f"malformed JWT: {exc}") from exc


def verify(token: str, public_key: rsa.RSAPublicKey) -> dict[str, Any]:
    """Check an RS256 signature; returns the claims.  Does not check time or audience."""
    header, claims = decode_unverified(token)
    if header.get("alg") != "RS256":
        raise TokenError(f"unsupported alg {header.get('alg')!r}")
    h, c, s = token.split(".")
    try:
        public_key.verify(b64url_decode(s), f"{h}.{c}".encode(), padding.PKCS1v15(), hashes.SHA256())
    except InvalidSignature as exc:
        raise TokenError("signature does not verify") from exc
    return claims
