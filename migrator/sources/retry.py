"""Retries with exponential backoff and full jitter, honouring Retry-After, through the injected clock.

azure-core retries a 429 only three times without jitter and never a 409; the Kubernetes client
does not retry LISTs at all. This policy is ours, shared by the live sources and the executor.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from email.utils import parsedate_to_datetime

RETRYABLE_STATUS = frozenset({429, 500, 502, 503, 504})


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    max_attempts: int = 6
    base: float = 0.5
    cap: float = 30.0
    retry_after_cap: float = 120.0

    def delay(self, attempt: int, retry_after: float | None, rng: random.Random) -> float:
        """Seconds to wait before attempt ``attempt + 1`` (attempt counts from 1)."""
        jittered = rng.uniform(0, min(self.cap, self.base * (2 ** (attempt - 1))))
        if retry_after is not None:
            return min(self.retry_after_cap, max(retry_after, jittered))
        return jittered


def parse_retry_after(value: str | None) -> float | None:
    """Retry-After as seconds: delta-seconds or an HTTP date (relative to the date itself, never wall time)."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return None  # an absolute date: fall back to our own backoff
