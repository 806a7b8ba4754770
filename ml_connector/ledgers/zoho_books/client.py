"""Zoho Books v3 transport: every call with `organization_id`, a fresh `Zoho-oauthtoken`, the shared rate
budget, and Zoho's {code, message} answers turned into the error taxonomy."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import requests

from ml_connector.errors import (
    AuthError,
    ConfigError,
    ConnectorError,
    NotFound,
    RateLimited,
    RetryableError,
    ValidationRejected,
)
from ml_connector.http import HttpClient, RetryPolicy, retry_after_seconds
from ml_connector.oauth import SharedTokens
from ml_connector.redact import scrub_text

PAGE_SIZE = 200


def classify_zoho(tokens: SharedTokens):
    """Turns Zoho's {code, message} answers into the error taxonomy, scrubbing any secret it quotes."""

    def classify(response: requests.Response) -> ConnectorError | None:
        status = response.status_code
        if status < 400:
            return None
        try:
            body = response.json()
        except ValueError:
            body = {}
        code = body.get("code")
        message = scrub_text(str(body.get("message", response.text[:200])), tuple(tokens.secrets))
        if status == 429 or code in (44, 45, 1070):
            return RateLimited(f"Zoho Books throttled the request (code {code}): {message}", system="zoho",
                               vendor_code=code, retry_after=retry_after_seconds(response),
                               is_daily_quota=code == 45)
        if status == 401 or code in (14, 57):
            return AuthError(f"Zoho Books refused the access token (code {code}): {message}", system="zoho",
                             status=status, vendor_code=code)
        if status == 404 or code == 1002:
            return NotFound(f"Zoho Books: {message}", system="zoho", vendor_code=code)
        if status >= 500:
            return RetryableError(f"Zoho Books failed on its side ({status}, code {code})", system="zoho",
                                  status=status)
        return ValidationRejected(f"Zoho Books rejected the request (code {code}): {message}", system="zoho",
                                  status=status, vendor_code=code, vendor_message=message)

    return classify


class ZohoApi:
    """Calls to one Zoho Books organisation."""

    def __init__(self, tokens: SharedTokens, *, retry: RetryPolicy | None = None,
                 timeout: tuple[float, float] = (5.0, 30.0)) -> None:
        self.tokens = tokens
        self.http = HttpClient("zoho", "http://unset", classify=classify_zoho(tokens), retry=retry or RetryPolicy(),
                               timeout=timeout)
        self.organization_id: str | None = None
        self.daily_remaining: int | None = None

    def call(self, method: str, path: str, *, params: dict | None = None, json: Any = None,
             files: dict | None = None, with_org: bool = True) -> dict:
        params = dict(params or {})
        if with_org:
            params["organization_id"] = self.organization_id
        for attempt in (1, 2):
            token = self.tokens.token()
            try:
                response = self.http.request(method, f"/books/v3/{path.lstrip('/')}", params=params, json=json,
                                             files=files, base_url=token.api_domain,
                                             headers={"Authorization": f"Zoho-oauthtoken {token.value}"})
            except AuthError as exc:
                if exc.vendor_code == 57 and attempt == 1:
                    self.tokens.invalidate(token.value)  # expired or revoked early: refresh once, then retry
                    continue
                raise
            remaining = response.headers.get("X-Rate-Limit-Remaining")
            if remaining is not None and remaining.isdigit():
                self.daily_remaining = int(remaining)
            return response.json()
        raise AssertionError("unreachable")

    def pages(self, path: str, key: str, params: dict | None = None) -> Iterator[dict]:
        page = 1
        while True:
            body = self.call("GET", path, params={**(params or {}), "page": page, "per_page": PAGE_SIZE})
            yield from body.get(key, [])
            if not body.get("page_context", {}).get("has_more_page"):
                return
            page += 1

    def default_organization(self) -> str:
        body = self.call("GET", "organizations", with_org=False)
        organizations = body.get("organizations", [])
        if len(organizations) == 1:
            return str(organizations[0]["organization_id"])
        defaults = [o for o in organizations if o.get("is_default_org")]
        if len(defaults) == 1:
            return str(defaults[0]["organization_id"])
        ids = ", ".join(str(o.get("organization_id")) for o in organizations) or "none"
        raise ConfigError(f"cannot tell which Zoho organisation to post to (found: {ids}).",
                          setting="ML_CONNECTOR_ZOHO_ORGANIZATION_ID", fix="set it to one of those ids")
