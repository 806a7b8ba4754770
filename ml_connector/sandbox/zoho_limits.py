"""Zoho Books API limits per organisation: per minute, per org-local day, and requests in flight.

Real values (introduction page): 100 requests/minute/org (429 code 44); a daily quota by plan,
Professional 5000 (429 code 45, message naming the number); 10 concurrent requests on paid plans
(429 code 1070). The daily window is the organisation's local day (recorded X-Rate-Limit-Reset lands at
23:59:59 America/New_York; a "uk" organisation's day is Europe/London's). `config.limit_overrides` keys:
"zoho.per_minute", "zoho.daily", "zoho.concurrency"; `config.rate_limits == "off"` disables the rejections
(headers are still sent).
No Retry-After header is sent: whether Zoho sends one is unconfirmed.
"""

from __future__ import annotations

import threading
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from ml_connector.sandbox.config import SandboxConfig
from ml_connector.sandbox.ratelimit import SlidingWindow
from ml_connector.sandbox.zoho_records import ZohoError
from ml_connector.sandbox.zoho_reference import DAILY_QUOTA_BY_PLAN, ORG_TIME_ZONE, PLAN_NAME, org_now

PER_MINUTE_MESSAGE = ("For security reasons your organization has been blocked as it have exceeded the "
                      "maximum number of requests per minute that can originate from an organization.")
CONCURRENCY_MESSAGE = ("You have reached the maximum number of in process requests allowed. Kindly try again "
                       "after some time.")


def per_minute_error() -> ZohoError:
    return ZohoError(429, 44, PER_MINUTE_MESSAGE)


def daily_error(quota: int) -> ZohoError:
    return ZohoError(429, 45, "The API call for this organization has exceeded the maximum call rate limit "
                              f"of {quota}.")


class BooksLimits:
    def __init__(self, config: SandboxConfig, zone: ZoneInfo = ORG_TIME_ZONE) -> None:
        self.zone = zone  # the organisation's zone: its day is the daily window
        self.enforce = config.enforce_rate_limits
        self.per_minute = SlidingWindow(int(config.limit("zoho.per_minute", 100)), 60.0)
        self.daily_quota = int(config.limit("zoho.daily", DAILY_QUOTA_BY_PLAN[PLAN_NAME]))
        self.concurrency = int(config.limit("zoho.concurrency", 10))
        self.daily_used: dict[str, int] = {}  # "<org>|<org-local date>" -> requests counted
        self.in_flight: dict[str, int] = {}
        self.throttled: dict[int, int] = {}  # Zoho code (44, 45, 1070) -> 429 answers given
        self._lock = threading.Lock()

    def _day_key(self, org: str) -> str:
        return f"{org}|{org_now(self.zone).date().isoformat()}"

    def enter(self, org: str) -> None:
        """Admit one request for `org` or raise the 429 Zoho gives; admitted requests must `leave`."""
        with self._lock:
            if self.enforce and self.in_flight.get(org, 0) >= self.concurrency:
                raise self._throttle(ZohoError(429, 1070, CONCURRENCY_MESSAGE))
            day = self._day_key(org)
            if self.enforce and self.daily_used.get(day, 0) >= self.daily_quota:
                raise self._throttle(daily_error(self.daily_quota))
            if self.enforce and not self.per_minute.hit(org):
                raise self._throttle(per_minute_error())
            self.daily_used[day] = self.daily_used.get(day, 0) + 1
            self.in_flight[org] = self.in_flight.get(org, 0) + 1

    def _throttle(self, error: ZohoError) -> ZohoError:
        self.throttled[error.code] = self.throttled.get(error.code, 0) + 1
        return error

    def leave(self, org: str) -> None:
        with self._lock:
            self.in_flight[org] = max(0, self.in_flight.get(org, 0) - 1)

    def headers(self, org: str) -> dict[str, str]:
        now = org_now(self.zone)
        end_of_day = datetime.combine(now.date(), datetime.max.time().replace(microsecond=0), now.tzinfo)
        with self._lock:
            used = self.daily_used.get(self._day_key(org), 0)
        reset = max(0, int((end_of_day - now) / timedelta(seconds=1)))
        return {"X-Rate-Limit-Limit": str(self.daily_quota),
                "X-Rate-Limit-Remaining": str(max(0, self.daily_quota - used)),
                "X-Rate-Limit-Reset": str(reset)}

    def reset(self) -> None:
        with self._lock:
            self.daily_used.clear()
            self.per_minute = SlidingWindow(self.per_minute.limit, self.per_minute.window_seconds)

    def dump(self) -> dict:
        with self._lock:
            return {"daily_used": dict(self.daily_used)}

    def load(self, data: dict) -> None:
        with self._lock:
            self.daily_used = {key: int(value) for key, value in data.get("daily_used", {}).items()}
