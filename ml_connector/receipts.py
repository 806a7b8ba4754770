"""Attaching the receipts bills owe: each once, none forgotten, whatever crashed before.

Every receipt owed has a row (`store.receipts`), written when its bill was claimed. After posting, every
open receipt of the month whose bill is in the ledger (posted now, found by search, or left by a crashed
run) is attached. A receipt is marked uncertain before its upload is sent (so a crash or a lost answer
leaves it so), and before an uncertain one is sent again the entry's attachments are read: a file already
there is marked attached, not uploaded twice. A receipt that
still fails stays open with its error for the next run; it never fails or undoes its bill.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy.engine import Engine

from ml_connector.errors import ConnectorError, Uncertain
from ml_connector.ledgers.base import Ledger
from ml_connector.store import postings
from ml_connector.store import receipts as owed
from ml_connector.store.audit import AuditEvent, record

MAX_ATTEMPTS = 10  # per receipt across runs; after that it is reported, not retried


class ReceiptRefused(ConnectorError):
    """The connector will not fetch or attach this receipt (untrusted link, too large, a refused type)."""


Fetch = Callable[[str], tuple[bytes, str]]  # url -> (content, content type)


@dataclass
class ReceiptReport:
    attached: int = 0
    already_there: int = 0
    failed: dict[str, list[str]] = field(default_factory=dict)  # posting key -> "file: error"
    refused: dict[str, list[str]] = field(default_factory=dict)


def attach_owed(engine: Engine, ledger: Ledger, month: str, fetch: Fetch, *, run_id: str | None) -> ReceiptReport:
    """Attach every open receipt of the month whose bill the ledger holds."""
    report = ReceiptReport()
    target = ledger.target
    open_receipts = [r for r in owed.open_for(engine, target, month=month) if r.attempts < MAX_ATTEMPTS]
    bills = postings.rows_for_keys(engine, target, [r.posting_key for r in open_receipts])
    names_on: dict[str, set[str]] = {}
    for receipt in open_receipts:
        bill = bills.get(receipt.posting_key)
        if bill is None or bill["status"] != "posted" or not bill["ledger_entity_id"]:
            continue  # its bill is not in the ledger yet: the receipt waits for it
        entity, kind = bill["ledger_entity_id"], bill["kind"] or "bill"
        sent = []

        def before_upload(receipt_id: int = receipt.id, sent: list = sent) -> None:
            # Written before the upload, so a crash during it leaves the row uncertain: the next run reads the
            # entry's attachments before it sends the file again.
            owed.mark(engine, receipt_id, "uncertain", "upload started, answer not recorded yet")
            sent.append(receipt_id)

        outcome, error = _attach_one(ledger, kind, entity, receipt, fetch, names_on, before_upload)
        if outcome in ("attached", "already_there"):
            owed.mark(engine, receipt.id, "attached", attempted=False)
            report.attached += outcome == "attached"
            report.already_there += outcome == "already_there"
        else:
            owed.mark(engine, receipt.id, outcome, error, attempted=not sent)
            (report.refused if outcome == "refused" else report.failed).setdefault(receipt.posting_key, []).append(
                f"{receipt.file_name}: {error}")
        record(engine, AuditEvent(actor="dagster", action="receipt.attach", outcome=outcome, run_id=run_id,
                                  month=month, posting_key=receipt.posting_key, ledger_entity_id=entity,
                                  detail={"file": receipt.file_name, "error": error, "ledger": str(target)}))
    return report


def _attach_one(ledger: Ledger, kind: str, entity: str, receipt: owed.Receipt, fetch: Fetch,
                names_on: dict[str, set[str]], before_upload: Callable[[], None]) -> tuple[str, str | None]:
    try:
        if receipt.status in ("uncertain", "failed") or receipt.attempts:
            # An earlier upload may have landed without an answer: look before sending it again.
            if entity not in names_on:
                names_on[entity] = set(ledger.attachment_names(kind, entity))
            if receipt.file_name in names_on[entity]:
                return "already_there", None
        content, content_type = fetch(receipt.url)
        before_upload()
        ledger.attach_receipt(kind, entity, receipt.file_name, content, content_type)
        names_on.setdefault(entity, set()).add(receipt.file_name)
        return "attached", None
    except ReceiptRefused as exc:
        return "refused", str(exc)
    except Uncertain as exc:
        names_on.pop(entity, None)
        return "uncertain", type(exc).__name__
    except ConnectorError as exc:
        return "failed", f"{type(exc).__name__}: {str(exc)[:200]}"
