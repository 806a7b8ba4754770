"""With no secret configured, the receiver reads Brex's (the sandbox's) secrets, and reads them again,
at most once per interval, when a signature fails: that is how a rotation on Brex's side is picked up."""

from __future__ import annotations

import time

import pytest
import requests

from ml_connector.errors import ConfigError
from ml_connector.settings import load_settings
from ml_connector.store import open_store
from ml_connector.webhooks.receiver import create_app
from ml_connector.webhooks.secrets import secrets_from_settings
from tests.webhooks.conftest import ServedApp, brex_env, event_body, new_secret, signed

REFRESH_SECONDS = 0.5


@pytest.fixture
def receiver(brex, tmp_path):
    settings = load_settings({**brex_env(brex), "ML_CONNECTOR_DATABASE_URL": f"sqlite:///{tmp_path / 'c.db'}",
                              "ML_CONNECTOR_WEBHOOK_SECRET_REFRESH_SECONDS": str(REFRESH_SECONDS)})
    app = create_app(open_store(settings.store_url), secrets_from_settings(settings), max_body_bytes=65536)
    with ServedApp(app) as served:
        yield served


def brex_secrets(brex) -> list[dict]:
    headers = {"Authorization": f"Bearer {brex.config.credentials.brex_token}"}
    return requests.get(f"{brex.url('brex')}/v1/webhooks/secrets", headers=headers, timeout=10).json()


def deliver(receiver, secret: str) -> int:
    body = event_body()
    return requests.post(receiver.url, data=body, headers=signed(secret, body), timeout=10).status_code


def fetches(receiver) -> float:
    return receiver.metrics()["ml_connector_webhook_secret_fetches_total"]


def test_secrets_are_read_from_brex_when_none_is_configured(receiver, brex):
    active = brex_secrets(brex)[0]["secret"]
    assert deliver(receiver, active) == 200
    assert deliver(receiver, active) == 200
    assert fetches(receiver) == 1  # read once, then cached


def test_a_rotation_at_brex_is_picked_up_when_a_signature_fails(receiver, brex):
    old = brex_secrets(brex)[0]["secret"]
    assert deliver(receiver, old) == 200
    rotated = requests.post(f"{brex.url('brex')}/_sandbox/rotate-webhook-secret", timeout=10).json()["secrets"]
    new = rotated[0]["secret"]
    time.sleep(REFRESH_SECONDS + 0.1)
    assert deliver(receiver, new) == 200  # the cached set lacks it: read again, then verified
    assert deliver(receiver, old) == 200  # still PENDING_REVOKE, so still good
    assert fetches(receiver) == 2


def test_failed_signatures_read_brex_at_most_once_per_interval(receiver, brex):
    assert deliver(receiver, brex_secrets(brex)[0]["secret"]) == 200
    time.sleep(REFRESH_SECONDS + 0.1)
    statuses = [deliver(receiver, new_secret()) for _ in range(5)]
    assert statuses == [401] * 5
    assert fetches(receiver) == 2  # the first forged one refreshed; the other four found it too recent


def test_without_a_secret_or_brex_credentials_the_receiver_refuses_to_start():
    with pytest.raises(ConfigError) as raised:
        secrets_from_settings(load_settings({}))
    assert raised.value.setting == "ML_CONNECTOR_BREX_WEBHOOK_SECRET"


def test_when_brex_cannot_be_reached_deliveries_are_503_so_svix_retries(tmp_path):
    settings = load_settings({"ML_CONNECTOR_BREX_BASE_URL": "http://127.0.0.1:9/brex",  # nothing listens on 9
                              "ML_CONNECTOR_BREX_API_TOKEN": "bxt_unused",
                              "ML_CONNECTOR_DATABASE_URL": f"sqlite:///{tmp_path / 'c.db'}"})
    app = create_app(open_store(settings.store_url), secrets_from_settings(settings), max_body_bytes=65536)
    with ServedApp(app) as served:
        statuses = [deliver(served, new_secret()) for _ in range(2)]
        assert served.metrics()["ml_connector_webhook_secret_fetches_total"] == 1  # the second did not retry Brex
    assert statuses == [503, 503]
