"""Brex OAuth2 posts to exactly the configured token URL, and the sandbox, like Brex, answers a path it does
not serve with 404 and Brex's error body: no redirect that would hide a wrong URL."""

from __future__ import annotations

from datetime import date

import pytest
import requests

from ml_connector.errors import NotFound
from ml_connector.sandbox.brex_standalone import StandaloneBrex
from ml_connector.sandbox.config import SandboxConfig
from ml_connector.sources.brex import BrexAuth, BrexClient

NOT_FOUND = {"type": "NOT_FOUND", "message": "Not Found"}


@pytest.fixture(scope="module")
def brex():
    config = SandboxConfig(seed=5, last_month="2026-10", months=1, brex_expenses_per_month=10, rate_limits="off")
    with StandaloneBrex(config) as server:
        yield server


def oauth(brex, token_url: str) -> BrexAuth:
    creds = brex.config.credentials
    return BrexAuth(token_url=token_url, client_id=creds.brex_client_id, client_secret=creds.brex_client_secret,
                    refresh_token=creds.brex_refresh_token)


def test_oauth_refresh_posts_to_exactly_the_configured_token_url(brex):
    auth = oauth(brex, f"{brex.url('brex')}/oauth2/default/v1/token")
    assert auth.token().startswith("bxo_")  # before the fix: POST .../token/ (a joined empty path) -> 404
    assert BrexClient(brex.url("brex"), auth).card_transactions(date(2026, 10, 1), date(2026, 10, 31))


def test_a_token_url_with_a_trailing_slash_is_used_as_given_and_brex_refuses_it(brex):
    with pytest.raises(NotFound):
        oauth(brex, f"{brex.url('brex')}/oauth2/default/v1/token/").token()


@pytest.mark.parametrize("method, path", [
    ("GET", "/v1/transfers"),  # not modelled by the sandbox
    ("POST", "/oauth2/default/v1/token/"),  # trailing slash: no redirect to the served path
    ("GET", "/v2/transactions/card/primary/"),
])
def test_a_path_the_sandbox_does_not_serve_is_404_with_brex_body(brex, method, path):
    response = requests.request(method, brex.url("brex") + path, timeout=10, allow_redirects=False)
    assert response.status_code == 404 and response.json() == NOT_FOUND


def test_a_served_path_with_another_method_is_405_in_brex_shape(brex):
    response = requests.get(f"{brex.url('brex')}/oauth2/default/v1/token", timeout=10, allow_redirects=False)
    assert response.status_code == 405 and response.json()["type"] == "METHOD_NOT_ALLOWED"
