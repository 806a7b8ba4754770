"""The webhook sensor's bookkeeping: inbox events in batches, one run per month per batch, and an event marked
handled only once its run exists.

Dagster submits a sensor's run requests after the tick returns, so a tick cannot know whether its runs were
created. Each tick therefore (`plan_tick`):
1. settles the batches it asked runs for earlier (kept in the cursor, `SensorState`): a batch whose every run
   key names a run on the instance has its events marked handled in the inbox, with that run key; a batch
   whose runs are not there yet is asked for again (run keys are deduplicated forever, so asking twice can
   never make a second run);
2. reads the unhandled events no batch holds yet, maps them to months (`events.months_for_events`), marks
   those that affect no month handled at once (with why), leaves those whose expense has not posted for
   another look in `RECHECK_AFTER`, and makes one batch of the rest: one run per month, however many events
   (a burst of 200 edits to one month is one run).
A batch's key is a digest of its event ids, so the same events always give the same run keys: a lost cursor
(reset in the UI) plans them again under the keys already used, and Dagster does not run them twice.
Events that arrive while Dagster is down wait in the inbox. Work per tick is bounded (`max_events`,
`budget_seconds`): a sensor tick has a time limit, and what is left waits for the next tick. When Brex cannot
be reached the tick still settles and re-asks what it holds, and leaves new events for the next tick.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlalchemy.engine import Engine

from ml_connector.errors import ConnectorError
from ml_connector.month import months_available
from ml_connector.webhooks import inbox
from ml_connector.webhooks.events import BrexReader, months_for_events

RUN_KEY_PREFIX = "brex_events"
MAX_EVENTS_PER_TICK = 1000
CHUNK = 100  # events mapped to months per Brex round, between checks of the time budget
BUDGET_SECONDS = 30.0  # Dagster's sensor tick times out at 60 s by default
RECHECK_AFTER = timedelta(minutes=10)  # an expense not posted yet is looked at again after this
READ_PAGE = 500


@dataclass
class Batch:
    key: str
    runs: dict[str, str]  # month YYYY-MM -> run key
    events: dict[str, list[str]]  # event id -> the months it affects

    def as_dict(self) -> dict:
        return {"key": self.key, "runs": self.runs, "events": self.events}


@dataclass
class SensorState:
    """The sensor's cursor: batches whose runs were asked for, and events to look at again later."""

    batches: list[Batch] = field(default_factory=list)
    recheck: dict[str, str] = field(default_factory=dict)  # event id -> when to look again (ISO, UTC)

    @classmethod
    def loads(cls, cursor: str | None) -> SensorState:
        if not cursor:
            return cls()
        data = json.loads(cursor)
        return cls([Batch(b["key"], dict(b["runs"]), {k: list(v) for k, v in b["events"].items()})
                    for b in data.get("batches", [])], dict(data.get("recheck", {})))

    def dumps(self) -> str:
        return json.dumps({"batches": [b.as_dict() for b in self.batches], "recheck": self.recheck},
                          separators=(",", ":"), sort_keys=True)

    def held_ids(self, now: datetime) -> set[str]:
        due = {event_id for event_id, at in self.recheck.items() if datetime.fromisoformat(at) <= now}
        return {e for b in self.batches for e in b.events} | (set(self.recheck) - due)


@dataclass(frozen=True)
class RunWanted:
    month: str  # YYYY-MM
    run_key: str
    events: int  # how many events this run answers

    @property
    def partition_key(self) -> str:
        return f"{self.month}-01"


@dataclass
class TickPlan:
    runs: list[RunWanted]  # new batches' runs and runs asked for again
    state: SensorState
    handled: int = 0  # events marked handled this tick (their run exists, or they affect no month)
    asked_again: int = 0  # runs of earlier batches not on the instance yet
    waiting: int = 0  # events whose expense has not posted yet
    new_events: int = 0  # events read this tick
    error: str | None = None  # why new events were left for the next tick (Brex could not be reached)


def run_key(month: str, batch_key: str) -> str:
    return f"{RUN_KEY_PREFIX}:{month}:{batch_key}"


def batch_key(event_ids: list[str]) -> str:
    return hashlib.sha256("\n".join(sorted(event_ids)).encode()).hexdigest()[:16]


def plan_tick(engine: Engine, state: SensorState, brex: BrexReader, runs_exist: Callable[[list[str]], set[str]],
              *, now: datetime | None = None, max_events: int = MAX_EVENTS_PER_TICK,
              budget_seconds: float = BUDGET_SECONDS) -> TickPlan:
    """One tick: settle the batches in `state`, batch new events. `runs_exist(keys)` says which run keys name a
    run on the instance."""
    now = now or datetime.now(UTC)
    started = time.monotonic()
    plan = TickPlan(runs=[], state=SensorState(recheck={k: v for k, v in state.recheck.items()
                                                         if datetime.fromisoformat(v) > now}))
    _settle(engine, state, runs_exist, plan)
    events = _unhandled(engine, plan.state.held_ids(now) | {e for b in state.batches for e in b.events}, max_events)
    plan.new_events = len(events)
    first, last = months_available(now.date())
    months: dict[str, list[str]] = {}
    by_event: dict[str, list[str]] = {}
    for start in range(0, len(events), CHUNK):
        if start and time.monotonic() - started > budget_seconds:
            break  # the rest waits for the next tick
        chunk = events[start:start + CHUNK]
        try:
            found = months_for_events(chunk, brex, now=now)
        except ConnectorError as error:
            plan.error = f"{type(error).__name__}: {error}"
            break
        notes = dict(found.notes)
        for month, ids in found.items():
            for event_id in ids:
                if first <= month <= last:
                    months.setdefault(month, []).append(event_id)
                    by_event.setdefault(event_id, []).append(month)
        for event_id in {i for ids in found.values() for i in ids} - set(by_event):
            notes[event_id] = f"affects only months outside those the connector runs ({first} to {last})"
        if notes:
            plan.handled += inbox.mark_handled(engine, list(notes), run_key=None, notes=notes)
        for event_id in found.pending:
            plan.state.recheck[event_id] = (now + RECHECK_AFTER).isoformat()
        plan.waiting += len(found.pending)
    if by_event:
        key = batch_key(list(by_event))
        batch = Batch(key, {m: run_key(m, key) for m in sorted(months)}, {e: sorted(ms) for e, ms in by_event.items()})
        plan.state.batches.append(batch)
        plan.runs += [RunWanted(m, batch.runs[m], len(set(months[m]))) for m in sorted(months)]
    return plan


def _settle(engine: Engine, state: SensorState, runs_exist: Callable[[list[str]], set[str]], plan: TickPlan) -> None:
    for batch in state.batches:
        existing = runs_exist(sorted(batch.runs.values()))
        if existing >= set(batch.runs.values()):
            for month, key in sorted(batch.runs.items()):
                ids = [e for e, months in batch.events.items() if month in months]
                plan.handled += inbox.mark_handled(engine, ids, run_key=key, months=batch.events)
            continue
        plan.state.batches.append(batch)
        for month, key in sorted(batch.runs.items()):
            if key not in existing:
                plan.runs.append(RunWanted(month, key, sum(month in ms for ms in batch.events.values())))
                plan.asked_again += 1


def _unhandled(engine: Engine, held: set[str], limit: int) -> list[inbox.InboxEvent]:
    """Up to `limit` unhandled events, oldest first, that no batch holds and none waits to be looked at again."""
    found: list[inbox.InboxEvent] = []
    after = 0
    while len(found) < limit:
        page = inbox.unhandled_events(engine, after_id=after, limit=READ_PAGE)
        if not page:
            break
        found += [e for e in page if e.event_id not in held]
        after = page[-1].id
    return found[:limit]
