"""`vendor_sync` against the sandbox's Zoho Books and Brex: each side gets the vendors it lacks once, a second run
creates nothing, and names that normalise alike on one side are reported, never resolved by creating."""

from __future__ import annotations

import uuid
from collections import Counter

import dagster as dg
import requests
import sqlalchemy as sa

from ml_connector.mapping.names import normalise_name
from ml_connector.mapping.rule_types import DEFAULT_SUFFIXES
from pipelines.definitions import build_definitions

SMALL = dict(expensify_reports_per_month=0, brex_expenses_per_month=4, resource_options={"expensify": False})


def sync(h) -> dict:
    """One run of vendor_sync_job; the asset's metadata."""
    defs = build_definitions(h.resources())
    with dg.DagsterInstance.from_config(str(h.home / "dagster")) as instance:
        result = defs.resolve_job_def("vendor_sync_job").execute_in_process(instance=instance)
    (materialization,) = result.asset_materializations_for_node("vendor_sync")
    return {k: v.value for k, v in materialization.metadata.items()}


def brex_names(h) -> Counter:
    headers = {"Authorization": f"Bearer {h.server.config.credentials.brex_token}"}
    items = requests.get(f"{h.server.url('brex')}/v1/vendors", params={"limit": 1000}, headers=headers,
                         timeout=30).json()["items"]
    return Counter(normalise_name(v["company_name"], DEFAULT_SUFFIXES) for v in items)


def ledger_names(h) -> Counter:
    return Counter(normalise_name(v.name, DEFAULT_SUFFIXES) for v in h.ledger().reference_data().vendors)


def add_brex_vendor(h, name: str) -> None:
    headers = {"Authorization": f"Bearer {h.server.config.credentials.brex_token}",
               "Idempotency-Key": uuid.uuid4().hex}
    requests.post(f"{h.server.url('brex')}/v1/vendors", json={"company_name": name}, headers=headers,
                  timeout=30).raise_for_status()


def test_a_second_run_creates_nothing_and_each_name_is_once_on_each_side(harness):
    with harness(**SMALL) as h:
        first = sync(h)
        assert first["created_in_brex"] > 0 and first["created_in_ledger"] > 0
        second = sync(h)
        assert (second["created_in_brex"], second["created_in_ledger"]) == (0, 0)
        assert second["matches"] == first["matches"] + first["created_in_brex"] + first["created_in_ledger"]
        brex, ledger = brex_names(h), ledger_names(h)
        assert set(brex) == set(ledger) and max(brex.values()) == 1 and max(ledger.values()) == 1


def test_a_name_on_one_side_only_is_created_on_the_other_exactly_once(harness):
    with harness(**SMALL) as h:
        add_brex_vendor(h, "Acme Rocket Supplies")
        h.ledger().create_vendor("Zed Widgets, LLC")
        sync(h)
        sync(h)
        assert ledger_names(h)["acme rocket supplies"] == 1 and brex_names(h)["zed widgets"] == 1


def test_names_that_normalise_alike_on_one_side_are_a_conflict_not_a_creation(harness):
    with harness(**SMALL) as h:
        add_brex_vendor(h, "Globex")
        add_brex_vendor(h, "GLOBEX, Inc.")
        result = sync(h)
        assert result["conflicts"] == 1 and "Globex; GLOBEX, Inc." in result["conflict_table"]
        assert ledger_names(h)["globex"] == 0 and brex_names(h)["globex"] == 2


def test_employees_billed_for_their_reports_are_never_sent_to_brex(harness):
    """Expensify reports post as bills to their employees; the sync sends the suppliers to Brex, not the people."""
    with harness(expensify_reports_per_month=4, brex_expenses_per_month=4) as h:
        assert h.run()["done"]
        employees = {normalise_name(r["employee_name"], DEFAULT_SUFFIXES) for r in h.engine.connect().execute(
            sa.text("SELECT name AS employee_name FROM vendor_claims WHERE role = 'employee'")).mappings()}
        assert employees and employees <= set(ledger_names(h))  # the people are vendors in the ledger
        metadata = sync(h)
        at_brex = brex_names(h)
        assert metadata["created_in_brex"] > 0 and metadata["employees_kept_from_brex"] == len(employees)
        assert not employees & set(at_brex)
        assert sync(h)["employees_kept_from_brex"] == len(employees) and brex_names(h) == at_brex
