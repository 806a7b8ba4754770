"""Ledger calls per posted record, per posting mode; a re-run of a posted month; tokens minted by a backfill.

For each size (--records) and posting mode (per_record, per_day) one month of Brex spend (Expensify off) runs
end to end in a real Dagster run against a fresh sandbox with its limits off, so the run shows its own cost.
Every request to the ledger's API is counted by the sandbox (`/_sandbox/stats`), so nothing of ours is
trusted: reference data, vendor creation, posting and the tie-out read-back are all in the count; token
refreshes go to the accounts server and are counted separately. Then the same month runs again (a re-run of
a posted month), and a three-month backfill counts the tokens it mints per run. The floor is the calls
divided by the ledger's documented rate limit: the least time the month can take against the real service.
Results go to docs/benchmarks.md under "Posting: ledger calls per record (<ledger>)".

    .venv/bin/python bench/posting_calls.py [--ledger zoho_books] [--records 300 1000] [--no-write]
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench import docs_section  # noqa: E402
from ml_connector.cli.demo import demo_mapping  # noqa: E402
from ml_connector.sandbox.config import SandboxConfig  # noqa: E402
from ml_connector.sandbox.server import SandboxServer  # noqa: E402
from pipelines.runner import prepare_home, run_month  # noqa: E402

MONTH = "2026-10"


@dataclass(frozen=True)
class LedgerBench:
    prefix: str  # the sandbox app whose /_sandbox/stats counts the ledger's API requests
    per_minute: int  # the documented limit: the floor's divisor
    unthrottled: dict[str, str]  # settings that let the connector go as fast as the sandbox (limits off)
    display: str


# A ledger joins the benchmark with a line here.
LEDGERS: dict[str, LedgerBench] = {
    "zoho_books": LedgerBench("zoho", 100, {"ML_CONNECTOR_ZOHO_REQUESTS_PER_MINUTE": "1000000"}, "Zoho"),
    "quickbooks": LedgerBench("quickbooks", 500, {"ML_CONNECTOR_QUICKBOOKS_REQUESTS_PER_MINUTE": "1000000"},
                              "QuickBooks Online"),
    "xero": LedgerBench("xero", 60, {"ML_CONNECTOR_XERO_REQUESTS_PER_MINUTE": "1000000",
                                  "ML_CONNECTOR_XERO_REQUESTS_PER_DAY": "1000000"}, "Xero"),
}


def _calls(server: SandboxServer, bench: LedgerBench) -> tuple[int, int]:
    stats = requests.get(f"{server.url(bench.prefix)}/_sandbox/stats", timeout=10).json()
    tokens = int(stats.get("token_refreshes", 0))
    calls = sum(n for endpoint, n in stats["requests"].items() if "token" not in endpoint.lower())
    return calls, tokens


def _environment(server: SandboxServer, ledger: str, bench: LedgerBench, workdir: Path, mode: str) -> None:
    mapping = re.sub(r"posting_mode: per_record", f"posting_mode: {mode}", demo_mapping(ledger, "us").read_text(),
                     count=1)
    (workdir / "mapping.yaml").write_text(mapping)
    for name in [n for n in os.environ if n.startswith("ML_CONNECTOR_")]:
        del os.environ[name]
    os.environ.update(server.connector_env())
    os.environ.pop("ML_CONNECTOR_EXPENSIFY_PARTNER_USER_ID", None)  # Brex only: Expensify off
    os.environ.update(ML_CONNECTOR_HOME=str(workdir), ML_CONNECTOR_MAPPING_FILE=str(workdir / "mapping.yaml"),
                      ML_CONNECTOR_LEDGER=ledger, DAGSTER_HOME=str(workdir / "dagster"), **bench.unthrottled)
    prepare_home(workdir / "dagster")


def run_mode(ledger: str, mode: str, records: int) -> dict:
    bench = LEDGERS[ledger]
    workdir = Path(tempfile.mkdtemp(prefix=f"bench-{ledger}-{mode}-"))
    config = SandboxConfig(seed=7, last_month=MONTH, months=1, brex_expenses_per_month=records,
                           expensify_reports_per_month=0, rate_limits="off")
    with SandboxServer(config) as server:
        _environment(server, ledger, bench, workdir, mode)
        started = time.perf_counter()
        summary = run_month(MONTH, home=workdir / "dagster", submit=False)
        elapsed = time.perf_counter() - started
        calls, tokens = _calls(server, bench)
        rerun = run_month(MONTH, home=workdir / "dagster", submit=False)
        calls_after, _ = _calls(server, bench)
    posting = summary["posting"]
    posted_records = summary["fetched"]["records"] - len(summary["held"])
    return {"mode": mode, "records": records, "posted_records": posted_records, "entries": posting["posted"],
            "calls": calls, "tokens": tokens, "ties_out": summary["tie_out"]["ties_out"], "seconds": elapsed,
            "floor_seconds": calls / bench.per_minute * 60, "rerun_calls": calls_after - calls,
            "rerun_posted": rerun["posting"]["posted_now"], "rerun_ties_out": rerun["tie_out"]["ties_out"]}


def run_backfill(ledger: str, records: int) -> dict:
    """Three months, one run each, as a backfill launches them: tokens minted in all."""
    bench = LEDGERS[ledger]
    workdir = Path(tempfile.mkdtemp(prefix=f"bench-{ledger}-backfill-"))
    config = SandboxConfig(seed=7, last_month=MONTH, months=3, brex_expenses_per_month=records,
                           expensify_reports_per_month=0, rate_limits="off")
    months = []
    with SandboxServer(config) as server:
        _environment(server, ledger, bench, workdir, "per_record")
        for month in config.month_keys:
            before, _ = _calls(server, bench)
            summary = run_month(month, home=workdir / "dagster", submit=False)
            after, _ = _calls(server, bench)
            posted = summary["fetched"]["records"] - len(summary["held"])
            months.append({"month": month, "done": summary["done"], "calls": after - before, "posted": posted})
        _, tokens = _calls(server, bench)
    return {"runs": len(months), "done": all(m["done"] for m in months), "tokens": tokens, "months": months}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--ledger", choices=sorted(LEDGERS), default="zoho_books")
    parser.add_argument("--records", type=int, nargs="+", default=[300, 1000])
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    bench = LEDGERS[args.ledger]
    rows = [run_mode(args.ledger, mode, n) for n in args.records for mode in ("per_record", "per_day")]
    backfill = run_backfill(args.ledger, min(args.records))
    heading = f"## Posting: ledger calls per record ({bench.display})"
    lines = [heading, "",
             f"Command: `python bench/posting_calls.py --ledger {args.ledger} --records "
             f"{' '.join(map(str, args.records))}` ({datetime.now(UTC):%Y-%m-%d %H:%M} UTC, Python "
             f"{platform.python_version()}, {os.cpu_count()} cores; one month of Brex spend per row, Expensify off, "
             f"sandbox limits off; every request to the ledger's API counted by the sandbox, reference data, vendor "
             f"creation and the tie-out read-back included; token refreshes counted apart).", "",
             f"| records | mode | posted | entries | {bench.display} calls | calls per posted record | floor at "
             f"{bench.per_minute}/min | measured (unthrottled) | re-run calls | re-run posted | ties out |",
             "| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |"]
    for r in rows:
        lines.append(f"| {r['records']} | {r['mode']} | {r['posted_records']} | {r['entries']} | {r['calls']} | "
                     f"{r['calls'] / max(1, r['posted_records']):.2f} | {r['floor_seconds']:.0f} s | "
                     f"{r['seconds']:.1f} s | {r['rerun_calls']} | {r['rerun_posted']} | "
                     f"{r['ties_out'] and r['rerun_ties_out']} |")
    per_month = ", ".join(f"{m['month']}: {m['calls']} calls for {m['posted']} records "
                          f"({m['calls'] / max(1, m['posted']):.2f})" for m in backfill["months"])
    lines += ["", "The first month of a company also creates the vendors its ledger lacks and reads the reference "
              "data; later months reuse both (reference data is cached for a few minutes, vendors exist).",
              "", f"A three-month backfill ({backfill['runs']} runs, one per month, per_record, "
              f"{min(args.records)} records a month) minted {backfill['tokens']} access token(s) in all "
              f"({backfill['tokens'] / backfill['runs']:.2f} per run: the token is shared through the store); "
              f"ledger calls per posted record by month: {per_month}. Every run finished: {backfill['done']}.",
              "", "Against the real service the floor, not our own work, sets a month's time: the connector holds "
              "itself 10% under the documented limit, so expect about 1.1x the floor.", ""]
    text = "\n".join(lines)
    print(text)
    if not args.no_write:
        docs_section.write_section(heading, text)


if __name__ == "__main__":
    main()
