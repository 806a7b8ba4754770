"""One rate budget per (system, organisation), shared through the store by every process that calls it.

A sliding window kept in one row of `rate_budgets` (the start times of the requests of the last window, the
way the vendors count): taking a slot is a short write transaction (BEGIN IMMEDIATE on SQLite, SELECT ... FOR
UPDATE on PostgreSQL), so four processes posting four months to one Zoho organisation together stay under
Zoho's 100 a minute, exactly as one process alone does. At most `limit * headroom` requests start in any
`window` seconds. A server that says "wait" (429 with Retry-After) pauses the budget for everyone.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from ml_connector.store.db import write_transaction
from ml_connector.store.schema import rate_budgets
from ml_connector.store.sql import for_update


class StoreRateBudget:
    """The `RateLimiter` interface (`acquire`, `pause`, `waited_seconds`) over a row shared by processes."""

    def __init__(self, engine: Engine, system: str, key: str, limit: int, window_seconds: float, *,
                 headroom: float = 0.9, clock: Callable[[], float] = time.time,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.engine = engine
        self.system = system
        self.key = key[:128]
        self.limit = limit
        self.window_seconds = window_seconds
        self.allowed = max(1, int(limit * headroom))
        self._clock = clock
        self._sleep = sleep
        self._local = threading.Lock()  # one thread of this process in the row at a time
        self.waited_seconds = 0.0

    def _row_filter(self):
        return (rate_budgets.c.system == self.system) & (rate_budgets.c.budget_key == self.key)

    def acquire(self) -> None:
        while True:
            wait = self._take()
            if wait <= 0:
                return
            self.waited_seconds += wait
            self._sleep(wait)

    def _take(self) -> float:
        """Take a slot and return 0, or return how long to wait before trying again."""
        with self._local, write_transaction(self.engine) as connection:
            now = self._clock()
            row = connection.execute(for_update(sa.select(rate_budgets).where(self._row_filter()),
                                                connection)).first()
            if row is None:
                try:
                    with connection.begin_nested():
                        connection.execute(rate_budgets.insert().values(
                            system=self.system, budget_key=self.key, recent=[now], paused_until=0.0))
                    return 0.0
                except sa.exc.IntegrityError:
                    row = connection.execute(sa.select(rate_budgets).where(self._row_filter())).first()
            if row.paused_until > now:
                return row.paused_until - now
            recent = [t for t in (row.recent or []) if t > now - self.window_seconds]
            if len(recent) < self.allowed:
                connection.execute(rate_budgets.update().where(self._row_filter()).values(recent=[*recent, now]))
                return 0.0
            return max(0.001, min(recent) + self.window_seconds - now)

    def pause(self, seconds: float) -> None:
        """The server told us to wait: hold back every process of this budget for `seconds`."""
        with self._local, write_transaction(self.engine) as connection:
            until = self._clock() + seconds
            connection.execute(rate_budgets.update().where(self._row_filter() & (rate_budgets.c.paused_until < until))
                               .values(paused_until=until))
