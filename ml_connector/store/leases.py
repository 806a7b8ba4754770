"""One posting run per ledger organisation and month, across every process and machine that shares the store.

A run takes the month's lease before it posts and renews it from a heartbeat thread while it holds it. A
second run for the same month waits for it (bounded, saying for whom), then gives up with `MonthBusy`
naming the holder. A lease whose expiry has passed belongs to a dead run (killed, crashed, its machine
gone): the next run takes it over; on the holder's own machine a vanished process is noticed at once.
Claims in the posting ledger name the lease's owner token, so "is the run that claimed this still alive?"
is one question: does its lease still stand?

Renewal is the fence: the poster renews right before every call it sends, and a holder that finds its
lease gone (it was paused longer than the expiry and someone took over) stops before sending anything.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from ml_connector.errors import ConnectorError
from ml_connector.store.db import write_transaction
from ml_connector.store.schema import month_leases, utc_now
from ml_connector.store.sql import for_update
from ml_connector.store.target import LedgerTarget

log = logging.getLogger("ml_connector.leases")

LEASE_SECONDS = 60.0  # a holder that has not renewed for this long is taken for dead
RENEW_EVERY_SECONDS = 10.0
POLL_SECONDS = 1.0


@dataclass(frozen=True)
class Holder:
    owner: str
    run_id: str | None
    launched_by: str | None
    host: str | None
    pid: int | None
    acquired_at: datetime
    expires_at: datetime

    def describe(self) -> str:
        who = f"run {self.run_id}" if self.run_id else "a run"
        return (f"{who} (launched by {self.launched_by or 'unknown'}, pid {self.pid} on {self.host}) since "
                f"{self.acquired_at:%Y-%m-%d %H:%M:%S} UTC")


class MonthBusy(ConnectorError):
    """Another run holds the month's posting lease and did not release it within the wait."""

    def __init__(self, target: LedgerTarget, month: str, holder: Holder, waited: float) -> None:
        self.target, self.month, self.holder = target, month, holder
        super().__init__(f"{month} on {target} is being posted by {holder.describe()}; waited {waited:.0f} s. "
                         f"Nothing was posted by this run. Try again when that run has finished (or raise "
                         f"ML_CONNECTOR_MONTH_LEASE_WAIT_SECONDS).")


class LeaseLost(ConnectorError):
    """This run's lease expired and another run took the month over: stop before sending anything more."""


def new_owner() -> str:
    return f"{socket.gethostname()[:40]}-{os.getpid()}-{uuid.uuid4().hex[:12]}"


def _key(target: LedgerTarget, month: str):
    return ((month_leases.c.ledger_system == target.system) & (month_leases.c.ledger_org == target.org)
            & (month_leases.c.month == month))


def holder(engine: Engine | Connection, target: LedgerTarget, month: str) -> Holder | None:
    """Who holds the month now (None when nobody does, or the last holder is dead)."""
    statement = sa.select(month_leases).where(_key(target, month))
    if isinstance(engine, Engine):
        with engine.connect() as connection:
            row = connection.execute(statement).first()
    else:
        row = engine.execute(statement).first()
    if row is None or is_dead(row.host, row.pid, row.expires_at):
        return None
    return Holder(row.owner, row.run_id, row.launched_by, row.host, row.pid, row.acquired_at, row.expires_at)


def is_dead(host: str | None, pid: int | None, expires_at: datetime) -> bool:
    """A holder is dead when its lease has expired, or, on this very machine, when its process is gone (a
    SIGKILLed run is noticed at once rather than after the expiry)."""
    if expires_at <= utc_now():
        return True
    if host != socket.gethostname()[:255] or not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


def live_owners(connection: Connection, owners: set[str]) -> set[str]:
    """Which of these lease owners still hold a lease (their run is alive)."""
    if not owners:
        return set()
    rows = connection.execute(sa.select(month_leases.c.owner, month_leases.c.host, month_leases.c.pid,
                                        month_leases.c.expires_at).where(month_leases.c.owner.in_(sorted(owners))))
    return {row.owner for row in rows if not is_dead(row.host, row.pid, row.expires_at)}


class MonthLease:
    """The posting lease of one month on one ledger organisation. Use as a context manager."""

    def __init__(self, engine: Engine, target: LedgerTarget, month: str, *, run_id: str | None = None,
                 launched_by: str = "unknown", owner: str | None = None, wait_seconds: float = 600.0,
                 lease_seconds: float = LEASE_SECONDS) -> None:
        self.engine = engine
        self.target = target
        self.month = month
        self.run_id = run_id
        self.launched_by = launched_by
        self.owner = owner or new_owner()
        self.wait_seconds = wait_seconds
        self.lease_seconds = lease_seconds
        self.waited_for: Holder | None = None  # whom we waited for, if anyone
        self._held = False
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # -- taking and giving back ------------------------------------------------------------------

    def acquire(self, on_wait=None) -> MonthLease:
        """Take the lease, waiting up to `wait_seconds` for a live holder; `on_wait(holder)` is called once
        when we start waiting, so the caller can say for whom."""
        started = time.monotonic()
        while True:
            current = self._try_take()
            if current is None:
                self._held = True
                self._thread = threading.Thread(target=self._heartbeat, name=f"lease:{self.month}", daemon=True)
                self._thread.start()
                return self
            if self.waited_for is None:
                self.waited_for = current
                if on_wait is not None:
                    on_wait(current)
            waited = time.monotonic() - started
            if waited >= self.wait_seconds:
                raise MonthBusy(self.target, self.month, current, waited)
            time.sleep(min(POLL_SECONDS, max(0.05, self.wait_seconds - waited)))

    def _try_take(self) -> Holder | None:
        """Take the lease if it is free or expired; otherwise the live holder."""
        now = utc_now()
        values = {"owner": self.owner, "run_id": self.run_id, "launched_by": self.launched_by,
                  "host": socket.gethostname()[:255], "pid": os.getpid(), "acquired_at": now,
                  "expires_at": now + timedelta(seconds=self.lease_seconds)}
        with write_transaction(self.engine) as connection:
            row = connection.execute(for_update(sa.select(month_leases).where(_key(self.target, self.month)),
                                                connection)).first()
            if row is None:
                try:
                    with connection.begin_nested():
                        connection.execute(month_leases.insert().values(
                            ledger_system=self.target.system, ledger_org=self.target.org, month=self.month, **values))
                    return None
                except sa.exc.IntegrityError:  # another process inserted it between our read and write
                    row = connection.execute(sa.select(month_leases).where(_key(self.target, self.month))).first()
            if row.owner == self.owner or is_dead(row.host, row.pid, row.expires_at):
                if row.owner != self.owner:
                    log.warning("taking over %s %s from a dead run (%s, pid %s on %s)", self.target, self.month,
                                row.run_id, row.pid, row.host)
                connection.execute(month_leases.update().where(_key(self.target, self.month)
                                                               & (month_leases.c.owner == row.owner)).values(**values))
                return None
            return Holder(row.owner, row.run_id, row.launched_by, row.host, row.pid, row.acquired_at,
                          row.expires_at)

    def renew(self) -> None:
        """Extend the lease; LeaseLost when another run has taken it (this run was taken for dead)."""
        with self.engine.begin() as connection:
            self.renew_in(connection)

    def renew_in(self, connection: Connection) -> None:
        """`renew`, inside the caller's transaction (the fence written with the attempt it guards)."""
        if not self._held:
            raise LeaseLost(f"the posting lease of {self.month} on {self.target} is not held by this run")
        renewed = connection.execute(month_leases.update().where(
            _key(self.target, self.month) & (month_leases.c.owner == self.owner)).values(
            expires_at=utc_now() + timedelta(seconds=self.lease_seconds))).rowcount
        if not renewed:
            self._held = False
            raise LeaseLost(f"another run took over the posting of {self.month} on {self.target} while this run "
                            f"was stalled; this run stops without sending anything more")

    def release(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=RENEW_EVERY_SECONDS * 2)
        if self._held:
            with self.engine.begin() as connection:
                connection.execute(month_leases.delete().where(_key(self.target, self.month)
                                                               & (month_leases.c.owner == self.owner)))
            self._held = False

    @property
    def is_held(self) -> bool:
        return self._held

    def _heartbeat(self) -> None:
        while not self._stop.wait(RENEW_EVERY_SECONDS):
            try:
                self.renew()
            except LeaseLost:
                log.error("lost the posting lease of %s on %s", self.month, self.target)
                return
            except Exception:  # noqa: BLE001 - a store hiccup: the next beat tries again
                log.warning("could not renew the posting lease of %s on %s", self.month, self.target, exc_info=True)

    def __enter__(self) -> MonthLease:
        return self.acquire()

    def __exit__(self, *exc: object) -> None:
        self.release()
