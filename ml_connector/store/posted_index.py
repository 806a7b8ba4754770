"""What is already posted, per source record: loaded once per run for the records of the month.

Read from `posting_records` joined with the posting ledger, for the ids the month holds (a record whose
date moved to another month is still found: its id is what counts, not the month it was posted in).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from ml_connector.store.schema import posting_ledger, posting_records
from ml_connector.store.sql import chunks
from ml_connector.store.target import LedgerTarget


@dataclass(frozen=True)
class Carrier:
    """The live posting (pending or posted) that carries a record, and the version it carries."""

    posting_key: str
    version: str
    status: str
    amount: str | None
    currency: str | None


class PostedIndex:
    """source (system, id) -> the posting that carries it."""

    def __init__(self, carriers: dict[tuple[str, str], Carrier]) -> None:
        self._carriers = carriers

    @classmethod
    def load(cls, engine: Engine, target: LedgerTarget, ids: Iterable[tuple[str, str]]) -> PostedIndex:
        by_system: dict[str, list[str]] = {}
        for system, source_id in ids:
            by_system.setdefault(system, []).append(source_id)
        carriers: dict[tuple[str, str], Carrier] = {}
        join = posting_records.join(posting_ledger, (posting_ledger.c.posting_key == posting_records.c.posting_key)
                                    & (posting_ledger.c.ledger_system == posting_records.c.ledger_system)
                                    & (posting_ledger.c.ledger_org == posting_records.c.ledger_org))
        columns = (posting_records.c.source_system, posting_records.c.source_id, posting_records.c.source_version,
                   posting_records.c.posting_key, posting_records.c.amount, posting_records.c.currency,
                   posting_ledger.c.status)
        with engine.connect() as connection:
            for system, source_ids in by_system.items():
                for chunk in chunks(sorted(set(source_ids))):
                    rows = connection.execute(sa.select(*columns).select_from(join).where(
                        (posting_records.c.ledger_system == target.system)
                        & (posting_records.c.ledger_org == target.org)
                        & (posting_records.c.source_system == system) & posting_records.c.source_id.in_(list(chunk))))
                    for r in rows:
                        carriers[(r.source_system, r.source_id)] = Carrier(r.posting_key, r.source_version, r.status,
                                                                           r.amount, r.currency)
        return cls(carriers)

    def carrier(self, source: str, source_id: str) -> Carrier | None:
        return self._carriers.get((source, source_id))

    def posted_at(self, source: str, source_id: str, version: str) -> str | None:
        """The posting key when the record is posted at exactly this version."""
        found = self._carriers.get((source, source_id))
        if found is not None and found.status == "posted" and found.version == version:
            return found.posting_key
        return None

    def __len__(self) -> int:
        return len(self._carriers)
