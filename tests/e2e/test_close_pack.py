"""The month-close pack end to end: two months posted to the sandbox's Zoho Books in real runs, a journal deleted
by a person in the ledger, then `ml-connector close` writes the pack. The page is opened in headless Chromium
(its DOM dumped): its tie-out equals the tie-out's own figures (the month's `ledger_postings` value, which
`ml-connector run` prints), every held record of the month is listed, the drift is shown; the PDF, read back
with `pdftotext`, carries the same totals; and a screenshot is kept in tests/artifacts/ (git-ignored).

Needs Chromium and pdftotext (Debian: chromium, poppler-utils; .ci/run installs both): the tests skip without
them, and fail instead under ML_CONNECTOR_REQUIRE_ALL=1 (CI).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from html.parser import HTMLParser
from pathlib import Path

import dagster as dg
import pytest

from ml_connector.money import precision
from ml_connector.outcomes import month_status
from ml_connector.sandbox.config import SandboxConfig
from ml_connector.sandbox.server import SandboxServer
from ml_connector.store import asset_values, postings
from pipelines.definitions import build_definitions
from pipelines.runner import prepare_home
from tests.conftest import REPO, skip_or_fail
from tests.e2e.conftest import MONTH, Harness
from tests.e2e.ledger_person import ZohoPerson

ARTIFACTS = REPO / "tests" / "artifacts"
PREVIOUS = "2026-09"
CHROMIUM_FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--disable-quic")


def chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
    if found is None:
        skip_or_fail("headless Chromium is not installed (Debian: apt-get install chromium)")
    return found


def browse(*arguments: str) -> str:
    """Run headless Chromium on its own throwaway profile; its standard output."""
    with tempfile.TemporaryDirectory() as profile:
        done = subprocess.run([chromium(), *CHROMIUM_FLAGS, f"--user-data-dir={profile}", *arguments],
                              capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


class Rows(HTMLParser):
    """Every table row of a page: its attributes, and each cell's text and attributes."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[dict] = []
        self.sources: list[str] = []  # src and href of anything the page would load
        self._cell: dict | None = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag in ("img", "script", "iframe", "link"):
            self.sources.append(f"{tag}:{attrs.get('src') or attrs.get('href') or ''}")
        if tag == "a" and self._cell is not None:
            self._cell["href"] = attrs.get("href")
        if tag == "tr":
            self.rows.append({"attrs": attrs, "cells": []})
        elif tag in ("td", "th") and self.rows:
            self._cell = {"attrs": attrs, "text": ""}
            self.rows[-1]["cells"].append(self._cell)

    def handle_endtag(self, tag):
        if tag in ("td", "th"):
            self._cell = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell["text"] += data

    def of_class(self, name: str) -> list[dict]:
        return [r for r in self.rows if name in (r["attrs"].get("class") or "").split()]


@dataclass
class Pack:
    html: Path
    pdf: Path
    dom: Rows
    dom_html: str  # the DOM as Chromium serialised it
    pdf_text: str
    tie_out: dict  # the tie-out as the month's posting run recorded it
    held: set[str]  # source ids of the month's held records, from the store
    deleted_key: str
    links: dict[str, str]  # posting key -> link into the ledger, of every entry posted in the month
    harness: Harness


@pytest.fixture(scope="module")
def pack(tmp_path_factory) -> Iterator[Pack]:
    chromium()
    if shutil.which("pdftotext") is None:
        skip_or_fail("pdftotext is not installed (Debian: apt-get install poppler-utils)")
    home = tmp_path_factory.mktemp("close-pack")
    config = SandboxConfig(seed=21, last_month=MONTH, months=2, brex_expenses_per_month=24,
                           expensify_reports_per_month=4, rate_limits="off")
    with SandboxServer(config) as server:
        prepare_home(home / "dagster")
        h = Harness(server=server, home=home, store_url=f"sqlite:///{home / 'c.db'}")
        assert h.run(PREVIOUS)["done"] and h.run(MONTH)["done"]
        target = h.ledger().target
        journal = next(r for r in postings.month_rows(h.engine, target, MONTH)
                       if r["status"] == "posted" and r["kind"] == "journal")
        time.sleep(1.1)  # Zoho stamps modification times to the second
        ZohoPerson(server).delete("journal", journal["ledger_entity_id"])
        env = os.environ | server.connector_env() | {
            "ML_CONNECTOR_LEDGER": "zoho_books", "ML_CONNECTOR_DATABASE_URL": h.store_url,
            "ML_CONNECTOR_ZOHO_REQUESTS_PER_MINUTE": "100000"}
        out = home / "pack"
        done = subprocess.run([sys.executable, "-m", "ml_connector", "close", "--month", MONTH, "--out", str(out)],
                              cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stderr[-2000:]
        html, pdf = out / f"close-pack-{MONTH}.html", out / f"close-pack-{MONTH}.pdf"
        dom, dumped = Rows(), browse("--dump-dom", html.as_uri())
        dom.feed(dumped)
        ARTIFACTS.mkdir(exist_ok=True)
        browse(f"--screenshot={ARTIFACTS / f'close-pack-{MONTH}.png'}", "--window-size=1280,2400", html.as_uri())
        text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True,
                              check=True).stdout
        posted = [r for r in postings.month_rows(h.engine, target, MONTH) if r["status"] == "posted"]
        yield Pack(html=html, pdf=pdf, dom=dom, dom_html=dumped, pdf_text=text,
                   tie_out=asset_values.get(h.engine, "ledger_postings", f"{MONTH}-01")["tie_out"],
                   held={r["source_id"] for r in month_status(h.engine, target, MONTH) if r["status"] == "held"},
                   deleted_key=journal["posting_key"], links={r["posting_key"]: r["ledger_url"] for r in posted},
                   harness=h)


def amounts(row: dict) -> list[Decimal]:
    return [Decimal(c["text"].replace(",", "")) for c in row["cells"] if "data-amount" in c["attrs"]]


def expected_totals(tie: dict) -> dict[tuple[str, str], list[Decimal]]:
    """Per currency and side, the tie-out's own rows summed: debits are positive net rows, credits negative."""
    totals: dict[tuple[str, str], list[Decimal]] = {}
    for row in tie["rows"]:
        source, ledger = Decimal(row["source"]), Decimal(row["ledger"])
        for side, keep in (("debits", lambda a: a > 0), ("credits", lambda a: a < 0)):
            got = totals.setdefault((row["currency"], side), [Decimal(0), Decimal(0)])
            got[0] += abs(source) if keep(source) else 0
            got[1] += abs(ledger) if keep(ledger) else 0
    return {key: [s, led, led - s] for key, (s, led) in totals.items()}


def test_the_tie_out_rows_are_the_tie_outs_own(pack):
    shown = Counter((*[c["text"] for c in r["cells"][:3]], *amounts(r)) for r in pack.dom.of_class("tie-row"))
    recorded = Counter((r["account"], r["dimensions"], r["currency"], Decimal(r["source"]), Decimal(r["ledger"]),
                        Decimal(r["difference"])) for r in pack.tie_out["rows"])
    assert shown == recorded and len(recorded) > 5


def test_the_tie_out_totals_equal_the_tie_outs_own_figures(pack):
    shown = {(r["attrs"]["data-currency"], r["attrs"]["data-side"]): amounts(r)
             for r in pack.dom.of_class("tie-total")}
    assert shown == expected_totals(pack.tie_out)
    # It tied out when posted; a journal deleted since turns the verdict into a warning that points at the drift.
    verdict = re.search(r'<li id="verdict-tie-out" class="(\w+)">(.*?)</li>', pack.dom_html, re.S)
    assert pack.tie_out["ties_out"] and verdict.group(1) == "warn"
    assert "ties out" in verdict.group(2) and "the ledger changed since" in verdict.group(2)


def test_every_amount_shows_its_currencys_precision(pack):
    cells = [c for r in pack.dom.rows for c in r["cells"] if "data-amount" in c["attrs"]]
    assert {c["attrs"]["data-currency"] for c in cells} >= {"USD", "JPY"}  # a zero-decimal currency is among them
    for cell in cells:
        places = precision(cell["attrs"]["data-currency"])
        pattern = r"-?\d{1,3}(,\d{3})*" + (rf"\.\d{{{places}}}" if places else "")
        assert re.fullmatch(pattern, cell["text"]), cell


def test_every_held_record_of_the_month_is_listed_with_its_reason_and_fix(pack):
    rows = pack.dom.of_class("held-row")
    assert {r["attrs"]["data-source-id"] for r in rows} == pack.held and pack.held
    assert all(r["cells"][4]["text"].strip() and r["cells"][5]["text"].strip() for r in rows)


def test_the_deleted_journal_shows_as_drift(pack):
    (row,) = pack.dom.of_class("drift-row")
    assert row["attrs"] == {"class": "drift-row", "data-kind": "deleted", "data-key": pack.deleted_key}


def test_every_posted_entry_links_into_the_ledger(pack):
    shown = {r["attrs"]["data-key"]: r["cells"][3].get("href") for r in pack.dom.of_class("entry-row")
             if r["cells"][2]["text"].strip() == "posted"}
    assert shown == pack.links and all(pack.links.values())


def test_the_page_loads_nothing(pack):
    assert pack.dom.sources == []
    html = pack.html.read_text()
    assert "<style>" in html and "<svg" in html and " src=" not in html


def test_the_pdf_has_the_same_totals(pack):
    found = {}
    for match in re.finditer(r"total (debits|credits)\s+([A-Z]{3})\s+(\S+)\s+(\S+)\s+(\S+)", pack.pdf_text):
        side, currency, *figures = match.groups()
        found[(currency, side)] = [Decimal(f.replace(",", "")) for f in figures]
    assert found == expected_totals(pack.tie_out)
    assert "ties out" in pack.pdf_text


def test_a_screenshot_is_kept_as_a_test_artefact(pack):
    shot = ARTIFACTS / f"close-pack-{MONTH}.png"
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 20_000


def test_the_month_close_job_writes_the_pack_and_links_it(pack, tmp_path):
    h = pack.harness
    job = build_definitions(h.resources()).resolve_job_def("month_close")
    with dg.DagsterInstance.from_config(str(h.home / "dagster")) as instance:
        result = job.execute_in_process(partition_key=f"{MONTH}-01", instance=instance, run_config={
            "ops": {"month_close_pack": {"config": {"out_dir": str(tmp_path)}}}})
    (materialization,) = result.asset_materializations_for_node("month_close_pack")
    metadata = materialization.metadata
    assert Path(metadata["html"].value) == tmp_path / f"close-pack-{MONTH}.html"
    assert Path(metadata["pdf"].value).read_bytes()[:5] == b"%PDF-"
    assert metadata["open"].value == (tmp_path / f"close-pack-{MONTH}.html").as_uri()
    summary = metadata["summary"].value
    assert "ties out" in summary and "1 deleted" in summary and f"held records | {len(pack.held)}" in summary
