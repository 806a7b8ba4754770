"""Zoho API calls per posted record, per posting mode, and run time against the rate-limit floor.

Runs one month of Brex spend (Expensify off) end to end in a real Dagster run against the sandbox, once
per posting mode (per_record, per_day), with the sandbox's limits off so the run shows its own cost.
Reports Zoho calls (token refreshes excluded), calls per posted record, the rate-limit floor (calls
divided by Zoho's 100 requests a minute: the least time the month can take against real Zoho) and the
measured time, all in one run. Results go to docs/benchmarks.md under "Posting: Zoho calls per record".

    .venv/bin/python bench/posting_calls.py [--records 300] [--no-write]
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from ml_connector.sandbox.config import SandboxConfig  # noqa: E402
from ml_connector.sandbox.server import SandboxServer  # noqa: E402
from pipelines.runner import prepare_home, run_month  # noqa: E402

MONTH = "2026-10"
ZOHO_PER_MINUTE = 100
HEADING = "## Posting: Zoho calls per record"


def run_mode(mode: str, records: int) -> dict:
    workdir = Path(tempfile.mkdtemp(prefix=f"bench-{mode}-"))
    mapping = (ROOT / "config" / "mapping.example.yaml").read_text()
    mapping = re.sub(r"posting_mode: per_record", f"posting_mode: {mode}", mapping, count=1)
    (workdir / "mapping.yaml").write_text(mapping)
    config = SandboxConfig(seed=7, last_month=MONTH, months=1, brex_expenses_per_month=records,
                           expensify_reports_per_month=0, rate_limits="off")
    with SandboxServer(config) as server:
        env = server.connector_env()
        env.pop("ML_CONNECTOR_EXPENSIFY_PARTNER_USER_ID")  # Brex only: Expensify is off when it has no user
        os.environ.update(env)
        os.environ.pop("ML_CONNECTOR_EXPENSIFY_PARTNER_USER_ID", None)
        os.environ.update(ML_CONNECTOR_HOME=str(workdir), ML_CONNECTOR_MAPPING_FILE=str(workdir / "mapping.yaml"),
                          ML_CONNECTOR_ZOHO_REQUESTS_PER_MINUTE="1000000")
        prepare_home(workdir / "dagster")
        started = time.perf_counter()
        summary = run_month(MONTH, home=workdir / "dagster")
        elapsed = time.perf_counter() - started
        stats = requests.get(f"{server.url('zoho')}/_sandbox/stats", timeout=10).json()
    books_calls = sum(stats["requests"].values())  # counted by the sandbox, so nothing of ours is trusted
    return {"mode": mode, "posted_records": summary["fetched"]["records"] - len(summary["exceptions"]),
            "entries": summary["assets"]["zoho_postings"]["posted_now"], "zoho_calls": books_calls,
            "ties_out": summary["tie_out"]["ties_out"], "seconds": elapsed,
            "floor_seconds": books_calls / ZOHO_PER_MINUTE * 60}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--records", type=int, default=300)
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    rows = [run_mode(mode, args.records) for mode in ("per_record", "per_day")]
    lines = [HEADING, "",
             f"Command: `python bench/posting_calls.py --records {args.records}` "
             f"({datetime.now(UTC):%Y-%m-%d %H:%M} UTC, Python {platform.python_version()}; one month of Brex "
             f"spend, Expensify off, sandbox limits off; every Books request counted by the sandbox, including "
             f"reference data, vendor creation and the tie-out read-back).", "",
             "| mode | records posted | entries | Zoho calls | calls per record | floor at 100/min | measured "
             "(unthrottled) | ties out |", "| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |"]
    for r in rows:
        lines.append(f"| {r['mode']} | {r['posted_records']} | {r['entries']} | {r['zoho_calls']} | "
                     f"{r['zoho_calls'] / max(1, r['posted_records']):.2f} | {r['floor_seconds']:.0f} s | "
                     f"{r['seconds']:.1f} s | {r['ties_out']} |")
    ratio = rows[0]["zoho_calls"] / max(1, rows[1]["zoho_calls"])
    lines += ["", f"per_record needs {ratio:.1f}x the calls of per_day for the same month. Against real Zoho the "
              f"floor, not our own work, sets the run time: the connector holds itself to 90 requests a minute "
              f"(10% under the limit), so expect about 1.1x the floor.", ""]
    text = "\n".join(lines)
    print(text)
    if not args.no_write:
        path = ROOT / "docs" / "benchmarks.md"
        current = path.read_text() if path.exists() else "# Benchmarks\n\n"
        if HEADING in current:
            before, _, rest = current.partition(HEADING)
            after = rest[rest.find("\n## "):] if "\n## " in rest else ""
            current = before + text + after
        else:
            current = current.rstrip() + "\n\n" + text
        path.write_text(current)


if __name__ == "__main__":
    main()
