"""Xero's daily limit (5,000 calls per organisation, notes §6), kept as a day state every process shares.

Xero says how many calls are left on every answer (`X-DayLimit-Remaining`) but not when the day's count comes
back: only a refusal does (HTTP 429, `X-Rate-Limit-Problem: day`, `Retry-After` seconds; Xero's window is
reportedly a rolling 24 hours). So the state, one row of the store's `rate_budgets` (system `xero-day`, the
tenant id as key), holds the last count Xero reported and, once a call was refused for the day, the moment
the quota returns (`paused_until`). Before every call a process reads it: while the day is used up nobody sends
anything; a run waits for the next day when that is within `max_wait_seconds`, and otherwise stops with a
retryable `RateLimited(is_daily_quota=True)` carrying the wait, instead of sending calls Xero would refuse.
At most one call per process learns when the day ends (its 429), never a loop of them.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from ml_connector.errors import RateLimited
from ml_connector.store.db import write_transaction
from ml_connector.store.schema import rate_budgets

log = logging.getLogger("ml_connector.xero")

DAY_SYSTEM = "xero-day"
DAILY_LIMIT = 5000
MAX_WAIT_SECONDS = 900.0  # the longest a run waits for the next day before it stops and is retried later
STALE_AFTER_SECONDS = 86_400.0  # a count older than Xero's rolling day says nothing about today


class DailyLimitReached(RateLimited):
    """Xero refused a call for the day. `resets_in` says when the quota returns; `retry_after` stays empty so the
    transport does not hold back the per-minute budget for hours (the day state does that)."""

    def __init__(self, message: str, *, resets_in: float) -> None:
        super().__init__(message, system="xero", retry_after=None, vendor_code="day", is_daily_quota=True)
        self.resets_in = resets_in


@dataclass(frozen=True)
class DayState:
    remaining: int | None  # the last X-DayLimit-Remaining, if recent
    paused_until: float  # epoch seconds; the day is used up until then


def _seconds(seconds: float) -> str:
    hours, rest = divmod(int(seconds + 0.5), 3600)
    return f"{hours} h {rest // 60:02d} min" if hours else f"{rest // 60} min {rest % 60:02d} s"


class DayQuota:
    """The daily count of one Xero organisation, shared by every process through the store."""

    def __init__(self, engine: Engine, tenant_id: str, *, daily: int = DAILY_LIMIT,
                 max_wait_seconds: float = MAX_WAIT_SECONDS, clock: Callable[[], float] = time.time,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.engine = engine
        self.key = tenant_id[:128]
        self.daily = daily
        self.max_wait_seconds = max_wait_seconds
        self._clock = clock
        self._sleep = sleep
        self.waited_seconds = 0.0
        self.days_waited = 0

    def _row_filter(self):
        return (rate_budgets.c.system == DAY_SYSTEM) & (rate_budgets.c.budget_key == self.key)

    # The row's columns: `paused_until` is the day's end once refused; the count and when it was seen go in
    # the budget's own fields (`recent` as JSON, or `tokens`/`updated_at` in stores that still have them).
    def _count_values(self, remaining: int | None, seen: float) -> dict:
        if "recent" in rate_budgets.c:
            return {"recent": {"remaining": remaining, "seen": seen}}
        return {"tokens": -1.0 if remaining is None else float(remaining), "updated_at": seen}

    def _count_of(self, row) -> tuple[int | None, float]:
        if "recent" in rate_budgets.c:
            recent = row.recent if isinstance(row.recent, dict) else {}
            return recent.get("remaining"), float(recent.get("seen") or 0.0)
        return (None if row.tokens < 0 else int(row.tokens)), float(row.updated_at)

    def state(self) -> DayState:
        with self.engine.connect() as connection:
            row = connection.execute(sa.select(rate_budgets).where(self._row_filter())).first()
        if row is None:
            return DayState(None, 0.0)
        remaining, seen = self._count_of(row)
        now = self._clock()
        if remaining is not None and now - seen > STALE_AFTER_SECONDS:
            remaining = None
        return DayState(remaining, float(row.paused_until or 0.0))

    def left_today(self) -> int:
        """Calls Xero would still take today, as far as anyone here has seen."""
        state = self.state()
        if state.paused_until > self._clock():
            return 0
        return self.daily if state.remaining is None else state.remaining

    def before_call(self) -> None:
        """Wait while the day is used up (or raise, when the wait is longer than a run should take)."""
        while True:
            until = self.state().paused_until
            wait = until - self._clock()
            if wait <= 0:
                return
            when = datetime.fromtimestamp(until, tz=UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
            if wait > self.max_wait_seconds:
                raise RateLimited(f"Xero's daily limit of {self.daily:,} calls for organisation {self.key} is used "
                                  f"up until {when} ({_seconds(wait)}); posting continues then: the run stops "
                                  f"now and its retry (or the next run) picks up where it left off",
                                  system="xero", retry_after=wait, vendor_code="day", is_daily_quota=True)
            log.warning("Xero's daily limit of %s calls for organisation %s is used up: waiting %s, until %s, for "
                        "the next day's calls", f"{self.daily:,}", self.key, _seconds(wait), when)
            self.waited_seconds += wait
            self.days_waited += 1
            self._sleep(wait + 0.05)

    def observe(self, remaining: int) -> None:
        """The count an answer reported (X-DayLimit-Remaining), written now and then: it informs advice, while
        the pause (written at once) is what stops calls."""
        if remaining < 100 or remaining % 25 == 0:
            self._write(remaining, None)

    def exhausted(self, resets_in: float) -> None:
        """Xero refused a call for the day: nobody sends again until it said the quota returns."""
        self._write(0, self._clock() + max(1.0, resets_in))

    def _write(self, remaining: int | None, paused_until: float | None) -> None:
        now = self._clock()
        values = self._count_values(remaining, now)
        if paused_until is not None:
            values["paused_until"] = paused_until
        with write_transaction(self.engine) as connection:
            updated = connection.execute(rate_budgets.update().where(self._row_filter()).values(**values)).rowcount
            if not updated:
                try:
                    with connection.begin_nested():
                        connection.execute(rate_budgets.insert().values(
                            system=DAY_SYSTEM, budget_key=self.key, **{"paused_until": 0.0, **values}))
                except sa.exc.IntegrityError:
                    connection.execute(rate_budgets.update().where(self._row_filter()).values(**values))
