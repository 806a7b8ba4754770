"""Reading a month's entries back from the ledger, for the tie-out, at the fewest calls that stay true.

The list pages of the month (a page per hundred or two entries) say, for every entry, its key, total and
modification time. Where the row shows the same modification time as when we saved (or last read) the
entry, the lines it answered then are still what the ledger holds and are used as they are; an entry whose
row changed, or that we never read, is fetched once and its lines recorded. An entry missing from the list
was deleted; a key on two rows was posted twice.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from sqlalchemy.engine import Engine

from ml_connector.ledgers.base import Ledger
from ml_connector.models import EntrySummary, LedgerLine
from ml_connector.month import month_bounds
from ml_connector.posting import saved_of
from ml_connector.store import postings


@dataclass
class ReadBack:
    lines: list[LedgerLine] = field(default_factory=list)  # every line of the entries in scope
    rows: dict[str, list[EntrySummary]] = field(default_factory=dict)  # key -> list rows carrying it
    unknown: list[EntrySummary] = field(default_factory=list)  # rows with our key format the store never posted
    reads: int = 0  # entries fetched one by one

    def count(self, key: str) -> int:
        return len(self.rows.get(key, []))


def read_back(engine: Engine, ledger: Ledger, month: str, keys: set[str], *,
              known_keys: set[str] | None = None) -> ReadBack:
    """Lines of the entries carrying `keys` dated in the month. `known_keys`: every key the store holds for
    the month, so a row carrying a key of ours that we never posted is reported, not counted."""
    start, end = month_bounds(month)
    result = ReadBack()
    by_key: dict[str, list[EntrySummary]] = defaultdict(list)
    stored = postings.rows_for_keys(engine, ledger.target, sorted(keys))
    # Only the kinds the month holds: a month of journals reads no bill pages. (A key never stored, a draft
    # not attempted yet, could be either.)
    kinds = tuple(sorted({row["kind"] or "journal" for row in stored.values()} | ({"journal", "bill"}
                                                                               if len(stored) < len(keys) else set())))
    for row in ledger.list_entries(start, end, kinds or ("journal", "bill")):
        if row.posting_key and not row.is_void:
            by_key[row.posting_key].append(row)
    known = keys | (known_keys or set())
    result.unknown = [r for key, rs in by_key.items() if key not in known for r in rs]
    for key in sorted(keys):
        rows = by_key.get(key, [])
        result.rows[key] = rows
        for row in rows:
            result.lines.extend(_lines_of(engine, ledger, row, stored.get(key), result))
    return result


def _lines_of(engine: Engine, ledger: Ledger, row: EntrySummary, stored: dict | None,
              result: ReadBack) -> list[LedgerLine]:
    if (stored is not None and stored["ledger_entity_id"] == row.ledger_entity_id and stored["saved_lines"]
            and row.modified_at is not None and stored["ledger_modified_at"] == row.modified_at):
        return [LedgerLine.model_validate(line) for line in stored["saved_lines"]]
    entry = ledger.read_entry(row.kind, row.ledger_entity_id)
    result.reads += 1
    if entry is None or entry.lines is None:
        return []
    saved = saved_of(entry)
    # Saved lines are the baseline drift compares with: a read keeps them when they are what the ledger still
    # holds (only its modification time moved) or when none were saved yet, never when a person changed them,
    # so the edit stays visible to `drift` (and the entry is read again by the next tie-out).
    if (stored is not None and stored["ledger_entity_id"] == row.ledger_entity_id
            and (not stored["saved_lines"] or stored["saved_lines"] == saved.lines)):
        with engine.begin() as connection:
            postings.record_readback(connection, ledger.target, row.posting_key or "", saved)
    return list(entry.lines)
