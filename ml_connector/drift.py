"""Ledger drift: what a person changed in the ledger, after we posted, to the entries of a month.

Read only, at the fewest calls that stay true. The month's list pages (journals and bills, both kinds, so an
entry carrying our key in a kind we did not post is seen too) give every entry's key, total, status and
modification time. An entry we posted whose row shows the modification time and total we saved needs nothing
more; one whose row moved is read once in full and its lines compared with the lines the ledger answered when
we posted it (`drift_findings.line_changes`); one missing from the list is read by its id, which tells a
deletion from a date moved out of the month. Found:
- edited: amounts, lines, accounts, dimensions or the date changed;
- voided: the ledger shows the entry void (QuickBooks: its lines at zero);
- deleted: the ledger no longer has it;
- foreign: an entry carries a key of ours that no posting of ours (any month, any status) has;
- duplicate: a second live entry carries a key we posted once.

Nothing is ever written to the ledger. In the store, an entry read in full whose lines still match what we
saved is re-stamped with its new modification time (an attachment or a note changed it), so the next run does
not read it again; an entry that drifted keeps what we saved, so the finding stands on every run until a person
puts the entry back. The tie-out's own read-back (`readback`) records what it reads as the new baseline: an
edit it saw first is then reported by the tie-out, as a difference against the source, rather than here.

Each finding goes into the audit trail once (`record_new`: action `drift.finding`, the finding's key as the
event's request id, so a second run over an unchanged ledger adds no row), and the new findings of a run go to
the alert URL as one alert. An entry with no saved lines (posted before lines were kept) is read once and its
lines kept as the baseline; nothing is reported for it that first time.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from ml_connector.alerts import Alert
from ml_connector.drift_findings import Finding, line_changes, total_text
from ml_connector.ledgers.base import Ledger
from ml_connector.models import EntrySummary, LedgerLine, PostingResult
from ml_connector.money import money_text
from ml_connector.month import FIRST_MONTH, month_bounds
from ml_connector.posting import saved_of
from ml_connector.posting_keys import is_posting_key
from ml_connector.store import postings
from ml_connector.store.audit import AuditEvent, record
from ml_connector.store.db import write_transaction
from ml_connector.store.schema import audit_events, posting_ledger

ACTION = "drift.finding"
ALERT_LINES = 12  # findings named in one alert; the rest are counted


@dataclass
class DriftReport:
    month: str
    ledger: str  # the ledger organisation, "zoho_books/700..."
    ledger_name: str
    checked: int = 0  # entries we posted in the month, compared
    listed: int = 0  # list-page rows read
    reads: int = 0  # entries read in full
    calls: int = 0  # ledger requests made
    findings: list[Finding] = field(default_factory=list)
    new: list[str] = field(default_factory=list)  # keys of the findings this run recorded first
    checked_at: str = ""

    @property
    def has_drift(self) -> bool:
        return bool(self.findings)

    def counts(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for finding in self.findings:
            counts[finding.kind] = counts.get(finding.kind, 0) + 1
        return counts

    def to_dict(self) -> dict:
        return {"month": self.month, "ledger": self.ledger, "ledger_name": self.ledger_name,
                "checked": self.checked, "listed": self.listed, "reads": self.reads, "calls": self.calls,
                "has_drift": self.has_drift, "counts": self.counts(), "new": list(self.new),
                "checked_at": self.checked_at, "findings": [f.to_dict() for f in self.findings]}

    @classmethod
    def from_dict(cls, data: dict) -> DriftReport:
        return cls(month=data["month"], ledger=data["ledger"], ledger_name=data["ledger_name"],
                   checked=data["checked"], listed=data["listed"], reads=data["reads"], calls=data["calls"],
                   findings=[Finding.from_dict(f) for f in data["findings"]], new=list(data["new"]),
                   checked_at=data["checked_at"])


def detect_drift(engine: Engine, ledger: Ledger, month: str, ledger_name: str = "") -> DriftReport:
    """Every finding of the month (see the module docstring). Writes nothing to the ledger."""
    calls_before = ledger.calls
    report = DriftReport(month=month, ledger=str(ledger.target), ledger_name=ledger_name or
                         ledger.capabilities.display_name, checked_at=datetime.now(UTC).isoformat(timespec="seconds"))
    posted = [r for r in postings.month_rows(engine, ledger.target, month)
              if r["status"] == "posted" and r["ledger_entity_id"]]
    listed = ledger.list_entries(*month_bounds(month), ("journal", "bill"))
    report.listed = len(listed)
    by_key: dict[str, list[EntrySummary]] = defaultdict(list)
    for row in listed:
        if row.posting_key and is_posting_key(row.posting_key):
            by_key[row.posting_key].append(row)
    for stored in posted:
        report.checked += 1
        report.findings += _compare(engine, ledger, stored, by_key.get(stored["posting_key"], []), report)
    ours = {r["posting_key"] for r in posted}
    known = postings.rows_for_keys(engine, ledger.target, [k for k in by_key if k not in ours])
    for key in sorted(set(by_key) - ours):
        report.findings += _not_ours(ledger, key, by_key[key], known.get(key), month)
    report.calls = ledger.calls - calls_before
    return report


def _compare(engine: Engine, ledger: Ledger, stored: dict, rows: list[EntrySummary],
             report: DriftReport) -> list[Finding]:
    key, entity, kind = stored["posting_key"], stored["ledger_entity_id"], stored["kind"] or "journal"
    mine = [r for r in rows if r.ledger_entity_id == entity and r.kind == kind]
    found = [_finding("duplicate", stored, ledger, other.kind, other.ledger_entity_id, other.modified_at or "",
                      f"{other.kind} {other.ledger_entity_id} carries {key}, already posted as {kind} {entity}: a "
                      f"second entry in the ledger")
             for other in rows if other not in mine and not other.is_void]
    saved = [LedgerLine.model_validate(line) for line in stored["saved_lines"] or []]
    if mine and mine[0].is_void:
        return [*found, _finding("voided", stored, ledger, kind, entity, mine[0].modified_at or "void",
                                 f"{kind} {_name(stored)} was voided in the ledger", saved=saved)]
    if mine and not _moved(mine[0], stored):
        return found
    current = ledger.read_entry(kind, entity)
    report.reads += 1
    if current is None:
        return [*found, _finding("deleted", stored, ledger, kind, entity, "gone",
                                 f"{kind} {_name(stored)} was deleted from the ledger", saved=saved)]
    lines = list(current.lines or ())
    if lines and all(line.amount == 0 for line in lines):
        return [*found, _finding("voided", stored, ledger, kind, entity, current.modified_at or "void",
                                 f"{kind} {_name(stored)} was voided in the ledger", saved=saved)]
    changes = line_changes(saved, lines) if saved and current.lines is not None else ()
    if not changes:
        if current.lines is not None:  # same lines (or no baseline yet): what we hold is what it holds
            _restamp(engine, ledger, key, current)
        return found
    was, now = total_text(kind, saved, saved[0].currency), total_text(kind, lines, lines[0].currency if lines else None)
    text = f"{kind} {_name(stored)} was edited in the ledger: {', '.join(changes)} changed"
    if was != now:
        text += f" (saved {was}, now {now} {saved[0].currency})"
    return [*found, _finding("edited", stored, ledger, kind, entity, current.modified_at or "edited", text,
                             changes=changes, saved=saved, lines=lines)]


def _moved(row: EntrySummary, stored: dict) -> bool:
    """Whether the list row shows a change since we saved the entry (its modification time, or its total: some
    ledgers stamp times to the second only), or we saved no lines to compare with."""
    if not stored["saved_lines"]:
        return True
    if row.modified_at is not None and row.modified_at != stored["ledger_modified_at"]:
        return True
    saved_total = stored["ledger_total"]
    return row.total is not None and saved_total not in (None, "") and Decimal(saved_total) != row.total


def _restamp(engine: Engine, ledger: Ledger, key: str, current: PostingResult) -> None:
    with engine.begin() as connection:
        postings.record_readback(connection, ledger.target, key, saved_of(current))


def _not_ours(ledger: Ledger, key: str, rows: list[EntrySummary], known: dict | None, month: str) -> list[Finding]:
    """Entries of the month carrying a key we did not post in this month."""
    live = [r for r in rows if not r.is_void]
    if known is None:
        return [Finding(kind="foreign", posting_key=key, entry_kind=r.kind, ledger_entity_id=r.ledger_entity_id,
                        summary=f"{r.kind} {r.ledger_entity_id} carries posting key {key}, which the connector "
                                f"never posted", url=ledger.entry_url(r.kind, r.ledger_entity_id), currency=r.currency,
                        ledger_total=None if r.total is None or not r.currency else money_text(r.total, r.currency),
                        state=r.modified_at or "")
                for r in live]
    if known["status"] != "posted":
        return []  # a claim in flight or held: the posting protocol settles it
    # Posted in another month: its own entry moved here is that month's finding; any other entry is a duplicate.
    return [_finding("duplicate", known, ledger, r.kind, r.ledger_entity_id, r.modified_at or "",
                     f"{r.kind} {r.ledger_entity_id} carries {key}, already posted in {known['month']} as "
                     f"{known['kind']} {known['ledger_entity_id']}: a second entry in the ledger")
            for r in live if r.ledger_entity_id != known["ledger_entity_id"]]


def _name(stored: dict) -> str:
    number = stored["ledger_number"]
    return f"{stored['ledger_entity_id']}" + (f" (no. {number})" if number and number != stored["ledger_entity_id"]
                                              else "") + f", key {stored['posting_key']}"


def _finding(kind: str, stored: dict, ledger: Ledger, entry_kind: str, entity: str, state: str, summary: str, *,
             changes: tuple[str, ...] = (), saved: list[LedgerLine] | None = None,
             lines: list[LedgerLine] | None = None) -> Finding:
    ours = entity == stored["ledger_entity_id"]
    currency = (saved[0].currency if saved else None) or stored["currency"]
    return Finding(kind=kind, posting_key=stored["posting_key"], entry_kind=entry_kind, ledger_entity_id=entity,
                   summary=summary, changes=changes, ledger_number=stored["ledger_number"] if ours else None,
                   url=(stored["ledger_url"] if ours else None) or ledger.entry_url(entry_kind, entity),
                   currency=currency, saved_total=total_text(entry_kind, saved or [], currency) if ours else None,
                   ledger_total=total_text(entry_kind, lines or [], currency) if lines else None, state=state,
                   detail={"posted_in": stored["month"]})


# -- recording and alerting -----------------------------------------------------------------------


def record_new(engine: Engine, report: DriftReport, *, run_id: str | None = None, actor: str = "cli") -> list[Finding]:
    """Write the findings the audit trail does not hold yet (one `drift.finding` event each); returns them."""
    if not report.findings:
        return []
    keys = [f.key for f in report.findings]
    with write_transaction(engine) as connection:
        if connection.dialect.name == "postgresql":
            # Two checks of one month at once would both find a finding new: the second waits for the first
            # (SQLite's IMMEDIATE transaction already serialises them).
            connection.execute(sa.text("SELECT pg_advisory_xact_lock(hashtext(:name))"),
                               {"name": f"{ACTION}:{report.ledger}:{report.month}"})
        known = set(connection.execute(sa.select(audit_events.c.request_id).where(
            (audit_events.c.action == ACTION) & audit_events.c.request_id.in_(keys))).scalars())
        new = [f for f in report.findings if f.key not in known]
        record(connection, *[AuditEvent(
            actor=actor, action=ACTION, outcome=f.kind, run_id=run_id, month=report.month,
            posting_key=f.posting_key, ledger_entity_id=f.ledger_entity_id, request_id=f.key,
            detail={"ledger": report.ledger, "entry_kind": f.entry_kind, "summary": f.summary,
                    "changes": list(f.changes), "saved_total": f.saved_total, "ledger_total": f.ledger_total,
                    "currency": f.currency, "url": f.url, "what_to_do": f.what_to_do}) for f in new])
    report.new = [f.key for f in new]
    return new


def drift_alert(report: DriftReport, new: list[Finding], *, run_id: str | None = None,
                run_url: str | None = None) -> Alert:
    lines = [f"- {f.kind}: {f.summary}" for f in new[:ALERT_LINES]]
    if len(new) > ALERT_LINES:
        lines.append(f"… and {len(new) - ALERT_LINES} more (ml-connector drift --month {report.month})")
    return Alert(kind="drift", title=f"{report.ledger_name}: {len(new)} new drift finding"
                                     f"{'s' if len(new) != 1 else ''} in {report.month}",
                 reason="\n".join(lines), month=report.month, step="ledger_drift", run_id=run_id, run_url=run_url,
                 severity="warning")


def check_month(engine: Engine, ledger: Ledger, month: str, *, ledger_name: str = "", run_id: str | None = None,
                actor: str = "cli", alert: Callable[[Alert], object] | None = None) -> DriftReport:
    """Detect, record what is new, and hand one alert about the new findings to `alert` (when there are any)."""
    report = detect_drift(engine, ledger, month, ledger_name)
    new = record_new(engine, report, run_id=run_id, actor=actor)
    if new and alert is not None:
        alert(drift_alert(report, new, run_id=run_id))
    return report


def open_months(engine: Engine, system: str, today: date, window: int = 3) -> list[str]:
    """The months a daily drift run covers: those with entries posted to `system`, from `window` months before
    the month of `today` through it (older months are closed: their drift is read on demand)."""
    index = today.year * 12 + today.month - 1 - window
    earliest = max(f"{index // 12:04d}-{index % 12 + 1:02d}", FIRST_MONTH)
    with engine.connect() as connection:
        months = connection.execute(sa.select(posting_ledger.c.month).distinct().where(
            (posting_ledger.c.ledger_system == system) & (posting_ledger.c.status == "posted")
            & (posting_ledger.c.month >= earliest) & (posting_ledger.c.month <= f"{today:%Y-%m}"))).scalars()
        return sorted(months)
