"""A month of 10,000 records through faults, lost responses and repeated SIGKILLs, on every ledger, counted in the
sandbox's own ledger; a month of 100,000 records in per_day mode against the rate-limit floor; peak memory.

Too long for CI, so it lives here (not under tests/). Each case starts a sandbox in this process (one ledger's
company, Brex only, `rate_limits="off"`: the sandbox enforces no limit and the connector is told to go as
fast as the sandbox, so the case measures our protocol, not Zoho's 100 a minute or Xero's 60) and starts
`ml-connector run` processes against one store with the reliability tests' `Fleet`:
1. while a share of every sandbox request fails (`--faults`: 429s, 5xx, drops, slow answers past the client's
   timeout, and writes whose answer is lost after they committed), runs are started and each is killed with
   SIGKILL (its whole process group) at a random moment after it sent a post, `--kills` times;
2. then runs are started, faults still on, until one exits 0 (the month posted and tied out);
3. the sandbox's own control route lists every entry it holds (`/_sandbox/journals` and `/bills`, or
   `/_sandbox/entries`): duplicates are posting keys held twice, lost records are records the month's final plan
   drafted whose entry the sandbox does not hold. Neither count reads our store's posting ledger.
Peak memory is each run process's own peak resident set (`wait4`'s `ru_maxrss`).

Results go to docs/benchmarks.md under "Faults, SIGKILLs and size: months counted in the sandbox's ledger".

    .venv/bin/python bench/fault_runs.py [--ledgers zoho_books quickbooks xero] [--records 10000] [--kills 6]
        [--faults 0.2] [--mode per_record] [--big 100000] [--memory 1000 10000] [--no-write]
"""

from __future__ import annotations

import argparse
import logging
import os
import platform
import random
import re
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import requests
import sqlalchemy as sa

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench import docs_section  # noqa: E402
from bench.posting_calls import LEDGERS  # noqa: E402
from ml_connector.cli.demo import demo_mapping  # noqa: E402
from ml_connector.posting_keys import compact  # noqa: E402
from ml_connector.sandbox.config import SandboxConfig  # noqa: E402
from ml_connector.sandbox.server import SandboxServer  # noqa: E402
from ml_connector.store import open_store  # noqa: E402
from ml_connector.store.schema import record_outcomes  # noqa: E402
from tests.reliability.conftest import Fleet, _summary, kill_group, wait_for  # noqa: E402

HEADING = "## Faults, SIGKILLs and size: months counted in the sandbox's ledger"
MONTH = "2026-10"
SLOW_SECONDS = 2.5  # a "slow" fault answers after the client's timeout (2 s here): the call is uncertain
KILL_WINDOW = (5.0, 90.0)  # seconds after a run's first post before it is killed
MAX_FINAL_RUNS = 12


@dataclass
class Run:
    name: str
    code: int | None  # None: killed
    seconds: float
    peak_mb: float
    summary: dict | None = None
    stderr: str = ""


@dataclass
class Case:
    ledger: str
    records: int
    mode: str
    faults: float
    runs: list[Run] = field(default_factory=list)
    injected: dict[str, int] = field(default_factory=dict)
    drafted_records: int = 0
    expected_entries: int = 0
    entries_held: int = 0
    duplicates: int = 0
    lost_records: int = 0
    unexpected: int = 0
    calls: int = 0
    seconds: float = 0.0

    @property
    def kills(self) -> int:
        return sum(r.code is None for r in self.runs)

    @property
    def final(self) -> Run:
        return self.runs[-1]


# -- runs ----------------------------------------------------------------------------------------------


def measured(fleet: Fleet, name: str, kill_after_post: float | None = None, timeout: float = 7200) -> Run:
    """One `ml-connector run`, its exit code, wall time and peak RSS; killed `kill_after_post` seconds after it
    sent its first post (None: let it finish)."""
    attempts = fleet.post_attempts() if kill_after_post is not None else 0
    started = time.monotonic()
    process = fleet.start(name)
    out: dict[str, str] = {}
    readers = [threading.Thread(target=lambda s=stream, k=key: out.__setitem__(k, s.read()), daemon=True)
               for key, stream in (("out", process.stdout), ("err", process.stderr))]
    for reader in readers:
        reader.start()
    ended: list = []

    def reaped() -> bool:  # wait4, not poll: it says how much memory the child used at its peak
        if not ended:
            pid, status, usage = os.wait4(process.pid, os.WNOHANG)
            if pid:
                ended.append((status, usage))
        return bool(ended)

    killed = False
    if kill_after_post is not None:
        if wait_for(lambda: fleet.post_attempts() > attempts or reaped(), timeout, 0.5) and not ended:
            time.sleep(kill_after_post)
        if not reaped():
            os.killpg(process.pid, 9)
            killed = True
    if not wait_for(reaped, timeout, 0.2):
        kill_group(process)
        raise TimeoutError(f"{name} did not finish within {timeout:.0f} s")
    status, usage = ended[0]
    process.returncode = os.waitstatus_to_exitcode(status)
    for reader in readers:
        reader.join(timeout=30)
    return Run(name, None if killed else process.returncode, time.monotonic() - started, usage.ru_maxrss / 1024,
               _summary(out.get("out", "")), out.get("err", ""))


def mapping_file(ledger: str, mode: str, folder: Path) -> Path:
    path = folder / f"mapping-{ledger}-{mode}.yaml"
    path.write_text(re.sub(r"posting_mode: \w+", f"posting_mode: {mode}", demo_mapping(ledger, "us").read_text(),
                           count=1))
    return path


def start_fleet(ledger: str, records: int, mode: str, faults: float, store: str, root: Path,
                seed: int) -> tuple[SandboxServer, Fleet]:
    config = SandboxConfig(seed=seed, last_month=MONTH, months=1, brex_expenses_per_month=records,
                           expensify_reports_per_month=0, faults=faults, slow_seconds=SLOW_SECONDS, rate_limits="off")
    server = SandboxServer(config).start()
    logging.getLogger("uvicorn.error").setLevel(logging.CRITICAL)  # the sandbox's own dropped connections
    env = {"ML_CONNECTOR_LEDGER": ledger, "ML_CONNECTOR_MAPPING_FILE": str(mapping_file(ledger, mode, root)),
           "ML_CONNECTOR_EXPENSIFY_PARTNER_USER_ID": "", "ML_CONNECTOR_HTTP_TIMEOUT_SECONDS": "2",
           **LEDGERS[ledger].unthrottled}
    return server, Fleet(server, store, root, env)


def store_url(kind: str, root: Path) -> str:
    if kind == "sqlite":
        return f"sqlite:///{root / 'shared.db'}"
    from bench.store_writes import store_url as postgres_store

    return postgres_store("postgres", root)[0]  # the schema stays for a look afterwards


# -- counting in the sandbox ---------------------------------------------------------------------------


def sandbox_keys(server: SandboxServer, ledger: str) -> Counter:
    """Every live entry's posting key, as the sandbox holds it (its own control routes: never faulted)."""
    keys: Counter = Counter()
    if ledger == "zoho_books":
        for kind in ("journals", "bills"):
            for entry in requests.get(f"{server.url('zoho')}/_sandbox/{kind}", timeout=300).json()[kind]:
                keys[entry.get("reference_number") or ""] += 1
    elif ledger == "quickbooks":
        for entry in requests.get(f"{server.url('quickbooks')}/_sandbox/entries", timeout=300).json()["entries"]:
            if entry["status"] == "active":
                keys[entry["entity"].get("DocNumber") or ""] += 1  # the key's compact form
    else:
        body = requests.get(f"{server.url('xero')}/_sandbox/entries", timeout=300).json()
        for entry in body["ManualJournals"]:
            if entry.get("Status") not in ("DELETED", "VOIDED"):
                keys[(entry.get("Narration") or "").split(" ", 1)[0]] += 1
        for entry in body["Invoices"]:
            if entry.get("Status") not in ("DELETED", "VOIDED"):
                keys[entry.get("InvoiceNumber") or ""] += 1
    return keys


def count(case: Case, server: SandboxServer, store: str) -> None:
    """Duplicates and lost records: the plan's drafted records (what should be posted) against the sandbox."""
    with open_store(store).connect() as connection:
        drafted = connection.execute(sa.select(record_outcomes.c.source_id, record_outcomes.c.posting_key).where(
            (record_outcomes.c.month == MONTH) & (record_outcomes.c.outcome == "drafted"))).all()
    held = sandbox_keys(server, case.ledger)
    as_held = compact if case.ledger == "quickbooks" else (lambda key: key)
    expected = {key for _, key in drafted if key}
    case.drafted_records = len(drafted)
    case.expected_entries = len(expected)
    case.entries_held = sum(held.values())
    case.duplicates = sum(n - 1 for key, n in held.items() if n > 1 and key)
    case.lost_records = sum(1 for _, key in drafted if not key or held[as_held(key)] == 0)
    case.unexpected = len(set(held) - {as_held(k) for k in expected} - {""})
    case.injected = dict(server.faults.injected)
    stats = requests.get(f"{server.url(LEDGERS[case.ledger].prefix)}/_sandbox/stats", timeout=30).json()
    case.calls = sum(n for endpoint, n in stats["requests"].items() if "token" not in endpoint.lower())


def fault_case(ledger: str, records: int, mode: str, faults: float, kills: int, store_kind: str, seed: int) -> Case:
    root = Path(tempfile.mkdtemp(prefix=f"fault-{ledger}-"))
    store = store_url(store_kind, root)
    server, fleet = start_fleet(ledger, records, mode, faults, store, root, seed)
    case = Case(ledger, records, mode, faults)
    rng = random.Random(seed)
    started = time.monotonic()
    try:
        # Lost answers on the entry endpoints on top of the random mix: the write lands, the client never hears.
        for path in ("/books/v3/journals", "/journalentry", "/ManualJournals"):
            server.faults.force("lost_response", path, times=20)
        for index in range(kills):
            run = measured(fleet, f"crash{index}", kill_after_post=rng.uniform(*KILL_WINDOW))
            case.runs.append(run)
            print(f"  {ledger} crash{index}: {'killed' if run.code is None else f'exit {run.code}'} after "
                  f"{run.seconds:.0f} s, peak {run.peak_mb:.0f} MB", flush=True)
            if run.code == 0:
                break  # the month finished before it could be killed
        for index in range(MAX_FINAL_RUNS):
            run = measured(fleet, f"final{index}")
            case.runs.append(run)
            print(f"  {ledger} final{index}: exit {run.code} after {run.seconds:.0f} s, peak {run.peak_mb:.0f} MB",
                  flush=True)
            if run.code == 0:
                break
        case.seconds = time.monotonic() - started
        count(case, server, store)
    finally:
        server.stop()
    return case


def size_case(ledger: str, records: int, mode: str, store_kind: str, seed: int) -> Case:
    """One clean run of a month of `records` (no faults, no kills): wall time, calls, peak memory."""
    root = Path(tempfile.mkdtemp(prefix=f"size-{ledger}-{records}-"))
    store = store_url(store_kind, root)
    server, fleet = start_fleet(ledger, records, mode, 0.0, store, root, seed)
    case = Case(ledger, records, mode, 0.0)
    try:
        started = time.monotonic()
        case.runs.append(measured(fleet, "clean"))
        case.seconds = time.monotonic() - started
        print(f"  {ledger} {records} {mode}: exit {case.final.code} after {case.seconds:.0f} s, "
              f"peak {case.final.peak_mb:.0f} MB", flush=True)
        count(case, server, store)
    finally:
        server.stop()
    return case


# -- report ----------------------------------------------------------------------------------------------


def ties_out(run: Run) -> bool:
    return bool(run.code == 0 and run.summary and (run.summary.get("tie_out") or {}).get("ties_out"))


def report(args, faulted: list[Case], sized: list[Case]) -> str:
    lines = [HEADING, "",
             f"Command: `python bench/fault_runs.py --ledgers {' '.join(args.ledgers)} --records {args.records} "
             f"--kills {args.kills} --faults {args.faults} --mode {args.mode} --big {args.big} --memory "
             f"{' '.join(map(str, args.memory))} --store {args.store}` ({datetime.now(UTC):%Y-%m-%d %H:%M} UTC, "
             f"Python {platform.python_version()}, {os.cpu_count()} cores; sandbox limits off and the connector "
             "unthrottled, so the runs measure the protocol rather than the vendors' minutes: Xero's 60 a minute "
             "and 5,000 a day, and Zoho's 100 a minute, are not enforced here).", "",
             "Counted in the sandbox's ledger (its own control routes, not our store): duplicates are posting keys "
             "held more than once; lost records are records the month's final plan drafted whose entry the sandbox "
             "does not hold; unexpected are entries the sandbox holds under a key the plan does not have.", "",
             "| ledger | records | mode | faults injected | SIGKILLs | runs not killed | records drafted | "
             "entries expected | entries in the ledger | duplicates | lost records | unexpected | ties out | "
             "wall (all runs) | peak RSS of a run |",
             "| --- | ---: | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- | ---: | ---: |"]
    for c in faulted:
        injected = ", ".join(f"{k} {v}" for k, v in sorted(c.injected.items())) or "none"
        lines.append(f"| {LEDGERS[c.ledger].display} | {c.records} | {c.mode} | {injected} | {c.kills} | "
                     f"{len(c.runs) - c.kills} | {c.drafted_records} | {c.expected_entries} | {c.entries_held} | "
                     f"{c.duplicates} | {c.lost_records} | {c.unexpected} | {ties_out(c.final)} | {c.seconds:.0f} s | "
                     f"{max(r.peak_mb for r in c.runs):.0f} MB |")
    if sized:
        lines += ["", "Clean runs (no faults, no kills), one `ml-connector run` each, from an empty store: the floor "
                  "is the ledger calls the sandbox counted divided by the ledger's documented per-minute limit, the "
                  "least time the month can take against the real service.", "",
                  "| ledger | records | mode | entries | ledger calls | floor at the documented limit | wall | "
                  "duplicates | lost records | ties out | peak RSS |",
                  "| --- | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | --- | ---: |"]
        for c in sized:
            bench = LEDGERS[c.ledger]
            lines.append(f"| {bench.display} | {c.records} | {c.mode} | {c.expected_entries} | {c.calls} | "
                         f"{c.calls / bench.per_minute * 60:.0f} s at {bench.per_minute}/min | {c.seconds:.0f} s | "
                         f"{c.duplicates} | {c.lost_records} | {ties_out(c.final)} | {c.final.peak_mb:.0f} MB |")
        by_size = sorted(sized, key=lambda c: c.records)
        if len(by_size) >= 2:
            small, large = by_size[0], by_size[-1]
            growth = (large.final.peak_mb - small.final.peak_mb) * 1024 / max(1, large.records - small.records)
            lines += ["", f"Peak memory grows by {growth:.1f} KB per record of the month between {small.records} and "
                      f"{large.records} records ({small.final.peak_mb:.0f} MB to {large.final.peak_mb:.0f} MB; the "
                      "Dagster process itself is most of the smaller figure)."]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--ledgers", nargs="*", default=["zoho_books", "quickbooks", "xero"], choices=sorted(LEDGERS))
    parser.add_argument("--records", type=int, default=10_000)
    parser.add_argument("--kills", type=int, default=6)
    parser.add_argument("--faults", type=float, default=0.2)
    parser.add_argument("--mode", default="per_record", choices=["per_record", "per_day"])
    parser.add_argument("--big", type=int, default=100_000, help="records of the per_day month on Zoho (0: none)")
    parser.add_argument("--memory", type=int, nargs="*", default=[1000, 10_000],
                        help="more per_day months on Zoho, for memory against size")
    parser.add_argument("--store", default="sqlite", choices=["sqlite", "postgres"])
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    faulted = []
    for ledger in args.ledgers:
        print(f"{ledger}: {args.records} records, {args.mode}, faults {args.faults}, {args.kills} kills", flush=True)
        faulted.append(fault_case(ledger, args.records, args.mode, args.faults, args.kills, args.store, args.seed))
    sized = [size_case("zoho_books", n, "per_day", args.store, args.seed) for n in sorted(set(args.memory))]
    if args.big:
        sized.append(size_case("zoho_books", args.big, "per_day", args.store, args.seed))
    text = report(args, faulted, sized)
    print(text)
    for case in faulted + sized:
        if case.final.code != 0:
            print(f"{case.ledger} {case.records}: the last run exited {case.final.code}:\n{case.final.stderr[-3000:]}")
    if not args.no_write:
        docs_section.write_section(HEADING, text)


if __name__ == "__main__":
    main()
