"""Xero's API limits: per tenant 5 in flight, 60 a minute, 5,000 a day; 10,000 a minute per app (notes §6).

Every accounting response carries `X-DayLimit-Remaining`, `X-MinLimit-Remaining` and `X-AppMinLimit-Remaining`
(recorded: each call, the attachment PUT too, takes one from all three); `GET /connections` is tenantless and
carries only `X-AppMinLimit-Remaining` (Xero staff, XeroAPI/xero-ruby#128). A refused call counts against
nothing and answers HTTP 429 with an empty body (UNCONFIRMED body), `Retry-After: <whole seconds>` and
`X-Rate-Limit-Problem` naming the limit, checked in this order:
- "concurrent"  5 calls in progress per tenant (`xero.concurrency`); Retry-After 1 (UNCONFIRMED value).
- "day"         5,000 per tenant per sandbox day (`xero.daily`); Retry-After = seconds to the next day.
- "appminute"   10,000 per rolling 60 s across tenants (`xero.app_per_minute`).
- "minute"      60 per rolling 60 s per tenant (`xero.per_minute`); Retry-After = seconds until a slot frees.
The header values "minute" and "day" are observed; "concurrent" and "appminute" follow Xero's names for the
limits (UNCONFIRMED spelling).

The sandbox day: Xero's daily window is reportedly a rolling 24 h (3p); the sandbox uses fixed days of
`xero.day_seconds` wall-clock seconds (default 86,400) counted from the sandbox's first start, so a test can
run a month across two days in seconds. `POST /_sandbox/next-day` starts the next day at once.
`config.rate_limits == "off"` disables the refusals; the headers are still sent.
"""

from __future__ import annotations

import math
import threading
import time
from collections import Counter

from ml_connector.sandbox.config import SandboxConfig
from ml_connector.sandbox.ratelimit import SlidingWindow

PROBLEMS = ("concurrent", "day", "appminute", "minute")


class RateLimited(Exception):
    def __init__(self, problem: str, retry_after: int) -> None:
        super().__init__(f"rate limited: {problem}")
        self.problem = problem
        self.retry_after = retry_after


class XeroLimits:
    def __init__(self, config: SandboxConfig, clock=time.time) -> None:
        self.enforce = config.enforce_rate_limits
        self.per_minute = int(config.limit("xero.per_minute", 60))
        self.concurrency = int(config.limit("xero.concurrency", 5))
        self.daily = int(config.limit("xero.daily", 5000))
        self.app_per_minute = int(config.limit("xero.app_per_minute", 10_000))
        self.day_seconds = float(config.limit("xero.day_seconds", 86_400))
        self.app_key = config.credentials.xero_client_id
        self._clock = clock
        self._lock = threading.Lock()
        self._new_windows()
        self.epoch = clock()
        self.day_offset = 0
        self.daily_used: dict[str, int] = {}  # "<tenant>|<day>" -> calls
        self.in_flight: dict[str, int] = {}
        self.refused: Counter[str] = Counter()

    def _new_windows(self) -> None:
        self.minute = SlidingWindow(self.per_minute, 60.0, self._clock)
        self.app_minute = SlidingWindow(self.app_per_minute, 60.0, self._clock)

    # --- the sandbox day ------------------------------------------------------------------------

    def day(self) -> int:
        return int((self._clock() - self.epoch) // self.day_seconds) + self.day_offset

    def seconds_to_next_day(self) -> float:
        elapsed = self._clock() - self.epoch
        return (math.floor(elapsed / self.day_seconds) + 1) * self.day_seconds - elapsed

    def next_day(self) -> int:
        with self._lock:
            self.day_offset += 1
            return self.day()

    # --- admitting calls ------------------------------------------------------------------------

    def enter(self, tenant: str) -> None:
        """Admit one call for `tenant` or raise RateLimited; an admitted call must `leave`."""
        with self._lock:
            day_key = f"{tenant}|{self.day()}"
            if self.enforce:
                problem = self._first_problem(tenant, day_key)
                if problem is not None:
                    self.refused[problem[0]] += 1
                    raise RateLimited(*problem)
            # The windows count even with limits off, so the remaining-calls headers stay truthful.
            self.minute.hit(tenant)
            self.app_minute.hit(self.app_key)
            self.daily_used[day_key] = self.daily_used.get(day_key, 0) + 1
            self.in_flight[tenant] = self.in_flight.get(tenant, 0) + 1

    def _first_problem(self, tenant: str, day_key: str) -> tuple[str, int] | None:
        if self.in_flight.get(tenant, 0) >= self.concurrency:
            return "concurrent", 1
        if self.daily_used.get(day_key, 0) >= self.daily:
            return "day", max(1, math.ceil(self.seconds_to_next_day()))
        if self.app_minute.remaining(self.app_key) <= 0:
            return "appminute", max(1, math.ceil(self.app_minute.seconds_until_free(self.app_key)))
        if self.minute.remaining(tenant) <= 0:
            return "minute", max(1, math.ceil(self.minute.seconds_until_free(tenant)))
        return None

    def enter_tenantless(self) -> None:
        """`GET /connections`: only the app-wide minute applies."""
        with self._lock:
            if not self.app_minute.hit(self.app_key) and self.enforce:
                self.refused["appminute"] += 1
                raise RateLimited("appminute", max(1, math.ceil(self.app_minute.seconds_until_free(self.app_key))))

    def leave(self, tenant: str) -> None:
        with self._lock:
            self.in_flight[tenant] = max(0, self.in_flight.get(tenant, 0) - 1)

    def headers(self, tenant: str | None) -> dict[str, str]:
        out = {"X-AppMinLimit-Remaining": str(self.app_minute.remaining(self.app_key))}
        if tenant is not None:
            with self._lock:
                used = self.daily_used.get(f"{tenant}|{self.day()}", 0)
            out.update({"X-DayLimit-Remaining": str(max(0, self.daily - used)),
                        "X-MinLimit-Remaining": str(self.minute.remaining(tenant))})
        return out

    def reset(self) -> None:
        with self._lock:
            self.daily_used.clear()
            self._new_windows()

    def stats(self) -> dict:
        with self._lock:
            day = self.day()
            return {"rate_limited": {p: self.refused.get(p, 0) for p in PROBLEMS},
                    "in_flight": sum(self.in_flight.values()), "day": day,
                    "day_used": sum(n for key, n in self.daily_used.items() if key.endswith(f"|{day}")),
                    "seconds_to_next_day": round(self.seconds_to_next_day(), 3)}

    def dump(self) -> dict:
        with self._lock:
            return {"epoch": self.epoch, "day_offset": self.day_offset, "daily_used": dict(self.daily_used)}

    def load(self, data: dict) -> None:
        with self._lock:
            self.epoch = float(data.get("epoch", self.epoch))
            self.day_offset = int(data.get("day_offset", 0))
            self.daily_used = {key: int(value) for key, value in data.get("daily_used", {}).items()}
