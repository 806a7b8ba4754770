"""QuickBooks' request limits per company (realm): requests per minute and requests in flight.

Real values (notes section 5): 500 requests a minute per realm, and more than 10 concurrent requests to one
realm answer `429 Too Many Requests`. Both answer the gateway's throttle body, code 3001
"message=ThrottleExceeded; errorCode=003001; statusCode=429" (recorded by integrators). No rate-limit or
Retry-After header is sent: none is documented (unconfirmed); Intuit says to wait 60 seconds.
`config.limit_overrides` keys "quickbooks.per_minute" and "quickbooks.concurrency"; `config.rate_limits ==
"off"` disables both. The documented 10 requests/second per realm and app is not enforced separately.
"""

from __future__ import annotations

import threading

from ml_connector.sandbox.config import SandboxConfig
from ml_connector.sandbox.ratelimit import SlidingWindow


class Throttled(Exception):
    """The request is over a limit; the gateway answers 429."""


class RealmLimits:
    def __init__(self, config: SandboxConfig) -> None:
        self.enforce = config.enforce_rate_limits
        self.per_minute = SlidingWindow(int(config.limit("quickbooks.per_minute", 500)), 60.0)
        self.concurrency = int(config.limit("quickbooks.concurrency", 10))
        self.in_flight: dict[str, int] = {}
        self.throttled = 0  # 429s answered for limits (not for injected faults)
        self._lock = threading.Lock()

    def enter(self, realm: str) -> None:
        """Admit one request for `realm` or raise Throttled; admitted requests must `leave`."""
        with self._lock:
            if self.enforce and (self.in_flight.get(realm, 0) >= self.concurrency
                                 or not self.per_minute.hit(realm)):
                self.throttled += 1
                raise Throttled(realm)
            self.in_flight[realm] = self.in_flight.get(realm, 0) + 1

    def leave(self, realm: str) -> None:
        with self._lock:
            self.in_flight[realm] = max(0, self.in_flight.get(realm, 0) - 1)

    def reset(self) -> None:
        with self._lock:
            self.per_minute = SlidingWindow(self.per_minute.limit, self.per_minute.window_seconds)
