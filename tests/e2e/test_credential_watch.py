"""`credential_watch` on a real store: a Brex token idle past the warning threshold and a refresh token Zoho refuses
are each reported once (audit trail and alert), not on every tick, and never with a secret."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import dagster as dg
import pytest

from ml_connector.errors import AuthError
from ml_connector.sandbox.config import SandboxConfig
from ml_connector.sandbox.server import SandboxServer
from ml_connector.store import open_store
from ml_connector.store.audit import AuditEvent, query
from ml_connector.store.schema import audit_events
from pipelines.alerts.credentials import build_credential_watch
from pipelines.alerts.resources import AlertsResource
from pipelines.brex.resources import BrexResource
from tests.alert_receiver import AlertReceiver
from tests.resources import store_resource, zoho_resource

BAD_REFRESH = "1000.0123456789abcdef0123456789abcdef.fedcba9876543210fedcba9876543210"


@pytest.fixture(scope="module")
def server():
    config = SandboxConfig(seed=29, last_month="2026-10", months=1, brex_expenses_per_month=2,
                           expensify_reports_per_month=0, rate_limits="off")
    with SandboxServer(config) as started:
        yield started


def tick(resources: dict) -> None:
    with dg.instance_for_test() as instance, dg.build_sensor_context(instance=instance,
                                                                    resources=resources) as context:
        build_credential_watch(idle_warn_days=60).evaluate_tick(context)


def resources_for(server, store_url: str, hook: AlertReceiver, **zoho) -> dict:
    store = store_resource(store_url)
    return {"store": store, "alerts": AlertsResource(url=hook.url),
            "brex": BrexResource(store=store, base_url=server.url("brex"),
                                 api_token=server.config.credentials.brex_token),
            "ledger": zoho_resource(server, store, **zoho)}


def test_a_brex_token_idle_past_the_threshold_warns_once(server, tmp_path):
    store_url = f"sqlite:///{tmp_path / 'c.db'}"
    engine = open_store(store_url)
    last_call = datetime.now(UTC) - timedelta(days=61)
    with engine.begin() as connection:  # the last month run that read Brex, 61 days ago
        connection.execute(audit_events.insert(), [{**AuditEvent(
            actor="dagster", action="fetch", outcome="ok", month="2026-10", source_system="brex",
            detail={"card_transactions": 2}).row(), "occurred_at": last_call}])
    with AlertReceiver() as hook:
        resources = resources_for(server, store_url, hook)
        tick(resources)
        tick(resources)
    findings = query(engine, action_prefix="credential.")
    assert [(f["outcome"], f["detail"]["kind"]) for f in findings] == [("warning", "brex_idle")]
    (body,) = hook.bodies
    expires = (last_call + timedelta(days=90)).date().isoformat()
    assert "61 days" in body["text"] and expires in body["text"]
    assert server.config.credentials.brex_token not in json.dumps(body)


def test_a_refresh_token_zoho_refuses_is_reported_as_revoked_once(server, tmp_path):
    store_url = f"sqlite:///{tmp_path / 'c.db'}"
    with AlertReceiver() as hook:
        resources = resources_for(server, store_url, hook, refresh_token=BAD_REFRESH)
        with pytest.raises(AuthError):  # a run trying to post: Zoho refuses the refresh token
            resources["ledger"].ledger().reference_data()
        tick(resources)
        tick(resources)
    findings = query(open_store(store_url), action_prefix="credential.")
    assert [(f["source_system"], f["outcome"], f["detail"]["kind"]) for f in findings] \
        == [("zoho", "error", "refresh_revoked")]
    (body,) = hook.bodies
    assert "revoked or invalid" in body["text"] and "ML_CONNECTOR_ZOHO_REFRESH_TOKEN" in body["text"]
    assert BAD_REFRESH not in json.dumps(body) and BAD_REFRESH not in json.dumps(findings, default=str)
