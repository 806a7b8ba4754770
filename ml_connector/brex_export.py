"""Brex accounting records, told what the ledger did: export results fed back to Brex (Accounting API, Alpha).

The card spend itself is read from the Expenses API and posts as every other month does; an accounting record's
`source_id` is its expense's id, so the records only learn the outcome, nothing posts twice. For each
READY_FOR_EXPORT card record of the month (`ready_records`):
- its expense is posted: success, with the ledger entry's id (`reference_id`) and its link (`deep_link_url`);
- its expense was rejected by the ledger, or is held (unmapped, changed after posting...): failure, with the
  ledger's reason or the held reason and its fix;
- otherwise (not drafted yet, still being posted, a card payment or rewards row the connector does not book):
  nothing.
A failure already reported with the same message is not sent again (the audit trail keeps what was sent), so
the daily look back does not repeat it; a success moves the record to EXPORTED, so it is never read again.

Brex's limits: `ids` and pages take at most 500; export-results declares no maximum, so batches stay at 500
(the stricter reading). The length Brex allows for `error_message` is not documented: messages are cut at
`MESSAGE_LIMIT`. A record Brex no longer finds ready (exported meanwhile, or edited back into review) or no
longer knows is taken out of its batch, read back, and reported in the result, never a crash.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from ml_connector.acknowledgements import accepted
from ml_connector.errors import AuthError, ConnectorError, NotFound
from ml_connector.month import MonthPlan
from ml_connector.sources.brex import BrexClient
from ml_connector.store.audit import AuditEvent, record
from ml_connector.store.schema import audit_events
from ml_connector.store.sql import chunks
from ml_connector.webhooks.events import month_of

BATCH = 500
MESSAGE_LIMIT = 500
NOT_BOOKED_TYPES = ("CARD_PAYMENT", "CARD_PAYMENT_REFUND", "REWARD_REDEMPTION")  # the connector books spend only
ACTION = "brex.export_result"
KEPT_FIELDS = ("id", "source_id", "type", "version", "posted_at", "erp_posting_date", "review_status")


@dataclass(frozen=True)
class ReadyRecords:
    """The month's card records ready for export, or why the Accounting API could not be read."""

    month: str
    available: bool
    records: list[dict] = field(default_factory=list)
    unavailable_reason: str | None = None
    other_months: int = 0  # ready records of other months (their own runs report them)


def record_month(accounting_record: dict) -> str | None:
    """The month a record books in: its source's posted date (UTC), else its ERP posting date."""
    return month_of(accounting_record.get("posted_at")) or month_of(accounting_record.get("erp_posting_date"))


def ready_records(client: BrexClient, month: str) -> ReadyRecords:
    """READY_FOR_EXPORT card records of `month`. The Accounting API is alpha and access-gated: a 403 or 404
    means the account has no access, and the month goes on without export results."""
    try:
        records = client.accounting_records_ready("CARD")
    except (AuthError, NotFound) as exc:
        if isinstance(exc, AuthError) and exc.status != 403:
            raise
        return ReadyRecords(month, False, unavailable_reason=(
            f"the Brex Accounting API is not available to this account ({getattr(exc, 'status', None) or 404}); "
            f"it is in alpha and Brex grants access on request (developer-support@brex.com). The card spend "
            f"posts all the same; only the export results are not fed back to Brex"))
    mine = [{k: r.get(k) for k in KEPT_FIELDS} for r in records if record_month(r) == month]
    return ReadyRecords(month, True, mine, other_months=len(records) - len(mine))


@dataclass(frozen=True)
class ExportPlan:
    successes: list[dict]  # results to send: {accounting_record_id, success: {reference_id, deep_link_url}}
    failures: list[dict]  # results to send: {accounting_record_id, failure: {error_message}}
    pending: list[str]  # record ids with no outcome yet
    not_booked: list[str]  # card payments and rewards: not spend, never posted by the connector
    repeated: list[str]  # failures already reported with the same message: not sent again
    expense_of: dict[str, str]  # record id -> expense id
    key_of: dict[str, str]  # record id -> posting key, where there is one

    @property
    def results(self) -> list[dict]:
        return self.successes + self.failures


def export_plan(engine: Engine, plan: MonthPlan, records: Sequence[dict], ledger_name: str) -> ExportPlan:
    """What to tell Brex about each ready record of the month, from what the posting ledger holds."""
    outcome = accepted(engine, plan, "brex")
    brex_held = plan.exceptions[plan.exceptions["source"] == "brex"]
    held = dict(zip(brex_held["source_id"], zip(brex_held["reason"], brex_held["reason_text"], strict=True),
                    strict=True))
    keys = {sid: row["posting_key"] for sid, row in outcome.posted.items()}
    keys.update({sid: key for sid, key in plan.posted_earlier.items()})
    keys.update(plan.drafts.key_of_records())
    last = _last_reported(engine, [r["id"] for r in records])
    successes, failures, pending, not_booked, repeated = [], [], [], [], []
    expense_of: dict[str, str] = {}
    seen: set[str] = set()
    for r in records:
        record_id, expense_id = r["id"], r.get("source_id") or ""
        if record_id in seen:
            continue
        seen.add(record_id)
        expense_of[record_id] = expense_id
        posted = outcome.posted.get(expense_id)
        if posted is not None and posted.get("url"):
            successes.append({"accounting_record_id": record_id, "success": {
                "reference_id": posted["ledger_entity_id"], "deep_link_url": posted["url"]}})
            continue
        if expense_id in outcome.rejected:
            message = f"{ledger_name} rejected the entry {keys.get(expense_id, '')}: {outcome.rejected[expense_id]}"
        elif expense_id in held:
            code, text = held[expense_id]
            message = f"held by ml-connector ({code}): {text}"
        else:
            (not_booked if r.get("type") in NOT_BOOKED_TYPES else pending).append(record_id)
            continue
        message = message[:MESSAGE_LIMIT]
        if last.get(record_id) == ("failure", message):
            repeated.append(record_id)
            continue
        failures.append({"accounting_record_id": record_id, "failure": {"error_message": message}})
    return ExportPlan(successes, failures, pending, not_booked, repeated, expense_of,
                      {rid: keys[e] for rid, e in expense_of.items() if e in keys})


@dataclass
class ExportReport:
    succeeded: list[str] = field(default_factory=list)  # Brex took a success result
    failed: list[str] = field(default_factory=list)  # Brex took a failure result
    already_exported: list[str] = field(default_factory=list)  # EXPORTED already when sent (an earlier answer lost)
    no_longer_ready: list[str] = field(default_factory=list)  # Brex refused them: not READY_FOR_EXPORT any more
    not_found: list[str] = field(default_factory=list)  # Brex does not know them any more
    calls: int = 0


def report_export_results(engine: Engine, client: BrexClient, plan: ExportPlan, *, month: str,
                          run_id: str | None, batch_size: int = BATCH) -> ExportReport:
    """Send the plan's results in batches; a record Brex refuses is taken out and the rest sent again."""
    report = ExportReport()
    outcome_of = {r["accounting_record_id"]: ("success" if "success" in r else "failure") for r in plan.results}
    for start in range(0, len(plan.results), batch_size):
        remaining = plan.results[start:start + batch_size]
        while remaining:
            answer = client.report_export_results(remaining)
            report.calls += 1
            if not answer.refused:  # processed: Brex took every result of the batch
                _record_sent(engine, plan, remaining, month, run_id)
                for r in remaining:
                    (report.succeeded if "success" in r else report.failed).append(r["accounting_record_id"])
                break
            if answer.duplicates:
                raise ConnectorError(f"Brex found records sent as both success and failure ({answer.duplicates}); "
                                     f"this is a bug in the export plan")
            refused = (set(answer.not_found) | set(answer.not_ready)) & {r["accounting_record_id"] for r in remaining}
            if not refused:
                raise ConnectorError("Brex refused a batch of export results without naming a record of it; "
                                     "nothing of the batch is recorded as reported, the next run sends it again")
            report.not_found += sorted(refused & set(answer.not_found))
            for record_id, status in _read_back(client, sorted(refused & set(answer.not_ready))).items():
                if status == "EXPORTED" and outcome_of.get(record_id) == "success":
                    report.already_exported.append(record_id)
                else:
                    report.no_longer_ready.append(record_id)
            remaining = [r for r in remaining if r["accounting_record_id"] not in refused]
    return report


def _read_back(client: BrexClient, record_ids: list[str]) -> dict[str, str]:
    found = {r["id"]: r.get("review_status") or "" for r in client.accounting_records(record_ids)} \
        if record_ids else {}
    return {rid: found.get(rid, "NOT_FOUND") for rid in record_ids}


def _record_sent(engine: Engine, plan: ExportPlan, sent: list[dict], month: str, run_id: str | None) -> None:
    events = []
    for r in sent:
        record_id = r["accounting_record_id"]
        success = r.get("success")
        events.append(AuditEvent(
            actor="dagster", action=ACTION, outcome="success" if success else "failure", run_id=run_id, month=month,
            posting_key=plan.key_of.get(record_id), source_system="brex", source_id=record_id,
            ledger_entity_id=(success or {}).get("reference_id"),
            detail={"expense_id": plan.expense_of.get(record_id),
                    "message": None if success else r["failure"]["error_message"]}))
    record(engine, *events)


def _last_reported(engine: Engine, record_ids: list[str]) -> dict[str, tuple[str, str | None]]:
    """record id -> (outcome, message) of the last result sent to Brex for it."""
    last: dict[str, tuple[str, str | None]] = {}
    with engine.connect() as connection:
        for ids in chunks(record_ids):
            rows = connection.execute(
                sa.select(audit_events.c.source_id, audit_events.c.outcome, audit_events.c.detail)
                .where((audit_events.c.action == ACTION) & (audit_events.c.source_system == "brex")
                       & audit_events.c.source_id.in_(list(ids)))
                .order_by(audit_events.c.id))
            for source_id, outcome, detail in rows:
                last[source_id] = (outcome, (detail or {}).get("message"))
    return last
