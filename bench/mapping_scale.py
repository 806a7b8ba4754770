"""Mapping and drafting at scale: time and peak memory at 100,000 and 1,000,000 records, against a plain row
loop doing the same lookups, measured in one run as ratios.

Each case runs in a process of its own (so its peak memory is its own), on a month of Brex card spend
generated from the sandbox company's merchants, categories, departments and locations (a realistic mix:
a few hundred merchants, a handful of unmapped and inactive categories). Three measurements per size:
- `map_frame` on the records' columns (what the mapping asset runs), against `row_loop`: the same lookups
  (category rule, merchant override, alias, account by code or name, dimension option, vendor by name)
  done record by record with dictionaries, the way a loop over API pages would;
- drafts in per_day mode from the mapped columns: the draft table posting consumes (entries, lines and the
  records each carries, with every posting key), and one entry made into the object that posts (each entry
  becomes objects only as it posts).
Peak memory is the process's peak resident set above its resident set once the records frame is built.
Results go to docs/benchmarks.md under "Mapping at scale".

    .venv/bin/python bench/mapping_scale.py [--sizes 100000 1000000] [--no-write]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench import docs_section  # noqa: E402

HEADING = "## Mapping at scale"


def _status_mb(field: str) -> float:
    """A memory figure of this process from /proc/self/status (VmRSS: now, VmHWM: the peak), in MB."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(f"{field}:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _rss_mb() -> float:
    return _status_mb("VmRSS")


def _peak_mb() -> float:
    return _status_mb("VmHWM")


def _reset_peak() -> None:
    with open("/proc/self/clear_refs", "w") as refs:  # VmHWM starts again from the current RSS
        refs.write("5")


def case(kind: str, size: int) -> dict:
    from bench.scale_data import month_frame, reference, rules

    frame = month_frame(size)
    ref, mapping = reference(), rules()
    baseline = _rss_mb()
    _reset_peak()
    started = time.perf_counter()
    if kind == "map":
        from ml_connector.mapping.apply import map_frame

        result = map_frame(frame, mapping, ref)
        out = {"mapped": len(result.mapped), "held": len(result.exceptions)}
    elif kind == "loop":
        from bench.scale_data import row_loop

        out = row_loop(frame, mapping, ref)
    elif kind == "drafts":
        from ml_connector.mapping.apply import map_frame
        from ml_connector.mapping.drafts import journal_table

        mapped = map_frame(frame, mapping, ref).mapped
        baseline, started = _rss_mb(), time.perf_counter()
        _reset_peak()
        drafts = journal_table(mapped, "per_day")  # the table posting reads; an entry becomes objects as it posts
        first = drafts.draft(0)  # and one entry as the object that posts, to show the table is complete
        out = {"drafts": len(drafts), "lines": len(drafts.lines), "first_entry_lines": len(first.lines)}
    else:
        raise ValueError(kind)
    elapsed = time.perf_counter() - started
    return {"kind": kind, "size": size, "seconds": elapsed, "peak_above_mb": max(0.0, _peak_mb() - baseline),
            **out}


def _run(kind: str, size: int) -> dict:
    result = subprocess.run([sys.executable, __file__, "--case", kind, str(size)], cwd=ROOT, capture_output=True,
                            text=True, timeout=3600, env=os.environ | {"PYTHONPATH": str(ROOT)})
    if result.returncode != 0:
        raise RuntimeError(result.stderr[-3000:])
    return json.loads(result.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--no-write", action="store_true")
    parser.add_argument("--case", nargs=2, metavar=("KIND", "SIZE"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.case:
        print(json.dumps(case(args.case[0], int(args.case[1]))))
        return
    rows = []
    for size in args.sizes:
        mapped, loop, drafts = _run("map", size), _run("loop", size), _run("drafts", size)
        rows.append((size, mapped, loop, drafts))
    lines = [HEADING, "",
             f"Command: `python bench/mapping_scale.py --sizes {' '.join(map(str, args.sizes))}` "
             f"({datetime.now(UTC):%Y-%m-%d %H:%M} UTC, Python {platform.python_version()}, {os.cpu_count()} cores; "
             f"each case in a process of its own; peak memory is the peak resident set above the resident set "
             f"once the month's records are in columns).", "",
             "| records | map_frame | peak above | row loop | map_frame vs row loop | drafts per_day | peak above "
             "| entries | lines |", "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for size, mapped, loop, drafts in rows:
        lines.append(f"| {size:,} | {mapped['seconds']:.2f} s | {mapped['peak_above_mb']:.0f} MB | "
                     f"{loop['seconds']:.2f} s | {loop['seconds'] / mapped['seconds']:.1f}x faster | "
                     f"{drafts['seconds']:.2f} s | {drafts['peak_above_mb']:.0f} MB | {drafts['drafts']:,} | "
                     f"{drafts['lines']:,} |")
    lines += ["", "The row loop makes the same decisions with dictionary lookups per record; both hold the same "
              "records in the same columns before the clock starts.", ""]
    text = "\n".join(lines)
    print(text)
    if not args.no_write:
        docs_section.write_section(HEADING, text)


if __name__ == "__main__":
    main()
