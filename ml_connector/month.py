"""A month of spend, planned: every record mapped to a draft, held with a reason, or already posted.

`plan_month` is the mapping step: it holds what its source says must wait, maps the rest, and reads the
posted index once (the records of the month already carried by a posting in this ledger organisation). A
record posted earlier at the same version is never drafted again, whatever the posting mode is now; a
record posted at another version is held for review with both amounts. The drafts it returns are the ones
the posting step posts.
"""

from __future__ import annotations

import calendar
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

import numpy as np
import pandas as pd
from sqlalchemy.engine import Engine

from ml_connector.ledgers.base import Capabilities
from ml_connector.mapping import EXCEPTION_COLUMNS, MappingRules
from ml_connector.mapping.apply import map_frame
from ml_connector.mapping.columns import values
from ml_connector.mapping.draft_table import DraftTable
from ml_connector.mapping.drafts import build_drafts
from ml_connector.mapping.frames import records_frame
from ml_connector.mapping.schema import conform, empty
from ml_connector.models import ReferenceData, SpendRecord
from ml_connector.money import quantum
from ml_connector.sources.registry import SOURCES
from ml_connector.store.posted_index import PostedIndex
from ml_connector.store.target import LedgerTarget
from ml_connector.tax import split_gross

FIRST_MONTH = "2025-01"  # the first month partition; the last is the month in progress


def months_available(today: date | None = None) -> tuple[str, str]:
    """The first and last month a run can be asked for."""
    today = today or date.today()
    return FIRST_MONTH, f"{today.year:04d}-{today.month:02d}"


def month_bounds(month: str) -> tuple[date, date]:
    year, mon = (int(p) for p in month.split("-"))
    return date(year, mon, 1), date(year, mon, calendar.monthrange(year, mon)[1])


@dataclass(frozen=True)
class MonthPlan:
    """What mapping decided for a month of one ledger organisation."""

    month: str
    target: LedgerTarget
    mapped: pd.DataFrame  # records that post: drafted now, or posted earlier at this version
    exceptions: pd.DataFrame  # records held, each with a reason and the fix
    drafts: DraftTable  # the entries to post (records not posted yet), as columns; an entry at a time as Draft
    posted_earlier: dict[str, str]  # source id -> the posting key that carries it
    changed_carriers: frozenset[str]  # keys of posted entries that carry a record changed since
    record_count: int
    sources_read: tuple[str, ...]  # the sources whose month was read (their outcomes are replaced)

    def keys(self) -> set[str]:
        """The entries this month's records are (or will be) carried by."""
        return set(self.drafts.keys()) | set(self.posted_earlier.values())

    def totals_by_currency(self) -> dict[str, Decimal]:
        totals: dict[str, Decimal] = defaultdict(Decimal)
        for currency, amount in zip(self.mapped["currency"], self.mapped["amount"], strict=True):
            totals[currency] += amount
        return dict(totals)


Preflight = Callable[[pd.DataFrame, ReferenceData], pd.DataFrame]


def plan_month(month: str, target: LedgerTarget, records: list[SpendRecord] | pd.DataFrame, rules: MappingRules,
               reference: ReferenceData, engine: Engine, sources_read: tuple[str, ...] = (),
               preflight: Preflight | None = None, capabilities: Capabilities | None = None) -> MonthPlan:
    """`preflight`: the ledger's own reasons to hold records before anything posts (`Ledger.preflight`);
    `capabilities`: what the ledger can carry (journals in the base currency only, vendors on journal lines)."""
    frame = records if isinstance(records, pd.DataFrame) else records_frame(records)
    ready, held = _hold_before_mapping(frame)
    result = map_frame(ready, rules, reference)
    mapped, exceptions = result.mapped, pd.concat([held, result.exceptions], ignore_index=True)
    if capabilities is not None:
        mapped = fit_to_ledger(mapped, capabilities, reference)
    if preflight is not None and not mapped.empty:
        mapped, refused = _hold_refused(mapped, preflight(mapped, reference))
        exceptions = pd.concat([exceptions, refused], ignore_index=True)
    mapped, exceptions = _hold_after_mapping(mapped, exceptions)
    index = PostedIndex.load(engine, target, zip(mapped["source"], mapped["source_id"], strict=True))
    mapped, changed, posted_earlier, carriers = _split_posted(mapped, index)
    exceptions = pd.concat([df for df in (exceptions, changed) if not df.empty] or [exceptions], ignore_index=True)
    unposted = mapped[~mapped["source_id"].isin(list(posted_earlier))]
    drafts = build_drafts(unposted)
    return MonthPlan(month=month, target=target, mapped=mapped, exceptions=conform(exceptions, EXCEPTION_COLUMNS),
                     drafts=drafts, posted_earlier=posted_earlier, changed_carriers=frozenset(carriers),
                     record_count=len(frame), sources_read=sources_read or tuple(sorted(set(frame["source"]))))


def _hold_before_mapping(frame: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    held_parts = []
    for name, spec in SOURCES.items():
        if spec.hold_before_mapping is not None:
            held = spec.hold_before_mapping(frame[frame["source"] == name])
            if not held.empty:
                held_parts.append(held)
    if not held_parts:
        return frame, empty(EXCEPTION_COLUMNS)
    held = pd.concat(held_parts, ignore_index=True)
    return frame[~frame["source_id"].isin(list(held["source_id"]))], conform(held, EXCEPTION_COLUMNS)


def fit_to_ledger(mapped: pd.DataFrame, capabilities: Capabilities, reference: ReferenceData) -> pd.DataFrame:
    """What the ledger cannot carry, made into what it can, before anything is drafted:
    - journals in the base currency only: a journal record in another currency whose source also gives the
      amount in the base currency (Brex: what the card settled) posts that amount, in that currency (and a
      taxed line's tax is the tax inside that amount);
    - no vendors on journal lines: journal records name no vendor (so none is created for them)."""
    base_currency = reference.base_currency
    journal = values(mapped, "posting_kind") == "journal"
    if capabilities.journal_currencies == "base":
        currency, original = values(mapped, "currency"), values(mapped, "original_currency")
        convert = journal & (currency != base_currency) & (original == base_currency)
        if convert.any():
            mapped = mapped.copy()
            for name in ("currency", "exchange_rate"):
                mapped[name] = values(mapped, name)
            amount = values(mapped, "amount")
            unit = quantum(base_currency)
            amount[convert] = [a.quantize(unit) for a in values(mapped, "original_amount")[convert]]
            mapped["amount"] = amount
            mapped.loc[convert, "currency"] = base_currency
            mapped.loc[convert, "exchange_rate"] = None
            rates = values(mapped, "tax_rate") if "tax_rate" in mapped.columns else None
            if rates is not None and pd.notna(rates[convert]).any():
                tax = values(mapped, "tax_amount")
                basis = reference.tax_basis("journal")
                for at in np.flatnonzero(convert & pd.notna(rates)):
                    tax[at] = split_gross(amount[at], rates[at], base_currency, basis)[1]
                mapped["tax_amount"] = tax
    if not capabilities.journal_line_vendors and journal.any():
        mapped = mapped.copy()
        for name in ("vendor_id", "vendor_name"):
            column = values(mapped, name)
            column[journal] = None
            mapped[name] = column
    return mapped


def _hold_refused(mapped: pd.DataFrame, refused: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    if refused.empty:
        return mapped, empty(EXCEPTION_COLUMNS)
    reasons = refused.drop_duplicates("source_id").set_index("source_id")
    is_refused = mapped["source_id"].isin(list(reasons.index))
    moved = mapped[is_refused].assign(reason=lambda f: f["source_id"].map(reasons["reason"]),
                                      reason_text=lambda f: f["source_id"].map(reasons["reason_text"]))
    return mapped[~is_refused].reset_index(drop=True), conform(moved, EXCEPTION_COLUMNS)


def _hold_after_mapping(mapped: pd.DataFrame, exceptions: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    for spec in SOURCES.values():
        if spec.hold_after_mapping is not None and not mapped.empty:
            mapped, moved = spec.hold_after_mapping(mapped, exceptions)
            if not moved.empty:
                exceptions = pd.concat([exceptions, conform(moved, EXCEPTION_COLUMNS)], ignore_index=True)
    return mapped, exceptions


def _split_posted(mapped: pd.DataFrame, index: PostedIndex):
    """Records posted at this version (not drafted again), and records posted at another version (held)."""
    posted: dict[str, str] = {}
    changed_rows, carriers = [], set()
    for position, (source, source_id, version, amount, currency) in enumerate(zip(
            mapped["source"], mapped["source_id"], mapped["version"], mapped["amount"], mapped["currency"],
            strict=True)):
        carrier = index.carrier(source, source_id)
        if carrier is None:
            continue
        if carrier.version == version:
            if carrier.status == "posted":
                posted[source_id] = carrier.posting_key
            continue  # pending at this version: the posting step settles its claim
        carriers.add(carrier.posting_key)
        was = f"{carrier.amount} {carrier.currency}" if carrier.amount is not None else "its earlier amount"
        changed_rows.append((position, f"{source} record {source_id} changed after it was posted as "
                                       f"{carrier.posting_key} ({was}; now {amount} {currency}): review it in the "
                                       f"ledger; it is not reposted automatically"))
    if not changed_rows:
        return mapped, empty(EXCEPTION_COLUMNS), posted, carriers
    positions = [p for p, _ in changed_rows]
    changed = mapped.iloc[positions].assign(reason="changed_after_posting", reason_text=[t for _, t in changed_rows])
    return (mapped.drop(mapped.index[positions]).reset_index(drop=True), conform(changed, EXCEPTION_COLUMNS),
            posted, carriers)
