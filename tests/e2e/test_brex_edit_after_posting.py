"""A Brex edit after its month posted, end to end: the sandbox delivers EXPENSE_PAYMENT_UPDATED to the subscribed
receiver, the `brex_events` sensor asks for that month's run, and the run holds the record for review
(`changed_after_posting`) without a second journal in Zoho."""

from __future__ import annotations

import dagster as dg
import requests

from ml_connector.sources.brex import BrexAuth, BrexClient
from ml_connector.webhooks.receiver import create_app
from ml_connector.webhooks.register import register_subscription
from ml_connector.webhooks.secrets import WebhookSecrets
from pipelines.brex.sensors import brex_events
from pipelines.definitions import build_definitions
from tests.e2e.conftest import MONTH
from tests.webhooks.conftest import ServedApp, inbox_rows, wait_for


def test_an_edit_after_posting_reaches_the_inbox_runs_its_month_and_is_held_not_reposted(harness):
    with harness(expensify_reports_per_month=0, brex_expenses_per_month=12,
                 resource_options={"expensify": False}) as h:
        creds = h.server.config.credentials
        app = create_app(h.engine, WebhookSecrets(configured=[creds.brex_webhook_secret]), max_body_bytes=65536)
        with ServedApp(app) as receiver:
            register_subscription(BrexClient(h.server.url("brex"), BrexAuth(api_token=creds.brex_token)),
                                  receiver.url)
            assert h.run()["done"]
            posted = next(r for r in h.status() if r["status"] == "posted" and r["source"] == "brex")
            journals = h.sandbox_journals()
            requests.post(f"{h.server.url('brex')}/_sandbox/expenses/{posted['source_id']}",
                          json={"amount": 123456}, timeout=10).raise_for_status()
            (event,) = wait_for(lambda: inbox_rows(h.store_url))
        assert event["payload"]["expense_id"] == posted["source_id"]

        resources = h.resources()
        defs = build_definitions(resources)
        with dg.DagsterInstance.from_config(str(h.home / "dagster")) as instance:
            def tick(cursor):
                with dg.build_sensor_context(instance=instance, cursor=cursor, resources=resources,
                                             repository_def=defs.get_repository_def()) as context:
                    return brex_events.evaluate_tick(context)

            asked = tick(None)
            (request,) = asked.run_requests
            assert request.partition_key == f"{MONTH}-01"
            # What the daemon does with the request: a run of month_sync tagged with the sensor and its run key.
            run = defs.resolve_job_def("month_sync").execute_in_process(
                partition_key=request.partition_key, instance=instance, raise_on_error=False,
                tags={**request.tags, "dagster/run_key": request.run_key, "dagster/sensor_name": "brex_events"})
            assert run.success
            settled = tick(asked.cursor)
        assert settled.run_requests == []
        (handled,) = inbox_rows(h.store_url)
        assert handled["processed_at"] and handled["handled_run_key"] == request.run_key
        held = next(r for r in h.status() if r["source_id"] == posted["source_id"])
        assert held["status"] == "held" and held["reason"].startswith("changed_after_posting")
        assert h.sandbox_journals() == journals
