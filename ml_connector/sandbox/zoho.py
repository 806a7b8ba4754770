"""The Zoho Books sandbox: the accounts (OAuth) server and the Books API v3, as two ASGI apps.

Mounted by the sandbox server at `/zoho-accounts` (token endpoint `POST /oauth/v2/token`) and `/zoho`
(Books at `/books/v3/...`); the token response's api_domain is `{public_url}/zoho`.

Every Books call needs `Authorization: Zoho-oauthtoken <token>`: no or unusable auth (including the
`Bearer` scheme, whose acceptance by Zoho is unconfirmed, and tokens this sandbox never issued) -> 401 code
14; a token past its ttl or killed by the control route -> 401 code 57 (bodies as live-probed, see notes).
`organization_id` is required on every call except `GET /organizations[/{id}]`; missing or unknown ->
400 code 2 (UNCONFIRMED code and text). Unknown paths -> 404 code 5 "Invalid URL Passed".

Limits (`config.limit_overrides` keys; `config.rate_limits="off"` disables them):
- "zoho.per_minute"      requests per minute per organisation (100)          -> 429 code 44
- "zoho.daily"           requests per org-local day (Professional plan 5000)  -> 429 code 45
- "zoho.concurrency"     requests in flight per organisation (10)             -> 429 code 1070
- "zoho.token_refreshes" access tokens per refresh token per 10 minutes (10)  -> {"error": "Access Denied"}
Authenticated responses carry X-Rate-Limit-Limit / -Remaining / -Reset (daily quota).

Control routes (not Zoho's; no auth, never faulted), under the Books app:
- POST /_sandbox/expire-tokens      every access token issued so far becomes dead (401 code 57)
- GET  /_sandbox/journals           every journal, full records, unpaginated
- GET  /_sandbox/bills              every bill, full records, unpaginated
- GET  /_sandbox/stats              request counts by endpoint, token refreshes, in-flight, daily usage
- POST /_sandbox/latency            {"seconds": 0.5}: hold each Books call that long (to test concurrency)
- POST /_sandbox/reset-limits       forget per-minute and daily counters

Organisations (`config.org`, `zoho_orgs`): "us" (default: USD, no tax, the locations feature off, every
answer as before) or "uk" (GBP, UK VAT on lines, business locations London / Manchester / Edinburgh).
Reference endpoints beyond the recorded ones: `GET /settings/taxes[/{tax_id}]` (`zoho_taxes`) and
`GET /locations` (`zoho_locations`); each module documents its rules, codes and what is unconfirmed.

Editing, on both organisations (`zoho_drafts`, `zoho_store`): `PUT /journals/{id}` (journal_date
required; lines, amounts, accounts, tags, date; "The journal entry has been updated." and a "Journal
updated." comment), `PUT /bills/{id}` (a partial body such as {"notes"} is enough, as recorded; "Bill
information has been updated."), `DELETE /journals/{id}` and `/bills/{id}` (gone from lists, then 404
code 1002), `POST /bills/{id}/status/void` and `/status/open` (HTTP 201, bills.yml's texts; a void bill
stays listed with status "void"). Every write stamps `last_modified_time`; lists filter on it (modified at
or after) and sort by it. Entries in a locked period cannot be edited, voided or deleted.

Validation (details in `zoho_validation`), HTTP 400 unless noted; codes other than 1002, 1038 and 5 are
UNCONFIRMED, chosen in Zoho's style: code 4 unbalanced journal or amount beyond the currency's precision;
code 1002 unknown account / contact / vendor / currency / tag option ("<Entity> does not exist."; 404 for
an unknown id in the path); code 2 inactive account, missing mandatory "Cost Center" on a journal line,
date on or before the module's transaction lock date, duplicate bill_number, bad enum or date;
code 3062 duplicate contact name; code 1038 body that is not a JSON object.
Default transaction lock: accountant and purchase modules locked through the last day of the month
before `config.month_keys[0]` (see `zoho_store`).
Deliberate simplifications: account registers (`transactions`, balances) are always empty; only
`JournalDate.All` and bill `Status.All|Open|Void` filters; Cost Center is mandatory on journals, not bills.
"""

from __future__ import annotations

import json
import threading
from collections import Counter

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import ASGIApp

from ml_connector.sandbox.catalog import Company
from ml_connector.sandbox.config import SandboxConfig
from ml_connector.sandbox.faults import FaultMiddleware, FaultPlan
from ml_connector.sandbox.zoho_accounts import TokenRegistry, build_accounts_app
from ml_connector.sandbox.zoho_books import BooksApi, zoho_json
from ml_connector.sandbox.zoho_limits import BooksLimits, per_minute_error
from ml_connector.sandbox.zoho_records import public
from ml_connector.sandbox.zoho_reference import ZohoReference
from ml_connector.sandbox.zoho_store import ZohoStore

__all__ = ["ZohoSandbox"]


def rate_limited_response() -> Response:
    error = per_minute_error()
    return zoho_json(error.body(), error.status)


class ZohoSandbox:
    """Zoho's accounts server and Books API for one sandbox company."""

    def __init__(self, company: Company, config: SandboxConfig, faults: FaultPlan) -> None:
        self.config = config
        self.ref = ZohoReference(company, config)
        self.store = ZohoStore(self.ref)
        self.tokens = TokenRegistry(config)
        self.limits = BooksLimits(config, self.ref.zone)
        self.latency_seconds = 0.0
        self.request_counts: Counter[str] = Counter()
        self._stats_lock = threading.Lock()
        books = BooksApi(self)
        accounts_app = build_accounts_app(config, self.tokens, self.count_request)
        books_app = Starlette(routes=books.routes() + self._control_routes())
        books_app.add_exception_handler(404, books.unknown_url)
        books_app.add_exception_handler(405, books.unknown_url)
        self.apps: dict[str, ASGIApp] = {
            "zoho-accounts": FaultMiddleware(accounts_app, faults, rate_limited_response),
            "zoho": FaultMiddleware(books_app, faults, rate_limited_response),
        }

    def count_request(self, endpoint: str) -> None:
        with self._stats_lock:
            self.request_counts[endpoint] += 1

    # --- state for --state FILE ------------------------------------------------------------------

    def dump(self) -> dict:
        return {"store": self.store.dump(), "tokens": self.tokens.dump(), "limits": self.limits.dump()}

    def load(self, data: dict) -> None:
        """Restore what `dump` returned; parts absent from `data` keep their fresh, seeded state."""
        if "store" in data:
            self.store.load(data["store"])
        if "tokens" in data:
            self.tokens.load(data["tokens"])
        if "limits" in data:
            self.limits.load(data["limits"])

    # --- control routes --------------------------------------------------------------------------

    def _control_routes(self) -> list[Route]:
        async def expire_tokens(request: Request) -> Response:
            return zoho_json({"expired": self.tokens.expire_all()})

        async def journals(request: Request) -> Response:
            with self.store.lock:
                rows = [public(j) for j in self.store.journals.values()]
            return zoho_json({"journals": rows})

        async def bills(request: Request) -> Response:
            with self.store.lock:
                rows = [public(b) for b in self.store.bills.values()]
            return zoho_json({"bills": rows})

        async def stats(request: Request) -> Response:
            with self._stats_lock:
                counts = dict(self.request_counts)
            return zoho_json({"requests": counts, "token_refreshes": self.tokens.refresh_count,
                              "in_flight": dict(self.limits.in_flight),
                              "throttled": {str(k): v for k, v in self.limits.throttled.items()},
                              "daily_used": self.limits.dump()["daily_used"]})

        async def latency(request: Request) -> Response:
            body = json.loads(await request.body() or b"{}")
            self.latency_seconds = float(body.get("seconds", 0))
            return zoho_json({"seconds": self.latency_seconds})

        async def reset_limits(request: Request) -> Response:
            self.limits.reset()
            return zoho_json({"reset": True})

        return [Route("/_sandbox/expire-tokens", expire_tokens, methods=["POST"]),
                Route("/_sandbox/journals", journals, methods=["GET"]),
                Route("/_sandbox/bills", bills, methods=["GET"]),
                Route("/_sandbox/stats", stats, methods=["GET"]),
                Route("/_sandbox/latency", latency, methods=["POST"]),
                Route("/_sandbox/reset-limits", reset_limits, methods=["POST"])]

