"""Brex sandbox throughput: does a page cost the same at 100,000 expenses a month as at 1,000?

Starts the Brex sandbox twice (one month of 1,000 expenses, then one of 100,000), pages
/v1/expenses (limit 100, every expansion) and /v2/transactions/card/primary (limit 1000,
expand[]=expense_id) near the start and near the end of the list, and reports requests per second
and the ratio of per-request time at 100k to 1k, all in one run. Results go to docs/benchmarks.md
under "Sandbox throughput".

    .venv/bin/python bench/sandbox_throughput.py [--requests 200] [--no-write]
"""

from __future__ import annotations

import argparse
import base64
import json
import platform
import statistics
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench import docs_section  # noqa: E402
from ml_connector.sandbox.brex_standalone import StandaloneBrex  # noqa: E402
from ml_connector.sandbox.config import SandboxConfig  # noqa: E402

SIZES = (1_000, 100_000)
MONTH = "2026-10"
EXPANSIONS = ["merchant", "department", "location", "user", "receipts.download_uris", "payment", "budget", "policy"]
HEADING = "## Sandbox throughput"


def cursor(offset: int, limit: int) -> str:
    # The documented cursor shape (Brex's example decodes to {"limit":2,"offset":2}).
    return base64.b64encode(json.dumps({"limit": limit, "offset": offset}).encode()).decode()


def measure(session: requests.Session, url: str, params: dict, offsets: list[int], limit: int) -> float:
    """Mean seconds per request over the given page offsets (each request checked for 200 and a full page)."""
    timings = []
    for offset in offsets:
        started = time.perf_counter()
        response = session.get(url, params={**params, "limit": limit, "cursor": cursor(offset, limit)}, timeout=60)
        timings.append(time.perf_counter() - started)
        if response.status_code != 200 or not response.json()["items"]:
            raise RuntimeError(f"{url} at offset {offset} answered {response.status_code}: {response.text[:200]}")
    return statistics.fmean(timings)


def start(size: int) -> tuple[StandaloneBrex, requests.Session, float]:
    config = SandboxConfig(last_month=MONTH, months=1, brex_expenses_per_month=size, rate_limits="off")
    sandbox = StandaloneBrex(config).start()
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {config.credentials.brex_token}"
    started = time.perf_counter()
    base = sandbox.url("brex")
    session.get(f"{base}/v1/expenses", params={"limit": 1}, timeout=600).raise_for_status()
    session.get(f"{base}/v2/transactions/card/primary", params={"limit": 1}, timeout=600).raise_for_status()
    return sandbox, session, time.perf_counter() - started


def cases(size: int, rows: int, count: int) -> dict[str, tuple[str, dict, list[int], int]]:
    """Each measurement: (path, params, page offsets, limit)."""
    expand = {"expand[]": EXPANSIONS}
    tx_count = max(10, count // 5)  # 1000-row pages are larger; fewer requests keep the run short
    return {
        "expenses, limit 100, all expansions, near start":
            ("/v1/expenses", expand, [(i % 10) * 100 for i in range(count)], 100),
        "expenses, limit 100, all expansions, near end":
            ("/v1/expenses", expand, [size - 100 * (i % 10 + 1) for i in range(count)], 100),
        "expenses, purchased_at_start filter (bisect), first page":
            ("/v1/expenses", {"purchased_at_start": f"{MONTH}-25T00:00:00Z", **expand}, [0] * count, 100),
        "card transactions, limit 1000, near start":
            ("/v2/transactions/card/primary", {"expand[]": "expense_id"}, [0] * tx_count, 1000),
        "card transactions, limit 1000, near end":
            ("/v2/transactions/card/primary", {"expand[]": "expense_id"},
             [max(0, rows - 1000 * (i % 3 + 1)) for i in range(tx_count)], 1000),
    }


def run(count: int, rounds: int = 5) -> dict[int, dict[str, float]]:
    """Both sizes up at once; each measurement alternates between them in rounds, so drift in the
    machine's load falls on both sides of a ratio alike."""
    servers = {size: start(size) for size in SIZES}
    results: dict[int, dict[str, float]] = {size: {"first requests (generate the month)": servers[size][2]}
                                           for size in SIZES}
    try:
        plans = {size: cases(size, len(servers[size][0].brex.records.all_transactions()), count)
                 for size in SIZES}
        for name in plans[SIZES[0]]:
            timings: dict[int, list[float]] = {size: [] for size in SIZES}
            for round_index in range(rounds):
                for size in SIZES:
                    sandbox, session, _ = servers[size]
                    path, params, offsets, limit = plans[size][name]
                    share = offsets[round_index::rounds]
                    timings[size].append(measure(session, sandbox.url("brex") + path, params, share, limit))
            for size in SIZES:
                results[size][name] = statistics.fmean(timings[size])
    finally:
        for sandbox, _, _ in servers.values():
            sandbox.stop()
    return results


def render(results: dict[int, dict[str, float]], command: str, count: int) -> str:
    small, large = SIZES
    lines = [HEADING, "",
             f"Command: `{command}` ({datetime.now(UTC):%Y-%m-%d %H:%M} UTC, Python {platform.python_version()}, "
             f"{platform.machine()}; one run, both sizes up at once and measured in alternating rounds; "
             f"{count} requests per expenses row, {max(10, count // 5)} per transactions row; keep-alive "
             "HTTP over 127.0.0.1).", "",
             "Per-request time should not grow with the size of the month: months are generated once "
             "(cached), lists are sorted, pages are offset slices and date filters bisect. Other filters "
             "(status[], user_id[], updated_at_*) scan the month once per distinct filter and then page from "
             "a cached selection; that first scan is not in this table.", "",
             f"| request | req/s at {small:,} | req/s at {large:,} | ms/req at {small:,} | ms/req at {large:,} "
             f"| ratio {large // 1000}k/{small // 1000}k |",
             "| --- | ---: | ---: | ---: | ---: | ---: |"]
    for name, seconds in results[small].items():
        big = results[large][name]
        if name.startswith("first"):
            lines.append(f"| {name} (one-off, seconds) | | | {seconds:.2f} s | {big:.2f} s | {big / seconds:.0f}x |")
            continue
        lines.append(f"| {name} | {1 / seconds:,.0f} | {1 / big:,.0f} | {seconds * 1000:.2f} | "
                     f"{big * 1000:.2f} | {big / seconds:.2f} |")
    lines.append("")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=200, help="requests per expenses measurement")
    parser.add_argument("--no-write", action="store_true", help="print only; leave docs/benchmarks.md alone")
    args = parser.parse_args()
    results = run(args.requests)
    command = "python bench/sandbox_throughput.py" + (f" --requests {args.requests}" if args.requests != 200 else "")
    section = render(results, command, args.requests)
    print(section)
    if not args.no_write:
        print(f"written to {docs_section.write_section(HEADING, section)}")


if __name__ == "__main__":
    main()
