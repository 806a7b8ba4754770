"""Alerts from real runs: a failed month_sync and a month with failed checks each send one alert (the month, the
step, the reason, a link to the run) to a local receiver standing in for Slack, and into the audit trail, with
nothing secret in either."""

from __future__ import annotations

import dataclasses
import json

import dagster as dg

from ml_connector.store.audit import query
from pipelines.alerts.resources import AlertsResource
from pipelines.alerts.sensors import failed_check_alerts, run_failure_alerts
from pipelines.definitions import build_definitions
from tests.alert_receiver import AlertReceiver
from tests.e2e.conftest import MONTH

DAGSTER_URL = "http://dagster.example.com:3000"


def secrets_of(h, hook: AlertReceiver) -> list[str]:
    creds = h.server.config.credentials
    names = [f.name for f in dataclasses.fields(creds) if any(w in f.name for w in ("token", "secret"))]
    return [getattr(creds, n) for n in names] + [hook.url, "hooksecretXYZ123"]


def evaluate(sensor, instance, resources, defs, cursor):
    with dg.build_sensor_context(instance=instance, cursor=cursor, resources=resources,
                                 repository_def=defs.get_repository_def()) as context:
        return sensor.evaluate_tick(context)


def test_a_failed_month_sync_sends_one_alert_with_the_month_step_reason_and_run_link(harness):
    with harness(expensify_reports_per_month=0, brex_expenses_per_month=8, resource_options={"expensify": False}) \
            as h, AlertReceiver() as hook:
        h.ledger().api.call("PUT", "transactionlock", json={"transaction_lock_status": "enabled",
                                                         "transaction_lock_module": "accountant",
                                                         "transaction_lock_date": f"{MONTH}-31"})
        resources = {**h.resources(), "alerts": AlertsResource(url=hook.url, dagster_url=DAGSTER_URL)}
        defs = build_definitions(resources)
        with dg.DagsterInstance.from_config(str(h.home / "dagster")) as instance:
            started = evaluate(run_failure_alerts, instance, resources, defs, None)
            run = defs.resolve_job_def("month_sync").execute_in_process(
                partition_key=f"{MONTH}-01", instance=instance, raise_on_error=False)
            assert not run.success
            after = evaluate(run_failure_alerts, instance, resources, defs, started.cursor)
            evaluate(run_failure_alerts, instance, resources, defs, after.cursor)  # the next tick: nothing new
        (body,) = hook.bodies
        text = body["text"]
        assert f"for {MONTH}" in text and "Step: journal_drafts" in text
        assert "locked in Zoho Books through 2026-10-31" in text
        assert f"{DAGSTER_URL}/runs/{run.run_id}" in text
        assert not any(secret in json.dumps(body) for secret in secrets_of(h, hook))
        (audited,) = query(h.engine, action_prefix="alert.")
        assert audited["action"] == "alert.run_failure" and audited["outcome"] == "sent"
        assert audited["run_id"] == run.run_id and audited["month"] == MONTH
        assert not any(secret in json.dumps(audited["detail"]) for secret in secrets_of(h, hook))


def test_a_month_whose_entries_are_rejected_sends_one_alert_naming_the_failed_checks(harness):
    with harness(expensify_reports_per_month=0, brex_expenses_per_month=8, resource_options={"expensify": False}) \
            as h, AlertReceiver() as hook:
        resources = {**h.resources(), "alerts": AlertsResource(url=hook.url, dagster_url=DAGSTER_URL)}
        defs = build_definitions(resources)
        with dg.DagsterInstance.from_config(str(h.home / "dagster")) as instance:
            started = evaluate(failed_check_alerts, instance, resources, defs, None)
            # Zoho refuses every journal of the month (the lock lands after the reference data was read).
            job = defs.resolve_job_def("month_sync")
            job.execute_in_process(partition_key="2026-09-01", instance=instance,
                                   asset_selection=[dg.AssetKey("ledger_reference_data")])
            h.ledger().api.call("PUT", "transactionlock", json={"transaction_lock_status": "enabled",
                                                             "transaction_lock_module": "accountant",
                                                             "transaction_lock_date": f"{MONTH}-31"})
            selection = [k for k in job.asset_layer.asset_graph.get_all_asset_keys()
                         if k != dg.AssetKey("ledger_reference_data")]
            run = job.execute_in_process(partition_key=f"{MONTH}-01", instance=instance, asset_selection=selection,
                                         raise_on_error=False)
            assert run.success  # rejections fail checks, not the run
            evaluate(failed_check_alerts, instance, resources, defs, started.cursor)
        (body,) = hook.bodies
        text = body["text"]
        assert f"for {MONTH}" in text and "ledger_postings / every_entry_posted" in text and "rejected" in text
        assert f"{DAGSTER_URL}/runs/{run.run_id}" in text
        assert not any(secret in json.dumps(body) for secret in secrets_of(h, hook))
