"""Xero Accounting API 2.0 transport: every call with a fresh bearer token and `xero-tenant-id`, the shared
per-minute budget and day state, and Xero's answers turned into the error taxonomy.

- The tenant is the organisation chosen by id; before the first accounting call it is checked against
  `GET /connections` (tenantless: it counts only against the app-wide limit), so a tenant this app is not
  connected to fails with the list of the ones it is, not with a 403 halfway through a month.
- Limits (notes §6): 60 calls a minute per tenant through the store's `StoreRateBudget` (every process shares
  it); 5,000 a day through `quota.DayQuota`; a 429 names its limit in `X-Rate-Limit-Problem` with
  `Retry-After` seconds: "minute" (and "concurrent", "appminute") pause the minute budget for everyone and are
  retried, "day" pauses the day state until Xero said it returns.
- Errors (notes §5): 400 ValidationException's `Elements[].ValidationErrors[].Message` is the reason; 401
  (an access token refused before its time) is refreshed once and retried; 403 means the tenant is not (or no
  longer) connected; 404 is plain text; 5xx are Xero's side (a write that got one is `Uncertain`).
- Answers are parsed with Decimal for every JSON number, so amounts never pass through float.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from decimal import Decimal
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
from ml_connector.ledgers.xero.quota import DailyLimitReached, DayQuota
from ml_connector.ledgers.xero.wire import validation_messages
from ml_connector.oauth import SharedTokens
from ml_connector.redact import scrub_text

API_PATH = "/api.xro/2.0"
PAGE_SIZE = 100  # "Up to 100 ... in a single API call" (OAS); the sandbox pages at 100 too
TENANT_SETTING = "ML_CONNECTOR_XERO_TENANT_ID"


def decoded(response: requests.Response) -> Any:
    return json.loads(response.text, parse_float=Decimal) if response.content else {}


def classify_xero(tokens: SharedTokens):
    def classify(response: requests.Response) -> ConnectorError | None:
        status = response.status_code
        if status < 400:
            return None
        secrets = tuple(tokens.secrets)
        if status == 429:
            problem = response.headers.get("X-Rate-Limit-Problem", "").strip().lower() or "unnamed"
            wait = retry_after_seconds(response)
            if problem == "day":
                return DailyLimitReached(f"Xero's daily limit for this organisation is used up (retry after "
                                         f"{wait if wait is not None else 'an unknown time'} s)",
                                         resets_in=wait if wait is not None else 3600.0)
            return RateLimited(f"Xero throttled the request ({problem} limit)", system="xero", vendor_code=problem,
                               retry_after=wait if wait is not None else 1.0)
        try:
            body = json.loads(response.text) if response.content else {}
        except ValueError:
            body = {}
        if not isinstance(body, dict):
            body = {}
        if status == 401:
            return AuthError("Xero refused the access token (401 AuthenticationUnsuccessful)", system="xero",
                             status=status, vendor_code="invalid_token")
        if status == 403:
            detail = body.get("Detail") or body.get("detail") or ""
            return AuthError(f"Xero refused access to the organisation (403 {detail}): this app is not (or no "
                             f"longer) connected to it. Fix: reconnect the organisation, "
                             f"or set {TENANT_SETTING} to a connected tenant (docs/xero.md)", system="xero",
                             status=status)
        if status == 404:
            return NotFound("Xero has no such resource (404)", system="xero")
        if status >= 500:
            return RetryableError(f"Xero failed on its side ({status})", system="xero", status=status)
        reason = scrub_text("; ".join(validation_messages(body)) or response.text[:300], secrets)
        return ValidationRejected(f"Xero rejected the request ({body.get('Type') or status}): {reason}",
                                  system="xero", status=status, vendor_code=body.get("ErrorNumber") or body.get("Type"),
                                  vendor_message=reason)

    return classify


class XeroApi:
    """Calls to one Xero organisation (tenant) through one connection."""

    def __init__(self, tokens: SharedTokens, api_url: str, *, tenant_id: str | None = None,
                 retry: RetryPolicy | None = None, timeout: tuple[float, float] = (5.0, 30.0)) -> None:
        self.tokens = tokens
        self.api_url = api_url.rstrip("/")
        self.http = HttpClient("xero", self.api_url, classify=classify_xero(tokens), retry=retry or RetryPolicy(),
                               timeout=timeout)
        self.tenant_id = tenant_id or None
        self.quota: DayQuota | None = None
        self.day_remaining: int | None = None
        self._tenant_checked = False

    # -- tenants -------------------------------------------------------------------------------------

    def connections(self) -> list[dict]:
        """`GET /connections`: the tenants this connection may call (xero-identity.yaml `Connection`)."""
        response = self._send("GET", f"{self.api_url}/connections", tenant=False)
        body = decoded(response)
        return [c for c in body if isinstance(c, dict)] if isinstance(body, list) else []

    def resolve_tenant(self) -> str:
        """The configured tenant, checked against the connections; the only one when none is configured."""
        connected = self.connections()
        listed = ", ".join(f"{c.get('tenantId')} ({c.get('tenantName') or c.get('tenantType')})"
                           for c in connected) or "none"
        organisations = [c for c in connected if c.get("tenantType", "ORGANISATION") == "ORGANISATION"]
        if self.tenant_id:
            if not any(str(c.get("tenantId")) == self.tenant_id for c in organisations):
                raise ConfigError(f"this Xero connection is not connected to tenant {self.tenant_id} (connected: "
                                  f"{listed}).", setting=TENANT_SETTING,
                                  fix=f"set {TENANT_SETTING} to one of those tenant ids, or reconnect the "
                                      f"organisation")
        elif len(organisations) == 1:
            self.tenant_id = str(organisations[0]["tenantId"])
        else:
            raise ConfigError(f"cannot tell which Xero organisation to post to (connected: {listed}).",
                              setting=TENANT_SETTING, fix=f"set {TENANT_SETTING} to one of those tenant ids")
        self._tenant_checked = True
        return self.tenant_id

    # -- calls ---------------------------------------------------------------------------------------

    def call(self, method: str, path: str, *, params: dict | None = None, json_body: Any = None,
             content: bytes | None = None, headers: dict | None = None, idempotency_key: str | None = None,
             is_idempotent: bool | None = None) -> Any:
        """One accounting call (`path` under /api.xro/2.0); the decoded answer."""
        if not self._tenant_checked:
            self.resolve_tenant()
        extra = dict(headers or {})
        if idempotency_key:
            extra["Idempotency-Key"] = idempotency_key[:128]
        response = self._send(method, f"{API_PATH}/{path.lstrip('/')}", params=params, json_body=json_body,
                              content=content, headers=extra, is_idempotent=is_idempotent)
        return decoded(response)

    def _send(self, method: str, path: str, *, tenant: bool = True, params: dict | None = None,
              json_body: Any = None, content: bytes | None = None, headers: dict | None = None,
              is_idempotent: bool | None = None) -> requests.Response:
        refreshed = False
        while True:
            if tenant and self.quota is not None:
                self.quota.before_call()
            token = self.tokens.token()
            sent = {"Authorization": f"Bearer {token.value}", "Accept": "application/json", **(headers or {})}
            if tenant:
                sent["xero-tenant-id"] = self.tenant_id or ""
            try:
                response = self.http.request(method, path, params=params, json=json_body, data=content,
                                             headers=sent, is_idempotent=is_idempotent)
            except DailyLimitReached as exc:
                if self.quota is None:
                    raise RateLimited(str(exc), system="xero", retry_after=exc.resets_in, vendor_code="day",
                                      is_daily_quota=True) from None
                self.quota.exhausted(exc.resets_in)
                continue  # refused before anything was done: wait for the day (or stop) in before_call
            except AuthError as exc:
                if exc.status == 401 and not refreshed:
                    self.tokens.invalidate(token.value)  # expired or revoked early: refresh once, then retry
                    refreshed = True
                    continue
                raise
            remaining = response.headers.get("X-DayLimit-Remaining", "")
            if remaining.isdigit():
                self.day_remaining = int(remaining)
                if self.quota is not None:
                    self.quota.observe(self.day_remaining)
            return response

    def pages(self, path: str, key: str, params: dict | None = None, headers: dict | None = None,
              first: dict | None = None) -> Iterator[dict]:
        """Every item of a paged list; `first` (when given) receives the first page's envelope."""
        page = 1
        while True:
            body = self.call("GET", path, params={**(params or {}), "page": page, "pageSize": PAGE_SIZE},
                             headers=headers)
            if page == 1 and first is not None:
                first.update({k: v for k, v in body.items() if k != key})
            items = body.get(key, []) or []
            yield from items
            pagination = body.get("pagination") or {}
            count = pagination.get("pageCount")
            if (count is not None and page >= int(count)) or len(items) < PAGE_SIZE:
                return
            page += 1
