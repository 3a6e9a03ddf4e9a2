"""How fast each provider is fed: recipients per publish call, messages per second, and the pacing between batches."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from optimizers.send_time import hourly_capacity as _capacity
from publishers.mailgun import MAX_BATCH as MAILGUN_MAX_BATCH
from publishers.sendgrid import MAX_PERSONALIZATIONS as SENDGRID_MAX_BATCH


@dataclass(frozen=True)
class ProviderLimits:
    """How much one provider takes: recipients per publish call (one request for HTTP APIs) and messages per second.

    The rates are conservative defaults per worker process; raise them to what the account's plan allows.
    """

    provider: str
    max_batch: int
    per_second: float | None  # None: not throttled


PROVIDER_LIMITS: dict[str, ProviderLimits] = {
    "sandbox": ProviderLimits("sandbox", 1000, None),
    "smtp": ProviderLimits("smtp", 50, 10.0),  # one connection, one message per recipient
    "sendgrid": ProviderLimits("sendgrid", SENDGRID_MAX_BATCH, 1000.0),
    "mailgun": ProviderLimits("mailgun", MAILGUN_MAX_BATCH, 500.0),
}


def hourly_capacity(provider: str) -> int | None:
    """Messages per hour `provider` takes at its rate (None: not throttled, or an unknown provider)."""
    limits = PROVIDER_LIMITS.get(provider)
    return _capacity(limits.per_second) if limits else None


class Throttle:
    """Paces batches to `per_second` messages: each batch waits until the previous ones' share of time has passed."""

    def __init__(self, per_second: float | None, clock: Callable[[], float] = time.monotonic, sleep: Callable[[float], None] = time.sleep) -> None:
        self.per_second, self.clock, self.sleep = per_second, clock, sleep
        self._next: float | None = None

    def wait(self, messages: int) -> float:
        if not self.per_second:
            return 0.0
        now = self.clock()
        delay = max(0.0, self._next - now) if self._next is not None else 0.0
        if delay:
            self.sleep(delay)
        self._next = max(self._next or now, now) + messages / self.per_second
        return delay
