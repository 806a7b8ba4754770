"""Ledger drift end to end, on each ledger: a month posted in a real run, then a person in the ledger's app (its
public HTTP API, credentials of their own: `ledger_person`) edits amounts, an account and a dimension, voids,
deletes, and enters two entries by hand carrying our keys; `ledger_drift_job` (the job the daily schedule runs)
must find exactly those, record each once in the audit trail, alert once, and write nothing to the ledger.

One sandbox and one posted month per ledger for the whole module (`drifted`); each test reads what it needs.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

import dagster as dg
import pytest
import requests

from ml_connector.drift import DriftReport
from ml_connector.models import LedgerLine
from ml_connector.posting_keys import compact
from ml_connector.sandbox.config import SandboxConfig
from ml_connector.sandbox.server import SandboxServer
from ml_connector.store import asset_values, postings
from ml_connector.store.audit import query
from pipelines.alerts.resources import AlertsResource
from pipelines.definitions import build_definitions
from pipelines.runner import prepare_home
from tests.alert_receiver import AlertReceiver
from tests.conftest import REPO
from tests.e2e.conftest import MONTH, Harness
from tests.e2e.ledger_person import PEOPLE

LEDGERS = ("zoho_books", "quickbooks", "xero")
PARTITION = f"{MONTH}-01"
FOREIGN_KEY = "MLC-" + "5eed" * 5  # a key of our form that no posting of ours has
SNAPSHOTS = {"zoho_books": ("zoho", ("journals", "bills")), "quickbooks": ("quickbooks", ("entries",)),
             "xero": ("xero", ("entries",))}


@dataclass
class Drifted:
    ledger: str
    harness: Harness
    expected: set[tuple[str, str, tuple[str, ...]]]  # (kind, posting key, changes) of every drift made
    expected_reads: int  # entries whose list row moved or vanished: the only ones read in full
    untouched: DriftReport
    first: DriftReport
    second: DriftReport
    after_rerun: DriftReport  # after a posting run of the month read the changed entries back
    check: dict[str, dg.AssetCheckEvaluation]  # "untouched", "first", "second"
    audit: dict[str, list[dict]]  # drift.finding events after each run
    alerts: dict[str, list[dict]]  # what the alert receiver had after each run
    ledger_before: dict  # the sandbox ledger's entries after the person's edits, before drift read them
    ledger_after: dict
    env: dict[str, str]  # the connector's settings for this sandbox, as the command line reads them


def snapshot(server: SandboxServer, ledger: str) -> dict:
    """Every entry the sandbox ledger holds, from its own control routes (not through any client)."""
    service, routes = SNAPSHOTS[ledger]
    return {route: requests.get(f"{server.url(service)}/_sandbox/{route}", timeout=30).json() for route in routes}


def debit(row: dict) -> LedgerLine:
    return next(LedgerLine.model_validate(line) for line in row["saved_lines"] if line["side"] == "debit")


def pick(rows: list[dict], used: set[str], differs) -> tuple[dict, dict]:
    """A journal not used yet, and another journal whose debit line differs from it as `differs` says."""
    for row in rows:
        if row["posting_key"] in used:
            continue
        other = next((o for o in rows if o is not row and differs(debit(row), debit(o))), None)
        if other is not None:
            used.add(row["posting_key"])
            return row, other
    raise AssertionError("the month has no two journals that differ that way")


def make_drift(ledger: str, person, rows: list[dict]) -> tuple[set, int]:
    """The person's edits; returns what drift must find and how many entries it must read in full."""
    journals = [r for r in rows if r["kind"] == "journal"]
    bills = [r for r in rows if r["kind"] == "bill"]
    used: set[str] = set()
    amount, _ = pick(journals, used, lambda a, b: True)
    account, account_from = pick(journals, used, lambda a, b: a.account_id != b.account_id)
    dimension, dimension_from = pick(journals, used, lambda a, b: a.tag_option_ids != b.tag_option_ids
                                     and len(a.tag_option_ids) == len(b.tag_option_ids))
    person.add_to_amounts(amount["ledger_entity_id"])
    person.take_account(account["ledger_entity_id"], account_from["ledger_entity_id"])
    person.take_dimensions(dimension["ledger_entity_id"], dimension_from["ledger_entity_id"])
    expected = {("edited", amount["posting_key"], ("amounts",)), ("edited", account["posting_key"], ("accounts",)),
                ("edited", dimension["posting_key"], ("dimensions",))}
    reads = 3
    # What each ledger lets a person do: Zoho voids bills and deletes journals; QuickBooks voids journals and
    # deletes bills; Xero voids both and deletes neither once posted.
    rest = [r for r in journals if r["posting_key"] not in used]
    voided = {"zoho_books": bills[0], "quickbooks": rest.pop(), "xero": rest.pop()}[ledger]
    person.void(voided["kind"], voided["ledger_entity_id"])
    expected.add(("voided", voided["posting_key"], ()))
    if ledger == "xero":
        person.void("bill", bills[0]["ledger_entity_id"])
        expected.add(("voided", bills[0]["posting_key"], ()))
    else:
        deleted = {"zoho_books": rest.pop(), "quickbooks": bills[0]}[ledger]
        person.delete(deleted["kind"], deleted["ledger_entity_id"])
        expected.add(("deleted", deleted["posting_key"], ()))
        reads += 1  # gone from the list: read by its id to tell a deletion from a date moved away
    copied = rest.pop()
    short = ledger == "quickbooks"  # QuickBooks carries the key's compact form in DocNumber
    person.copy(copied["ledger_entity_id"], compact(FOREIGN_KEY) if short else FOREIGN_KEY)
    expected.add(("foreign", FOREIGN_KEY, ()))
    person.copy(copied["ledger_entity_id"], compact(copied["posting_key"]) if short else copied["posting_key"])
    expected.add(("duplicate", copied["posting_key"], ()))
    return expected, reads


@pytest.fixture(scope="module", params=LEDGERS)
def drifted(request, tmp_path_factory) -> Iterator[Drifted]:
    ledger = request.param
    home = tmp_path_factory.mktemp(f"drift-{ledger}")
    config = SandboxConfig(seed=21, last_month=MONTH, months=1, brex_expenses_per_month=24,
                           expensify_reports_per_month=4, rate_limits="off")
    with SandboxServer(config) as server, AlertReceiver() as hook:
        person = PEOPLE[ledger](server)  # authorised before the connector, with credentials of their own
        options = {"ledger": {"refresh_token": person.connector_refresh_token}} if ledger == "xero" else {}
        prepare_home(home / "dagster")
        h = Harness(server=server, home=home, store_url=f"sqlite:///{home / 'c.db'}", ledger_system=ledger,
                    resource_options=options)
        assert h.run()["done"]
        resources = {**h.resources(), "alerts": AlertsResource(url=hook.url)}
        job = build_definitions(resources).resolve_job_def("ledger_drift_job")
        reports, checks, audit, alerts = {}, {}, {}, {}
        with dg.DagsterInstance.from_config(str(home / "dagster")) as instance:
            def drift(name: str) -> None:
                result = job.execute_in_process(partition_key=PARTITION, instance=instance)
                reports[name] = DriftReport.from_dict(asset_values.get(h.engine, "ledger_drift", PARTITION))
                (checks[name],) = result.get_asset_check_evaluations()
                audit[name] = query(h.engine, month=MONTH, action_prefix="drift.")
                alerts[name] = list(hook.bodies)

            drift("untouched")
            rows = [r for r in postings.month_rows(h.engine, h.ledger().target, MONTH) if r["status"] == "posted"]
            time.sleep(1.1)  # Zoho and QuickBooks stamp modification times to the second
            expected, reads = make_drift(ledger, person, rows)
            before = snapshot(server, ledger)
            drift("first")
            drift("second")
            after = snapshot(server, ledger)
            h.run()  # a posting run's tie-out reads the changed entries first; drift must still see them
            drift("after_rerun")
            yield Drifted(ledger=ledger, harness=h, expected=expected, expected_reads=reads,
                          untouched=reports["untouched"], first=reports["first"], second=reports["second"],
                          after_rerun=reports["after_rerun"],
                          check=checks, audit=audit, alerts=alerts, ledger_before=before,
                          ledger_after=after, env=server.connector_env() | {
                              "ML_CONNECTOR_LEDGER": ledger, "ML_CONNECTOR_DATABASE_URL": h.store_url,
                              # The sandbox's limits are off, as the resources above know: the shared budget too.
                              **{f"ML_CONNECTOR_{name}_REQUESTS_PER_MINUTE": "100000"
                                 for name in ("ZOHO", "QUICKBOOKS", "XERO")},
                              # Xero's chain rotates: the connector's own token is the one it was given.
                              "ML_CONNECTOR_XERO_REFRESH_TOKEN": person.connector_refresh_token
                              if ledger == "xero" else server.config.credentials.xero_refresh_token})


def found(report: DriftReport) -> set[tuple[str, str, tuple[str, ...]]]:
    return {(f.kind, f.posting_key, f.changes) for f in report.findings}


def test_a_month_nobody_touched_shows_no_drift(drifted):
    assert drifted.untouched.checked > 5 and drifted.untouched.findings == []
    assert drifted.check["untouched"].passed
    assert drifted.audit["untouched"] == [] and drifted.alerts["untouched"] == []


def test_edits_voids_deletions_and_entries_made_by_hand_are_found_exactly(drifted):
    assert found(drifted.first) == drifted.expected
    assert len(drifted.first.findings) == len(drifted.expected)


def test_a_tie_out_that_read_the_changes_first_leaves_them_to_drift(drifted):
    assert found(drifted.after_rerun) == drifted.expected


def test_only_entries_whose_list_row_moved_are_read_in_full(drifted):
    assert drifted.untouched.reads == 0
    assert drifted.first.reads == drifted.expected_reads


def test_drift_writes_nothing_to_the_ledger(drifted):
    assert drifted.ledger_after == drifted.ledger_before


def test_the_check_warns_with_a_table_of_every_finding(drifted):
    check = drifted.check["first"]
    assert not check.passed and check.severity == dg.AssetCheckSeverity.WARN
    table = check.metadata["table"].value
    assert all(key in table for _, key, _ in drifted.expected)
    assert check.metadata["findings"].value == len(drifted.expected)


def test_each_finding_is_audited_once_and_an_unchanged_ledger_adds_nothing(drifted):
    events = drifted.audit["first"]
    assert {(e["outcome"], e["posting_key"]) for e in events} == {(k, key) for k, key, _ in drifted.expected}
    assert len({e["request_id"] for e in events}) == len(events)
    assert drifted.audit["second"] == events  # the same findings again: not one row more
    assert found(drifted.second) == drifted.expected and drifted.second.new == []


def test_new_findings_go_to_the_alert_url_once(drifted):
    assert drifted.alerts["untouched"] == []
    (alert,) = drifted.alerts["first"]
    assert all(key in alert["text"] for _, key, _ in drifted.expected)
    assert drifted.alerts["second"] == drifted.alerts["first"]  # nothing new, nothing sent


def test_the_command_line_reports_the_same_drift_and_exits_1(drifted):
    env = os.environ | drifted.env
    done = subprocess.run([sys.executable, "-m", "ml_connector", "drift", "--month", MONTH, "--json"], cwd=REPO,
                          env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 1 and done.stdout.startswith("{"), done.stderr[-2000:]
    report = json.loads(done.stdout)
    assert {(f["kind"], f["posting_key"], tuple(f["changes"])) for f in report["findings"]} == drifted.expected
    assert report["new"] == []  # the job recorded them already
    nothing = subprocess.run([sys.executable, "-m", "ml_connector", "drift", "--month", "2026-09"], cwd=REPO,
                             env=env, capture_output=True, text=True, timeout=120)
    assert nothing.returncode == 2 and "nothing is posted for 2026-09" in nothing.stderr


def test_the_daily_schedule_asks_for_each_open_month(drifted):
    resources = drifted.harness.resources()
    repository = build_definitions(resources).get_repository_def()
    schedule = repository.get_schedule_def("ledger_drift_daily")

    def asked(day: datetime) -> list[str]:
        with dg.build_schedule_context(resources=resources, scheduled_execution_time=day,
                                       repository_def=repository) as context:
            return [r.partition_key for r in schedule.evaluate_tick(context).run_requests or []]

    assert asked(datetime(2026, 12, 3, 6, 30, tzinfo=UTC)) == [PARTITION]
    assert asked(datetime(2027, 2, 3, 6, 30, tzinfo=UTC)) == []  # 2026-10 is four months back: closed
