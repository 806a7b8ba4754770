"""The posting protocol: every draft reaches the ledger exactly once, and the audit trail says how.

For each draft, under its deterministic posting key (written into the ledger's own reference field):
  1. already posted (or held for review) in our ledger table: nothing is sent;
  2. a source record it carries was posted before under another version: held for review with both
     amounts, never silently reposted;
  3. an intent left pending by an earlier run (crash, timeout, lost response): the ledger is searched
     for the key first, and only what is not there is sent;
  4. the intent is recorded, the call made, and the result recorded. A call whose outcome is unknown
     (`Uncertain`) is resolved by searching for the key before anything is sent again.
Validation rejections mark the draft failed with the ledger's reason and the rest of the month goes on.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from sqlalchemy.engine import Engine

from ml_connector.errors import Uncertain, ValidationRejected
from ml_connector.ledgers.base import Ledger
from ml_connector.models import BillDraft, JournalDraft, PostingResult
from ml_connector.store import ledger as ledger_table
from ml_connector.store.audit import AuditEvent, record

log = logging.getLogger("ml_connector.posting")

Draft = JournalDraft | BillDraft
MAX_UNCERTAIN_ROUNDS = 3


@dataclass
class PostingReport:
    posted: list[PostingResult] = field(default_factory=list)  # created by this run
    found: list[PostingResult] = field(default_factory=list)  # already in the ledger (resolved by search)
    skipped: list[str] = field(default_factory=list)  # posted earlier: nothing sent
    flagged: dict[str, str] = field(default_factory=dict)  # posting key -> reason
    failed: dict[str, str] = field(default_factory=dict)  # posting key -> ledger's reason


def _kind(draft: Draft) -> str:
    return "bill" if isinstance(draft, BillDraft) else "journal"


def _amount(draft: Draft) -> Decimal:
    return draft.total() if isinstance(draft, BillDraft) else draft.totals()[0]


class Poster:
    """Posts drafts to one ledger with the exactly-once protocol, recording everything in the store."""

    def __init__(self, engine: Engine, ledger: Ledger, *, run_id: str | None = None, actor: str = "dagster",
                 on_posted: Callable[[Draft, PostingResult], None] | None = None) -> None:
        self.engine = engine
        self.ledger = ledger
        self.run_id = run_id
        self.actor = actor
        self.on_posted = on_posted

    def post(self, drafts: Sequence[Draft]) -> PostingReport:
        report = PostingReport()
        if not drafts:
            return report
        existing = ledger_table.rows_for_keys(self.engine, [d.posting_key for d in drafts])
        earlier: dict[str, dict] = {}
        for source in {d.source for d in drafts}:
            earlier.update(ledger_table.posted_by_source_id(self.engine, source))
        for draft in drafts:
            row = existing.get(draft.posting_key)
            if row and row["status"] == "posted":
                report.skipped.append(draft.posting_key)
                continue
            if row and row["status"] == "flagged":
                report.flagged[draft.posting_key] = row["last_error"] or "held for review"
                continue
            changed = self._changed_since_posting(draft, earlier)
            if changed:
                self._flag(draft, changed)
                report.flagged[draft.posting_key] = changed
                continue
            self._post_one(draft, row, report)
        return report

    # -- one draft ---------------------------------------------------------------------------------

    def _post_one(self, draft: Draft, row: dict | None, report: PostingReport) -> None:
        kind = _kind(draft)
        if row is not None and row["status"] in ("pending", "failed"):
            # An earlier attempt may have landed: look before sending anything.
            found = self.ledger.find_posted(draft.posting_key, kind)
            if found is not None:
                self._record_posted(draft, found, report, resolved=True)
                return
        for _round in range(MAX_UNCERTAIN_ROUNDS):
            self._record_intent(draft)
            try:
                result = self.ledger.post_bill(draft) if kind == "bill" else self.ledger.post_journal(draft)
            except Uncertain as exc:
                self._audit(draft, "post.result", "uncertain", detail={"error": str(exc)})
                found = self.ledger.find_posted(draft.posting_key, kind)
                if found is not None:
                    self._record_posted(draft, found, report, resolved=True)
                    return
                continue  # the search says it did not land: sending again cannot duplicate it
            except ValidationRejected as exc:
                reason = exc.vendor_message or str(exc)
                with self.engine.begin() as connection:
                    ledger_table.record_result(connection, draft.posting_key, status="failed", error=reason,
                                               run_id=self.run_id)
                    record(connection, self._event(draft, "post.result", "rejected",
                                                   detail={"code": exc.vendor_code, "message": reason}))
                report.failed[draft.posting_key] = reason
                return
            self._record_posted(draft, result, report, resolved=False)
            return
        # Still unknown after several rounds: leave it pending; the next run resolves it by search.
        report.failed[draft.posting_key] = "outcome still uncertain after retries; the next run will search for it"

    def _changed_since_posting(self, draft: Draft, earlier: dict[str, dict]) -> str | None:
        """Why this draft must not post because a record it carries was posted under another key: the
        record changed since (held for review, both amounts given), or it is already posted as it is."""
        for source_id, version in zip(draft.source_ids, draft.source_versions, strict=True):
            row = earlier.get(source_id)
            if row is None or row["posting_key"] == draft.posting_key:
                continue
            if (row.get("source_versions") or {}).get(source_id) != version:
                return (f"{draft.source} record {source_id} changed after it was posted as {row['posting_key']} "
                        f"({row['amount']} {row['currency']}; now {_amount(draft)} {draft.currency}): "
                        f"review it in the ledger; it will not be reposted automatically")
            return (f"{draft.source} record {source_id} is already posted as {row['posting_key']}; this entry "
                    f"would post it twice and is held")
        return None

    # -- store writes ------------------------------------------------------------------------------

    def _posting(self, draft: Draft) -> ledger_table.Posting:
        return ledger_table.Posting(posting_key=draft.posting_key, source_system=draft.source,
                                    source_ids=list(draft.source_ids), source_versions=list(draft.source_versions),
                                    month=draft.month, ledger_system=self.ledger.system, amount=_amount(draft),
                                    currency=draft.currency)

    def _record_intent(self, draft: Draft) -> None:
        with self.engine.begin() as connection:
            row = ledger_table.record_intent(connection, self._posting(draft), self.run_id)
            record(connection, self._event(draft, "post.attempt", "sent",
                                           detail={"attempt": row["attempt_count"], "kind": _kind(draft)}))

    def _record_posted(self, draft: Draft, result: PostingResult, report: PostingReport, *, resolved: bool) -> None:
        with self.engine.begin() as connection:
            if ledger_table.get(connection, draft.posting_key) is None:
                ledger_table.record_intent(connection, self._posting(draft), self.run_id)
            ledger_table.record_result(connection, draft.posting_key, status="posted",
                                       ledger_entity_id=result.ledger_entity_id, run_id=self.run_id)
            record(connection, self._event(draft, "post.result", "found" if resolved else "ok",
                                           ledger_entity_id=result.ledger_entity_id,
                                           detail={"ledger_number": result.ledger_number}))
        (report.found if resolved else report.posted).append(result)
        if self.on_posted is not None:
            self.on_posted(draft, result)

    def _flag(self, draft: Draft, reason: str) -> None:
        with self.engine.begin() as connection:
            ledger_table.flag(connection, self._posting(draft), self.run_id, reason)
            record(connection, self._event(draft, "post.flagged", "held", detail={"reason": reason}))

    def _event(self, draft: Draft, action: str, outcome: str, *, ledger_entity_id: str | None = None,
               detail: dict | None = None) -> AuditEvent:
        return AuditEvent(actor=self.actor, action=action, outcome=outcome, run_id=self.run_id, month=draft.month,
                          posting_key=draft.posting_key, source_system=draft.source,
                          source_id=",".join(draft.source_ids)[:128], ledger_entity_id=ledger_entity_id,
                          detail=detail or {})

    def _audit(self, draft: Draft, action: str, outcome: str, detail: dict | None = None) -> None:
        record(self.engine, self._event(draft, action, outcome, detail=detail))
