"""Each benchmark's results as its own section of docs/benchmarks.md: replaced when it is there, appended when it
is not, every other section left as it is."""

from __future__ import annotations

import re
from pathlib import Path

BENCHMARKS = Path(__file__).resolve().parents[1] / "docs" / "benchmarks.md"


def write_section(heading: str, section: str, path: Path = BENCHMARKS) -> Path:
    """`section` (which starts with `heading`, a `## ` line) in place of the one under `heading`."""
    text = path.read_text() if path.exists() else "# Benchmarks\n\nResults of the scripts in bench/.\n"
    pattern = re.compile(rf"^{re.escape(heading)}\n.*?(?=^## |\Z)", re.S | re.M)
    if pattern.search(text):
        text = pattern.sub(lambda _: section.rstrip("\n") + "\n\n", text, count=1)
    else:
        text = text.rstrip("\n") + "\n\n" + section
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text.rstrip("\n") + "\n")
    return path
