"""The store's bulk writes on SQLite and PostgreSQL: a chunk of claims answers as one claim at a time would, a
claim made ahead of a call that never happened is searched for after a crash, the write before a call is
fenced by the month lease, results in a batch read back as posted, and bulk upserts store exactly what an
INSERT would."""

import time
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
import sqlalchemy as sa

from ml_connector.store import bulk, open_store, postings
from ml_connector.store.audit import AuditEvent, query
from ml_connector.store.leases import LeaseLost, MonthLease
from ml_connector.store.posting_batches import begin_attempt, claim_many, write_results
from ml_connector.store.postings import Posting, Saved
from ml_connector.store.schema import record_outcomes
from ml_connector.store.target import LedgerTarget

TARGET = LedgerTarget("zoho_books", "org-1")
MONTH = "2026-10"


def _posting(n: int, *records: str) -> Posting:
    ids = records or (f"expense_{n}",)
    return Posting(posting_key=f"MLC-{n:020d}", kind="journal", source_system="brex", source_ids=ids,
                   source_versions=tuple("v1" for _ in ids), month=MONTH, amount=Decimal("12.50") * len(ids),
                   currency="USD", record_amounts=tuple(Decimal("12.50") for _ in ids))


_TAKEN: list[MonthLease] = []


@pytest.fixture(autouse=True)
def _release_leases(store_url):
    """Every lease a test took is released (its heartbeat stopped) before the test's schema goes."""
    yield
    while _TAKEN:
        _TAKEN.pop().release()


def _lease(engine, run_id: str, lease_seconds: float = 60.0) -> MonthLease:
    lease = MonthLease(engine, TARGET, MONTH, run_id=run_id, launched_by="test", lease_seconds=lease_seconds)
    _TAKEN.append(lease)
    return lease.acquire()


def test_a_chunk_of_new_entries_is_claimed_in_one_go(store_url):
    engine = open_store(store_url)
    lease = _lease(engine, "run-1")
    claims = claim_many(engine, TARGET, [_posting(n) for n in range(5)], owner=lease.owner, run_id="run-1")
    assert [c.outcome for c in claims] == ["claimed"] * 5
    rows = postings.rows_for_keys(engine, TARGET, [f"MLC-{n:020d}" for n in range(5)])
    assert {(r["status"], r["claim_owner"], r["attempt_count"]) for r in rows.values()} == {
        ("pending", lease.owner, 0)}
    lease.release()


def test_a_chunk_answers_for_posted_busy_and_conflicting_entries_as_single_claims_do(store_url):
    engine = open_store(store_url)
    other = _lease(engine, "run-other")
    postings.claim(engine, TARGET, _posting(1), owner=other.owner, run_id="run-other")  # live elsewhere: busy
    postings.claim(engine, TARGET, _posting(2), owner=other.owner, run_id="run-other")
    with engine.begin() as connection:
        postings.record_posted(connection, TARGET, _posting(2).posting_key, Saved("J-2"), "run-other")
    postings.claim(engine, TARGET, _posting(3, "carried"), owner=other.owner, run_id="run-other")
    claims = claim_many(engine, TARGET, [_posting(0), _posting(1), _posting(2), _posting(4, "carried"), _posting(5)],
                        owner="run-mine-owner", run_id="run-mine")
    assert [c.outcome for c in claims] == ["claimed", "busy", "posted", "conflict", "claimed"]
    assert [(c.source_id, c.posting_key) for c in claims[3].conflicts] == [("carried", _posting(3).posting_key)]
    other.release()


def test_an_entry_claimed_ahead_of_a_call_that_never_happened_is_searched_for_after_a_crash(store_url):
    engine = open_store(store_url)
    dead = _lease(engine, "run-dead", lease_seconds=0.2)
    claim_many(engine, TARGET, [_posting(n) for n in range(3)], owner=dead.owner, run_id="run-dead")
    time.sleep(0.3)
    survivor = _lease(engine, "run-next")
    claims = claim_many(engine, TARGET, [_posting(n) for n in range(3)], owner=survivor.owner, run_id="run-next")
    assert [(c.outcome, c.must_search_first) for c in claims] == [("resumed", True)] * 3
    survivor.release()


def test_the_write_before_a_call_counts_the_attempt_and_audits_it(store_url):
    engine = open_store(store_url)
    lease = _lease(engine, "run-1")
    posting = _posting(7)
    claim_many(engine, TARGET, [posting], owner=lease.owner, run_id="run-1")
    with engine.connect() as connection:
        attempt = begin_attempt(connection, lease, posting.posting_key, lambda n: AuditEvent(
            actor="test", action="post.attempt", outcome="sent", posting_key=posting.posting_key,
            detail={"attempt": n}))
    assert attempt == 1
    assert [e["detail"]["attempt"] for e in query(engine, posting_key=posting.posting_key)] == [1]
    lease.release()


def test_no_attempt_is_counted_once_another_run_took_the_month_over(store_url):
    engine = open_store(store_url)
    stalled = _lease(engine, "run-stalled", lease_seconds=0.2)
    posting = _posting(8)
    claim_many(engine, TARGET, [posting], owner=stalled.owner, run_id="run-stalled")
    time.sleep(0.3)
    took_over = _lease(engine, "run-took-over")
    with engine.connect() as connection, pytest.raises(LeaseLost):
        begin_attempt(connection, stalled, posting.posting_key, lambda n: AuditEvent(
            actor="test", action="post.attempt", outcome="sent", posting_key=posting.posting_key))
    assert postings.rows_for_keys(engine, TARGET, [posting.posting_key])[posting.posting_key]["attempt_count"] == 0
    assert not query(engine, posting_key=posting.posting_key)
    stalled.release()
    took_over.release()


def test_results_written_in_a_batch_read_back_as_posted(store_url):
    engine = open_store(store_url)
    lease = _lease(engine, "run-1")
    batch = [_posting(n) for n in range(20, 24)]
    claim_many(engine, TARGET, batch, owner=lease.owner, run_id="run-1")
    lines = [{"account_id": "a1", "side": "debit", "amount": "12.50"}]
    write_results(engine, TARGET, [(p.posting_key, Saved(f"J-{i}", f"N-{i}", f"https://x/{i}",
                                                         lines if i % 2 else None, "2026-10-31T10:00:00+0000", "12.50"))
                                   for i, p in enumerate(batch)], [], "run-1")
    rows = postings.rows_for_keys(engine, TARGET, [p.posting_key for p in batch])
    assert [(rows[p.posting_key]["status"], rows[p.posting_key]["ledger_entity_id"], rows[p.posting_key]["claim_owner"])
            for p in batch] == [("posted", f"J-{i}", None) for i in range(4)]
    assert [rows[p.posting_key]["saved_lines"] for p in batch] == [None, lines, None, lines]
    assert {rows[p.posting_key]["run_id"] for p in batch} == {"run-1"}
    lease.release()


def _outcome(source_id: str, reason: str | None, **changes) -> dict:
    return {"month": MONTH, "source_system": "brex", "source_id": source_id, "parent_id": None,
            "source_version": "v1", "record_date": date(2026, 10, 3), "amount": "-4.20", "currency": "USD",
            "outcome": "exception" if reason is not None else "drafted", "reason_code": None, "reason": reason,
            "posting_key": None, "run_id": "r1", "updated_at": datetime(2026, 11, 1, 9, 30, tzinfo=UTC)} | changes


REPLACED = ("month", "reason", "outcome", "run_id", "updated_at")


def _stored(engine) -> dict[str, dict]:
    with engine.connect() as connection:
        return {r.source_id: {k: v for k, v in r._mapping.items() if k != "id"}
                for r in connection.execute(sa.select(record_outcomes))}


def test_bulk_upsert_stores_text_nulls_dates_and_zones_exactly_as_written(store_url):
    engine = open_store(store_url)
    rows = [_outcome("a", "tab\there, new\nline, back\\slash, \\N, café"), _outcome("b", ""), _outcome("c", None)]
    with engine.begin() as connection:
        bulk.upsert(connection, record_outcomes, rows, key=("source_system", "source_id"), replaced=REPLACED)
    assert _stored(engine) == {r["source_id"]: r for r in rows}


def test_bulk_upsert_replaces_the_rows_whose_key_is_stored(store_url):
    engine = open_store(store_url)
    with engine.begin() as connection:
        bulk.upsert(connection, record_outcomes, [_outcome("a", None), _outcome("b", None)],
                    key=("source_system", "source_id"), replaced=REPLACED)
    moved = _outcome("b", "moved", month="2026-11", run_id="r2")
    with engine.begin() as connection:
        bulk.upsert(connection, record_outcomes, [moved, _outcome("c", None)], key=("source_system", "source_id"),
                    replaced=REPLACED)
    stored = _stored(engine)
    assert sorted(stored) == ["a", "b", "c"]
    assert stored["b"] == moved
