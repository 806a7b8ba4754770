"""The source seam: what every source of spend (Brex, Expensify, the next one) tells the engine.

A source is a module that provides a `SourceSpec`, registered in `sources.registry`, and a section of the
mapping file (its `rules_model`). Nothing in `month.py` or `mapping/` names a source:
- `fetch_month`: the records of a month (typed columns or SpendRecords) and what was read;
- `hold_before_mapping`: records that must wait (a Brex expense not approved yet), each with a reason;
- `hold_after_mapping`: records that must wait because of another record (an Expensify report posts whole);
- `reread`: "full" when every run reads the whole month again (its month's outcomes are replaced), or
  "incremental" when a run sees only what is new (Expensify skips reports it has marked exported);
- `acknowledge`: what the source is told once the ledger accepted its records (Expensify markAsExported,
  Brex accounting export results), run as its own step after posting;
- `receipt_hosts`: the hosts its receipt links may point at (anything else is refused, never fetched).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any, Literal, Protocol

import pandas as pd

from ml_connector.mapping.rule_types import SourceRules
from ml_connector.models import SpendRecord


@dataclass(frozen=True)
class SourceBatch:
    """A month of one source, as read: its records (as columns, `mapping.frames.records_frame`, or as
    SpendRecords for a source of small months) and the counts a person checks."""

    source: str
    records: pd.DataFrame | list[SpendRecord]
    counts: dict[str, int] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class MonthRecords:
    """Every source's records of a month, and which sources were read (a source read in full with no records
    this month still replaces its month's outcomes)."""

    records: pd.DataFrame  # `mapping.frames.records_frame`'s columns
    sources: tuple[str, ...]


def amounts_by_currency(records: pd.DataFrame) -> dict[str, Decimal]:
    """The records' total per currency, in Decimal."""
    return {str(currency): sum(amounts, Decimal(0))
            for currency, amounts in records.groupby("currency", sort=True)["amount"]} if len(records) else {}


@dataclass(frozen=True)
class Accepted:
    """What the ledger did with a month's records of one source, for the acknowledgement."""

    month: str
    posted: dict[str, dict[str, Any]]  # source id -> {posting_key, ledger_entity_id, url, parent_id}
    rejected: dict[str, str]  # source id -> the ledger's reason
    complete_parents: list[str]  # parent ids (reports, card transactions) whose every record is posted


class SourceClient(Protocol):
    def fetch_month(self, start: date, end: date) -> SourceBatch: ...

    def acknowledge(self, accepted: Accepted) -> dict[str, Any]: ...


Hold = Callable[[pd.DataFrame], pd.DataFrame]


@dataclass(frozen=True)
class SourceSpec:
    """One source of spend, as the engine sees it."""

    name: str
    rules_model: type[SourceRules]
    reread: Literal["full", "incremental"]
    # records frame (MAPPED-like columns: source_id, status, parent_id...) -> rows to hold, with reason and
    # reason_text; runs before mapping.
    hold_before_mapping: Hold | None = None
    # (mapped, exceptions) -> (mapped still to post, the rows moved to exceptions with a reason)
    hold_after_mapping: Callable[[pd.DataFrame, pd.DataFrame], tuple[pd.DataFrame, pd.DataFrame]] | None = None
    reasons: dict[str, str] = field(default_factory=dict)  # the hold reason codes it uses, with their meaning
    # Hosts its receipt links come from (exact hosts, or `*.suffix` for any host under the suffix): the only ones
    # the connector downloads a receipt from, with the operator's own (see `receipt_policy`).
    receipt_hosts: tuple[str, ...] = ()
