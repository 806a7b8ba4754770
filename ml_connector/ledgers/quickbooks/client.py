"""QuickBooks Online Accounting API v3 transport: `{base}/v3/company/{realmId}/{entity}` with `minorversion`
on every call, a fresh Bearer token, the shared rate budget, and Intuit's two fault envelopes turned into the
error taxonomy.

- Faults: the data service answers `{"Fault": {"Error": [{"Message", "Detail", "code", "element"}], "type"}}`
  (HTTP 400, sometimes 200); the gateway in front of it (tokens, throttling) answers the same in lower case
  (`{"fault": {"error": [{"message", "detail", "code"}]}}`) with 401 or 429 (notes section 4).
- 401 code 3200 (the access token expired or was revoked early) is forgotten and the call sent again with the
  next token (another process's newer one from the store, else a refresh), once per token;
  anything else on 401/403 is an AuthError, and so is 6190 (the company's subscription is not active):
  nothing can post until a person acts.
- 610 "Object Not Found" on a read is NotFound (a deleted entry); on a write it means a referenced account,
  vendor or class is inactive, which is a ValidationRejected like every other 4xx fault.
- 429 (code 3001, "ThrottleExceeded") carries no Retry-After (none is documented), so it is retried with the
  usual backoff. The proactive budget (`StoreRateBudget`, 500 a minute per realm, 10% headroom) keeps us from
  it: a 429 means another app spends the same realm's budget, or the 10-in-flight limit was reached.
- Lists are read with `ORDERBY Id` and `STARTPOSITION`/`MAXRESULTS` pages of 1000, so an entry created while
  the pages are read lands on a later page instead of shifting one out of sight (the default order is most
  recently updated first). Intuit documents no page size ceiling; 1000 is what third parties report and the
  sandbox enforces (unconfirmed, so never more).
- In flight: every process sends one request at a time, and the posting step runs in a Dagster pool of one per
  realm, so reaching Intuit's 10 concurrent requests per realm takes more than ten processes on one company
  at the same moment (a backfill of ten months reads reference data at once); should it happen, the 429 is
  retried like any other.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from typing import Any

import requests

from ml_connector.errors import (
    AuthError,
    ConnectorError,
    NotFound,
    RateLimited,
    RetryableError,
    ValidationRejected,
)
from ml_connector.http import HttpClient, RetryPolicy
from ml_connector.oauth import SharedTokens
from ml_connector.redact import scrub_text

SYSTEM = "quickbooks"
PAGE_SIZE = 1000  # MAXRESULTS' ceiling (third-party sources; the sandbox refuses more)
TOKEN_LIKE = re.compile(r"[A-Za-z0-9._~+/=-]{20,}")
AUTH_CODES = {"100", "120", "3100", "3200", "6190"}  # authentication, authorization, subscription


def fault_of(response: requests.Response) -> tuple[str | None, str]:
    """(code, "Message: Detail") of the first error in either envelope; (None, text) when there is none."""
    try:
        body = response.json()
    except ValueError:
        return None, response.text[:200]
    if not isinstance(body, dict):
        return None, ""
    fault = body.get("Fault") or body.get("fault")
    if not isinstance(fault, dict):
        return None, ""
    errors = fault.get("Error") or fault.get("error") or [{}]
    first = errors[0] if isinstance(errors, list) and errors else {}
    message = str(first.get("Message") or first.get("message") or "")
    detail = str(first.get("Detail") or first.get("detail") or "")
    code = first.get("code")
    return (str(code) if code is not None else ""), f"{message}: {detail}" if detail else message


def classify_quickbooks(tokens: SharedTokens):
    """Turns Intuit's faults into the error taxonomy, scrubbing anything secret a message might quote."""

    def classify(response: requests.Response) -> ConnectorError | None:
        status = response.status_code
        if status < 400 and "Fault" not in response.text[:20]:
            return None
        code, text = fault_of(response)
        message = scrub_text(text, tuple(tokens.secrets))
        if status == 429 or code == "3001":
            return RateLimited(f"QuickBooks throttled the request (code {code}): {message}", system=SYSTEM,
                               vendor_code=code)
        if status in (401, 403) or code in AUTH_CODES:
            message = TOKEN_LIKE.sub("[redacted]", message)  # the gateway quotes part of a refused token
            return AuthError(f"QuickBooks refused the request (HTTP {status}, code {code}): {message}",
                             system=SYSTEM, status=status, vendor_code=code)
        if status == 404 or (code == "610" and response.request.method == "GET"):
            return NotFound(f"QuickBooks: {message}", system=SYSTEM, vendor_code=code)
        if status >= 500:
            return RetryableError(f"QuickBooks failed on its side ({status}, code {code})", system=SYSTEM,
                                  status=status)
        return ValidationRejected(f"QuickBooks rejected the request (code {code}): {message}", system=SYSTEM,
                                  status=status, vendor_code=code, vendor_message=message)

    return classify


def quoted(text: str) -> str:
    """A string literal of the query language: single quotes, a quote escaped with a backslash."""
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


class QuickBooksApi:
    """Calls to one QuickBooks Online company (realm)."""

    def __init__(self, tokens: SharedTokens, *, base_url: str, realm_id: str, minor_version: int = 75,
                 retry: RetryPolicy | None = None, timeout: tuple[float, float] = (5.0, 30.0),
                 page_size: int = PAGE_SIZE) -> None:
        self.tokens = tokens
        self.page_size = page_size
        self.base_url = base_url.rstrip("/")
        self.realm_id = realm_id
        self.minor_version = minor_version
        self.http = HttpClient(SYSTEM, f"{self.base_url}/v3/company/{realm_id}", classify=classify_quickbooks(tokens),
                               retry=retry or RetryPolicy(), timeout=timeout)

    def call(self, method: str, path: str, *, params: dict | None = None, json: Any = None,
             files: dict | None = None, requestid: str | None = None) -> dict:
        """One call; a write carries `requestid` (a fresh one unless the caller chose it)."""
        params = {**(params or {}), "minorversion": self.minor_version}
        if method.upper() != "GET":
            params["requestid"] = requestid or uuid.uuid4().hex
        refused: set[str] = set()
        while True:
            token = self.tokens.token()
            try:
                response = self.http.request(method, path, params=params, json=json, files=files,
                                             headers={"Authorization": f"Bearer {token.value}",
                                                      "Accept": "application/json"})
            except AuthError as exc:
                # Expired or revoked early: forget it and send again with the next one (the store's, or a fresh
                # refresh), once per token; the same token refused twice is a real refusal.
                if exc.vendor_code == "3200" and exc.status == 401 and token.value not in refused \
                        and len(refused) < 3:
                    refused.add(token.value)
                    self.tokens.invalidate(token.value)
                    continue
                raise
            return response.json()

    def query(self, statement: str) -> dict:
        return self.call("GET", "query", params={"query": statement}).get("QueryResponse", {})

    def select(self, entity: str, where: str = "", order_by: str = "Id") -> Iterator[dict]:
        """Every row of `select * from entity [where ...]`, page by page (STARTPOSITION is 1-based)."""
        start = 1
        while True:
            statement = (f"select * from {entity}{f' where {where}' if where else ''} ORDERBY {order_by} "
                         f"STARTPOSITION {start} MAXRESULTS {self.page_size}")
            rows = self.query(statement).get(entity, [])
            yield from rows
            if len(rows) < self.page_size:
                return
            start += self.page_size
