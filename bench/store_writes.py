"""Store writes per posted entry and for a month's outcomes: transactions and CPU, against the HTTP call's CPU.

Two measurements per store (a SQLite file, a PostgreSQL schema of its own):
- posting: `posting.Poster` posts N one-record journals (per_record-sized entries) to a fresh Zoho sandbox with
  its limits off (served from a process of its own, so its CPU is not ours), through the real client over HTTP.
  The store's engine counts, with SQLAlchemy's pool and
  cursor events, the transactions (connection checkouts that ran SQL), the statements, and the main thread's
  CPU while it held a connection: the store's own CPU (SQLAlchemy, the driver, our SQL). The rate budget's own
  transaction per HTTP call is counted apart (it belongs to the HTTP layer, not to the posting protocol). The
  ledger is wrapped (a delegate, not a patch) to time the CPU of its calls in this thread, less the store CPU
  inside them.
- outcomes: `outcomes.save_outcomes` for a planned month of N records (the mapping benchmark's month), twice
  (a first run, then a re-run that replaces every outcome), CPU and wall time.
Results go to docs/benchmarks.md under "Store writes per posted entry".

    .venv/bin/python bench/store_writes.py [--entries 1000] [--outcomes 10000 100000] [--stores sqlite postgres]
                                           [--label after] [--no-write]
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import platform
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import requests
import sqlalchemy as sa

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench import docs_section  # noqa: E402

HEADING = "## Store writes per posted entry"
EXPLAINED = (
    "per_entry is the protocol's store writes as they were (a claim, a lease renewal, an attempt, its audit event "
    "and the result, each its own transaction); batched is `posting.Poster` now: claims a chunk at a time, the "
    "fence, attempt and audit event in one transaction before each call, results fifty at a time. The outcome "
    "rows are `outcomes.save_outcomes` for a planned month (COPY and one upsert on PostgreSQL, one executemany "
    "on SQLite).")
MONTH = "2026-10"
POSTGRES_URL = os.environ.get("ML_CONNECTOR_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")


@dataclass
class StoreMeter:
    """Transactions, statements and main-thread CPU of one engine, from its pool, transaction and cursor events.

    CPU is counted from a connection's checkout (or a transaction's begin, on a connection kept open) to the
    transaction's end, and on to the connection's return to the pool; time between two transactions of a kept
    connection is not the store's (the poster is making its HTTP call then)."""

    main: int = field(default_factory=threading.get_ident)
    transactions: int = 0
    statements: int = 0
    cpu: float = 0.0
    budget_transactions: int = 0
    budget_cpu: float = 0.0
    _started: float | None = None
    _tail: bool = False  # the span runs from a transaction's end to the connection's return
    _statements: int = 0
    _budget: bool = False

    def attach(self, engine: sa.Engine) -> None:
        sa.event.listen(engine, "checkout", self._checkout)
        sa.event.listen(engine, "checkin", self._checkin)
        sa.event.listen(engine, "begin", self._begin)
        sa.event.listen(engine, "commit", self._end)
        sa.event.listen(engine, "rollback", self._end)
        sa.event.listen(engine, "before_cursor_execute", self._execute)

    def _mine(self) -> bool:
        return threading.get_ident() == self.main

    def _checkout(self, *_args) -> None:
        if self._mine() and self._started is None:
            self._started, self._tail, self._statements, self._budget = time.thread_time(), False, 0, False

    def _begin(self, *_args) -> None:
        if self._mine() and (self._started is None or self._tail):
            self._started, self._tail, self._statements, self._budget = time.thread_time(), False, 0, False

    def _execute(self, _conn, _cursor, statement, *_args) -> None:
        if self._mine():
            self._statements += 1
            self._budget = self._budget or "rate_budgets" in statement

    def _add(self, spent: float, *, transaction: bool) -> None:
        if self._budget:
            self.budget_transactions += transaction
            self.budget_cpu += spent
        else:
            self.transactions += transaction
            self.statements += self._statements if transaction else 0
            self.cpu += spent

    def _end(self, *_args) -> None:
        if not self._mine() or self._started is None or self._tail:
            return
        now = time.thread_time()
        self._add(now - self._started, transaction=self._statements > 0)
        self._started, self._tail = now, True

    def _checkin(self, *_args) -> None:
        if not self._mine() or self._started is None:
            return
        self._add(time.thread_time() - self._started, transaction=False)
        self._started = None

    def snapshot(self) -> tuple[int, int, float, int, float]:
        return self.transactions, self.statements, self.cpu, self.budget_transactions, self.budget_cpu


class TimedLedger:
    """The real ledger, with the CPU of its calls counted (this thread only; store CPU inside them apart)."""

    def __init__(self, ledger, meter: StoreMeter) -> None:
        self._ledger = ledger
        self._meter = meter
        self.calls = 0
        self.cpu = 0.0

    def __getattr__(self, name):
        return getattr(self._ledger, name)

    def _timed(self, call, *args):
        store_before = self._meter.cpu + self._meter.budget_cpu
        started = time.thread_time()
        try:
            return call(*args)
        finally:
            store_inside = self._meter.cpu + self._meter.budget_cpu - store_before
            self.cpu += time.thread_time() - started - store_inside
            self.calls += 1

    def post(self, draft):
        return self._timed(self._ledger.post, draft)

    def find_posted(self, posting_key, kind):
        return self._timed(self._ledger.find_posted, posting_key, kind)


# -- stores ------------------------------------------------------------------------------------------


def store_url(kind: str, workdir: Path) -> tuple[str, callable]:
    from ml_connector.store.db import create_store_engine

    if kind == "sqlite":
        return f"sqlite:///{workdir / f'store-{uuid.uuid4().hex[:6]}.db'}", lambda: None
    schema = f"bench_{uuid.uuid4().hex[:10]}"
    admin = create_store_engine(POSTGRES_URL)
    with admin.begin() as connection:
        connection.execute(sa.text(f'CREATE SCHEMA "{schema}"'))

    def drop() -> None:
        with admin.begin() as connection:
            connection.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()

    return f"{POSTGRES_URL}?options=-csearch_path%3D{schema}", drop


# -- posting -----------------------------------------------------------------------------------------


@dataclass
class RemoteSandbox:
    """What a client needs of a sandbox served by another process: its config (credentials, URL) and URLs."""

    config: object
    process: multiprocessing.Process

    def url(self, prefix: str) -> str:
        return f"{self.config.public_url}/{prefix}"

    def stop(self) -> None:
        self.process.terminate()
        self.process.join(timeout=10)


def _serve(config, port_out) -> None:
    from ml_connector.sandbox.server import SandboxServer

    server = SandboxServer(config)
    port_out.put(server.config.public_url)
    server.serve_forever()


def remote_sandbox(config) -> RemoteSandbox:
    context = multiprocessing.get_context("spawn")
    port_out = context.Queue()
    process = context.Process(target=_serve, args=(config, port_out), daemon=True)
    process.start()
    config.public_url = port_out.get(timeout=60)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            requests.get(f"{config.public_url}/_sandbox/describe", timeout=2)
            break
        except requests.ConnectionError:
            time.sleep(0.1)
    return RemoteSandbox(config, process)


def journals(reference, count: int, run: str) -> list:
    """`count` one-record journals on the sandbox company's accounts, each with its mandatory tags."""
    from ml_connector.models import JournalDraft, JournalLine, LineTag
    from ml_connector.posting_keys import posting_key_for

    tags, seen = [], set()
    for option in reference.tag_options:
        if option.is_mandatory and option.is_active and option.tag_id not in seen:
            seen.add(option.tag_id)
            tags.append(LineTag(tag_id=option.tag_id, option_id=option.option_id, tag_name=option.tag_name,
                                option_name=option.option_name))
    debit = next(a.account_id for a in reference.accounts if a.code == "6050")
    credit = next(a.account_id for a in reference.accounts if a.code == "2100")
    drafts = []
    for n in range(count):
        source_id = f"bench-{run}-{n:06d}"
        value = Decimal(10 + n % 500) + Decimal("0.25")
        drafts.append(JournalDraft(
            posting_key=posting_key_for("brex", "record", [(source_id, "v1")]), source="brex",
            source_ids=(source_id,), source_versions=("v1",), record_amounts=(value,),
            entry_date=date(2026, 10, 1 + n % 28), currency=reference.base_currency, notes=f"bench {source_id}",
            lines=(JournalLine(account_id=debit, side="debit", amount=value, description=f"bench {source_id}",
                               tags=tuple(tags), source_id=source_id),
                   JournalLine(account_id=credit, side="credit", amount=value, description="card",
                               tags=tuple(tags)))))
    return drafts


def per_entry_poster():
    """The posting protocol's store writes as they were before they were batched, for the same clean month:
    per entry a claim, a lease renewal, an attempt, its audit event and the result, each its own transaction."""
    from ml_connector.posting import Poster, PostingReport, posting_of, saved_of
    from ml_connector.store import postings
    from ml_connector.store.audit import record
    from ml_connector.store.schema import posting_ledger, utc_now

    class PerEntryPoster(Poster):
        def post(self, drafts, keys=None) -> PostingReport:
            report = PostingReport()
            for draft in drafts:
                claim = postings.claim(self.engine, self.target, posting_of(draft), owner=self.lease.owner,
                                       run_id=self.run_id)
                assert claim.outcome == "claimed", claim
                self.lease.renew()
                where = ((posting_ledger.c.ledger_system == self.target.system)
                         & (posting_ledger.c.ledger_org == self.target.org)
                         & (posting_ledger.c.posting_key == draft.posting_key))
                with self.engine.begin() as connection:
                    connection.execute(posting_ledger.update().where(
                        where & (posting_ledger.c.claim_owner == self.lease.owner)
                        & (posting_ledger.c.status == "pending"))
                        .values(attempt_count=posting_ledger.c.attempt_count + 1, updated_at=utc_now()))
                    attempt = connection.execute(sa.select(posting_ledger.c.attempt_count).where(where)).scalar_one()
                record(self.engine, self._event(draft, "post.attempt", "sent",
                                                detail={"attempt": attempt, "kind": draft.kind}))
                result = self.ledger.post(draft)
                with self.engine.begin() as connection:
                    postings.record_posted(connection, self.target, draft.posting_key, saved_of(result), self.run_id)
                    record(connection, self._event(draft, "post.result", "ok",
                                                   ledger_entity_id=result.ledger_entity_id,
                                                   detail={"ledger_number": result.ledger_number}))
                report.posted.append(result)
            return report

    return PerEntryPoster


def posting_case(kind: str, entries: int, workdir: Path, protocol: str = "batched") -> dict:
    from ml_connector.posting import Poster
    from ml_connector.sandbox.config import SandboxConfig
    from ml_connector.store import open_store
    from ml_connector.store.leases import MonthLease
    from tests.resources import zoho_ledger

    url, drop = store_url(kind, workdir)
    config = SandboxConfig(seed=7, last_month=MONTH, months=1, brex_expenses_per_month=1,
                           expensify_reports_per_month=0, rate_limits="off")
    server = remote_sandbox(config)
    try:
        engine = open_store(url)
        ledger = zoho_ledger(server, url)
        drafts = journals(ledger.reference_data(), entries, uuid.uuid4().hex[:8])
        ledger.post(drafts[0].model_copy(update={"posting_key": "MLC-00000000000000000000"}))  # warm the client
        meter = StoreMeter()
        meter.attach(engine)
        timed = TimedLedger(ledger, meter)
        lease = MonthLease(engine, ledger.target, MONTH, run_id="bench", launched_by="bench")
        lease.acquire()
        try:
            cpu0, wall0 = time.thread_time(), time.perf_counter()
            poster = Poster if protocol == "batched" else per_entry_poster()
            report = poster(engine, timed, lease, run_id="bench").post(drafts)
            cpu, wall = time.thread_time() - cpu0, time.perf_counter() - wall0
        finally:
            lease.release()
        engine.dispose()
    finally:
        server.stop()
        drop()
    transactions, statements, store_cpu, budget_transactions, budget_cpu = meter.snapshot()
    posted = len(report.posted)
    assert posted == entries, f"posted {posted} of {entries}"
    return {"store": kind, "protocol": protocol, "entries": entries, "posted": posted, "transactions": transactions,
            "statements": statements, "store_cpu": store_cpu, "budget_transactions": budget_transactions,
            "budget_cpu": budget_cpu, "http_calls": timed.calls, "http_cpu": timed.cpu, "cpu": cpu, "wall": wall}


# -- outcomes ----------------------------------------------------------------------------------------


def outcomes_case(kind: str, records: int, workdir: Path) -> dict:
    from bench.scale_data import month_frame, reference, rules
    from ml_connector.month import plan_month
    from ml_connector.outcomes import save_outcomes
    from ml_connector.store import open_store
    from ml_connector.store.target import LedgerTarget

    url, drop = store_url(kind, workdir)
    try:
        engine = open_store(url)
        frame = month_frame(records)
        plan = plan_month(MONTH, LedgerTarget("zoho_books", "bench"), frame, rules(), reference(), engine,
                          sources_read=("brex",))
        timings = []
        for _ in range(2):  # the first run of the month, then a re-run replacing every outcome
            cpu0, wall0 = time.process_time(), time.perf_counter()
            save_outcomes(engine, plan, "bench")
            timings.append((time.process_time() - cpu0, time.perf_counter() - wall0))
        engine.dispose()
    finally:
        drop()
    return {"store": kind, "records": records, "first_cpu": timings[0][0], "first_wall": timings[0][1],
            "rerun_cpu": timings[1][0], "rerun_wall": timings[1][1]}


# -- report ------------------------------------------------------------------------------------------


def posting_lines(rows: list[dict]) -> list[str]:
    lines = ["| store writes | store | entries | store transactions per entry | statements per entry | store CPU per "
             "1000 entries | rate-budget CPU per 1000 calls | HTTP client CPU per 1000 calls | store CPU / HTTP "
             "CPU | wall per 1000 entries |",
             "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for r in rows:
        per = 1000 / r["entries"]
        calls = max(1, r["http_calls"])
        lines.append(f"| {r['protocol']} | {r['store']} | {r['entries']} | {r['transactions'] / r['entries']:.2f} | "
                     f"{r['statements'] / r['entries']:.1f} | {r['store_cpu'] * per:.2f} s | "
                     f"{r['budget_cpu'] * 1000 / calls:.2f} s | {r['http_cpu'] * 1000 / calls:.2f} s | "
                     f"{r['store_cpu'] / max(1e-9, r['http_cpu']):.2f} | {r['wall'] * per:.1f} s |")
    return lines


def outcomes_lines(rows: list[dict], label: str) -> list[str]:
    lines = [f"| {label} | store | records | first run CPU | first run wall | re-run CPU | re-run wall |",
             "| --- | --- | ---: | ---: | ---: | ---: | ---: |"]
    for r in rows:
        lines.append(f"| {label} | {r['store']} | {r['records']} | {r['first_cpu']:.2f} s | {r['first_wall']:.2f} s "
                     f"| {r['rerun_cpu']:.2f} s | {r['rerun_wall']:.2f} s |")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--entries", type=int, default=1000)
    parser.add_argument("--outcomes", type=int, nargs="*", default=[10_000, 100_000])
    parser.add_argument("--stores", nargs="+", default=["sqlite", "postgres"], choices=["sqlite", "postgres"])
    parser.add_argument("--label", default="now", help="a name for this code's outcome rows (before, after)")
    parser.add_argument("--json", help="also write the raw numbers to this file")
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="bench-store-"))
    posting = [posting_case(kind, args.entries, workdir, protocol) for kind in args.stores
               for protocol in ("per_entry", "batched") if args.entries]
    outcomes = [outcomes_case(kind, n, workdir) for kind in args.stores for n in args.outcomes]
    if args.json:
        Path(args.json).write_text(json.dumps({"posting": posting, "outcomes": outcomes}, indent=1))
    text = "\n".join([
        HEADING, "", EXPLAINED, "",
        f"Command: `python bench/store_writes.py --entries {args.entries} --outcomes "
        f"{' '.join(map(str, args.outcomes))} --stores {' '.join(args.stores)} --label {args.label}` "
        f"({datetime.now(UTC):%Y-%m-%d %H:%M} UTC, Python {platform.python_version()}, {os.cpu_count()} cores)", "",
        *posting_lines(posting), "", *outcomes_lines(outcomes, args.label), ""])
    print(text)
    if not args.no_write:
        docs_section.write_section(HEADING, text)


if __name__ == "__main__":
    main()
