"""Which month partitions a batch of Brex webhook events affects: what the inbox sensor turns into runs.

The connector books Brex spend on the settled card transaction's posted date (`join_records` takes
`record_date` from `posted_at_date`, and a month's expenses are read by `payment_posted_at` in UTC), so:
- `EXPENSE_PAYMENT_UPDATED`: the expense is looked up, and its month is that of `payment_posted_at` (UTC).
  An expense not posted yet (Brex sends this event for pending card activity) books in no month *yet*:
  its event is `pending`, left unhandled for a later tick, until it posts or `max_pending` has passed.
  A declined or cancelled payment never posts: handled, no month. An expense Brex no longer has:
  handled, no month, reported in `missing`.
- `ACCOUNTING_RECORD_READY_FOR_EXPORT`: the records are read with `GET /v3/accounting/records?ids=…`; each
  record's month is that of its `posted_at` ("source posted date in UTC"), else its `erp_posting_date`.
  Records Brex does not return are reported in `missing`; the event still maps to the others' months.
- Every other event type affects no month (the connector does not read transfers, users or referrals):
  handled, with a note.
Errors reaching Brex (throttling, 5xx, auth) propagate: the sensor should leave the batch unhandled and
try again on its next tick.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from ml_connector.errors import NotFound

EXPENSE_PAYMENT_UPDATED = "EXPENSE_PAYMENT_UPDATED"
ACCOUNTING_RECORD_READY_FOR_EXPORT = "ACCOUNTING_RECORD_READY_FOR_EXPORT"
CONNECTOR_EVENT_TYPES = (EXPENSE_PAYMENT_UPDATED, ACCOUNTING_RECORD_READY_FOR_EXPORT)
NEVER_POSTS = frozenset({"DECLINED", "CANCELED"})  # expense payment_status values that never settle
MAX_PENDING = timedelta(days=10)  # card authorisations settle in days; past this, stop waiting


class EventLike(Protocol):
    event_id: str
    event_type: str
    payload: dict
    received_at: datetime


class BrexReader(Protocol):
    def expense(self, expense_id: str) -> dict: ...

    def accounting_records(self, record_ids: list[str]) -> list[dict]: ...


@dataclass
class _Resolution:
    months: dict[str, list[str]]
    notes: dict[str, str]
    missing: dict[str, str]
    pending: list[str]


class EventMonths(dict[str, list[str]]):
    """`{month: [event ids]}`, months in order, plus what has no month:
    - `notes`: event id -> why it affects no month (handled all the same),
    - `missing`: event id -> which Brex objects are gone (an accounting event may still have the months
      of its other records; one with none left also has a note),
    - `pending`: event ids whose expense has not posted yet: leave them unhandled for a later tick.
    """

    def __init__(self, resolution: _Resolution) -> None:
        super().__init__((month, resolution.months[month]) for month in sorted(resolution.months))
        self.notes = resolution.notes
        self.missing = resolution.missing
        self.pending = resolution.pending

    def months_by_event(self) -> dict[str, list[str]]:
        """event id -> the months it affects (what `inbox.mark_handled(months=...)` takes)."""
        by_event: dict[str, list[str]] = {}
        for month, event_ids in self.items():
            for event_id in event_ids:
                by_event.setdefault(event_id, []).append(month)
        return by_event

    def handled_ids(self) -> list[str]:
        """Every event id to mark handled now: those with a month and those with a note (not `pending`)."""
        return list(dict.fromkeys([*(i for ids in self.values() for i in ids), *self.notes]))


def month_of(timestamp: str | None) -> str | None:
    """YYYY-MM of an RFC 3339 date-time (or date) in UTC."""
    if not timestamp:
        return None
    value = datetime.fromisoformat(timestamp.replace("Z", "+00:00"))
    if value.tzinfo is not None:
        value = value.astimezone(UTC)
    return f"{value.year:04d}-{value.month:02d}"


def months_for_events(events: Iterable[EventLike], brex_client: BrexReader, *,
                      now: datetime | None = None, max_pending: timedelta = MAX_PENDING) -> EventMonths:
    """The months a batch of inbox events affects, reading Brex once per expense and in batches of
    accounting records."""
    events = list(events)
    now = now or datetime.now(UTC)
    result = _Resolution({}, {}, {}, [])

    def add(month: str, event_id: str) -> None:
        ids = result.months.setdefault(month, [])
        if event_id not in ids:
            ids.append(event_id)

    expenses = _expenses(brex_client, [e.payload.get("expense_id") for e in events
                                       if e.event_type == EXPENSE_PAYMENT_UPDATED])
    record_ids = [rid for e in events if e.event_type == ACCOUNTING_RECORD_READY_FOR_EXPORT
                  for rid in _record_ids(e.payload)]
    records = {r["id"]: r for r in brex_client.accounting_records(record_ids)} if record_ids else {}

    for event in events:
        event_id = event.event_id
        if event.event_type == EXPENSE_PAYMENT_UPDATED:
            expense_id = event.payload.get("expense_id")
            expense = expenses.get(expense_id) if isinstance(expense_id, str) else None
            if not isinstance(expense_id, str) or not expense_id:
                result.notes[event_id] = "the event names no expense"
            elif expense is None:
                result.missing[event_id] = result.notes[event_id] = f"expense {expense_id} is not at Brex"
            elif month := month_of(expense.get("payment_posted_at")):
                add(month, event_id)
            elif expense.get("payment_status") in NEVER_POSTS or expense.get("status") in ("CANCELED", "VOID"):
                result.notes[event_id] = f"expense {expense_id} will not post ({expense.get('payment_status')})"
            elif now - event.received_at > max_pending:
                result.notes[event_id] = f"expense {expense_id} still not posted after {max_pending.days} days"
            else:
                result.pending.append(event_id)
        elif event.event_type == ACCOUNTING_RECORD_READY_FOR_EXPORT:
            wanted = _record_ids(event.payload)
            gone = [rid for rid in wanted if rid not in records]
            for rid in wanted:
                if rid in records:
                    month = month_of(records[rid].get("posted_at")) or month_of(records[rid].get("erp_posting_date"))
                    if month:
                        add(month, event_id)
            if gone:
                result.missing[event_id] = f"accounting records not at Brex: {', '.join(gone)}"
            if not any(event_id in ids for ids in result.months.values()):
                result.notes[event_id] = result.missing.get(event_id, "no accounting record with a posted date")
        else:
            result.notes[event_id] = f"{event.event_type} does not affect a month the connector books"
    return EventMonths(result)


def _expenses(client: BrexReader, expense_ids: list[Any]) -> dict[str, dict]:
    found: dict[str, dict] = {}
    for expense_id in dict.fromkeys(i for i in expense_ids if isinstance(i, str) and i):
        try:
            found[expense_id] = client.expense(expense_id)
        except NotFound:
            continue  # reported per event by the caller
    return found


def _record_ids(payload: dict) -> list[str]:
    ids = payload.get("accountingRecordIds")  # camelCase in Brex's schema, unlike the other events
    return [i for i in ids if isinstance(i, str) and i] if isinstance(ids, list) else []
