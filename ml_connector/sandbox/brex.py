"""The Brex sandbox: a local Brex API built from Brex's OpenAPI files, mounted at /brex.

API routes (paths as on api.brex.com; Bearer token required):
  POST /oauth2/default/v1/token            OAuth2 refresh (Brex's token URL path, mounted here; no bearer)
  GET  /v2/transactions/card/primary        settled card rows; cursor, limit<=1000, posted_at_start,
                                            user_ids, expand[]=expense_id
  GET  /v1/expenses, /v1/expenses/{id}      card expenses; limit<=100 and the filters of expenses.yaml
       (/v1/expenses/card[/{id}] are the deprecated aliases; PUT /v1/expenses/card/{id} edits the memo)
  GET|POST /v1/vendors, GET /v1/vendors/{id}    POST needs Idempotency-Key
  GET  /v3/accounting/records[/{id}], POST /v3/accounting/records/export-results   (major units)
  GET  /v1/webhooks/secrets, GET|POST /v1/webhooks, GET|PUT|DELETE /v1/webhooks/{id}
  GET  /v2/users/me, /v2/departments, /v2/locations
  GET  /files/receipts/{id}.pdf             what receipt download_uris point at (no bearer, like S3)
Any other path is 404 `{"type":"NOT_FOUND","message":"Not Found"}` (no redirect for a trailing slash);
a served path asked with another method is 405 in the same shape.

Control routes for tests (no auth, never faulted):
  POST /_sandbox/expenses          {amount, purchased_at?, merchant?, user_id?, memo?}: a new card purchase,
                                   still pending (no settled transaction yet); delivers EXPENSE_PAYMENT_UPDATED
  POST /_sandbox/expenses/{id}     {amount?, memo?, category?, status?}: edit an expense as if someone
                                   changed it after posting; `amount` is minor units of the purchase
                                   currency, re-billed in the billing currency; bumps updated_at and
                                   version; delivers EXPENSE_PAYMENT_UPDATED,
                                   and ACCOUNTING_RECORD_READY_FOR_EXPORT when its records become ready
  POST /_sandbox/webhooks/emit     {event_type?, expense_id?, accounting_record_ids?, payload?, url?,
                                   webhook_id?, timestamp?, wait?}: deliver one signed event now, to `url` or
                                   to every subscriber of the event type; answers each first attempt's status
  GET  /_sandbox/webhooks/deliveries   every message, its attempts and status codes (?webhook_id=)
  POST /_sandbox/expire-tokens     expire every OAuth access token issued so far
  POST /_sandbox/rotate-webhook-secret   new ACTIVE secret, the old one PENDING_REVOKE

Billing currency: card spend bills and settles in the organisation's base currency (`SandboxConfig.org`:
USD in "us", GBP in "uk"), converted from the merchant's currency at that organisation's rates and rounded
half up, because Brex bills "on the entity's currency" (expenses.yaml `billing_amount`). Every billed amount
follows it: expenses' `billing_amount`, card rows, accounting records, edits and webhook payloads; only
`usd_equivalent_amount` is USD always. The rule and its sources are in brex_billing.py, the fields in brex_render.py.

Auth, token expiry and the rate limit (1,000 requests per 60 s per token, limit_overrides key
"brex.per_minute") are in brex_auth.py, with the error bodies chosen where Brex documents none. Webhook
signing, retries (limit_overrides key "brex.webhook_retry_scale") and the events delivered are in
brex_webhooks.py, brex_deliveries.py and brex_events.py.
"""

from __future__ import annotations

import secrets
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp

from ml_connector.sandbox.brex_accounting import BrexAccounting, accounting_error
from ml_connector.sandbox.brex_auth import BrexAuth, too_many_requests
from ml_connector.sandbox.brex_data import BrexRecords, Chain, apply_edit
from ml_connector.sandbox.brex_events import BrexEvents
from ml_connector.sandbox.brex_params import (
    ApiError,
    bad_request,
    decode_cursor,
    page_body,
    parse_datetime,
    parse_limit,
)
from ml_connector.sandbox.brex_render import EXPENSE_EXPANSIONS, BrexRenderer
from ml_connector.sandbox.brex_vendors import BrexVendors
from ml_connector.sandbox.brex_webhooks import BrexWebhooks
from ml_connector.sandbox.catalog import Company
from ml_connector.sandbox.config import SandboxConfig
from ml_connector.sandbox.faults import FaultMiddleware, FaultPlan

MAX_PAGE = 1000  # Brex's generic page cap
MAX_EXPENSE_PAGE = 100
EXPENSE_STATUSES = ("DRAFT", "SUBMITTED", "APPROVED", "OUT_OF_POLICY", "VOID", "CANCELED", "SPLIT", "SETTLED")
PAYMENT_STATUSES = ("NOT_STARTED", "PROCESSING", "CANCELED", "DECLINED", "CLEARED", "REFUNDING", "REFUNDED",
                    "CASH_ADVANCE", "CREDITED", "AWAITING_PAYMENT", "SCHEDULED")
EXPENSE_TYPES = ("CARD", "BILLPAY", "REIMBURSEMENT", "CLAWBACK", "UNSET")
FAKE_RECEIPT = (b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj 2 0 obj<</Type/Pages/Count 0/Kids[]>>"
                b"endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n")
VIEW_CACHE_SIZE = 32

Handler = Callable[[Request], Awaitable[object]]


class BrexSandbox:
    """The Brex API of one sandbox company. `apps` is what the server mounts; dump/load carry state."""

    def __init__(self, company: Company, config: SandboxConfig, faults: FaultPlan) -> None:
        self.company = company
        self.config = config
        self.credentials = config.credentials
        self.records = BrexRecords(company, config.month_keys, config.brex_expenses_per_month, config.org)
        self.renderer = BrexRenderer(company, config.public_url, self.records.billing_currency)
        self.accounting = BrexAccounting(self.records, self.renderer)
        self.vendors = BrexVendors(company)
        self.webhooks = BrexWebhooks(company.seed, self.credentials.brex_webhook_secret,
                                     retry_scale=config.limit("brex.webhook_retry_scale", 1.0))
        self.events = BrexEvents(self.webhooks, self.renderer, self.accounting, self._expense_or_404, _json)
        self.auth = BrexAuth(config)
        self._views: OrderedDict[tuple, list] = OrderedDict()
        app = Starlette(routes=self._routes(), exception_handlers={404: _not_served, 405: _not_served})
        app.router.redirect_slashes = False  # Brex answers 404 for a path it does not serve, never a redirect
        self.apps: dict[str, ASGIApp] = {
            "brex": FaultMiddleware(app, faults, rate_limited=lambda: too_many_requests(1))}

    # -- state -------------------------------------------------------------------------------------

    def dump(self) -> dict:
        return {"vendors": self.vendors.dump(), "edits": self.records.edits, "created": self.records.created,
                "access_tokens": self.auth.access_tokens, "exports": self.accounting.exports,
                "webhooks": self.webhooks.dump()}

    def load(self, data: dict) -> None:
        self.vendors.load(data.get("vendors", {}))
        self.auth.access_tokens = {k: float(v) for k, v in data.get("access_tokens", {}).items()}
        self.accounting.exports = dict(data.get("exports", {}))
        self.webhooks.load(data.get("webhooks", {}))
        self.records.created = dict(data.get("created", {}))
        self.records.edits = dict(data.get("edits", {}))
        for expense_id, changes in self.records.edits.items():
            expense = self.records.expense(expense_id)
            if expense is not None:
                apply_edit(expense, changes)
        self.records.edit_count += 1

    # -- plumbing ----------------------------------------------------------------------------------

    def _routes(self) -> list[Route]:
        api, acct, events = self._api, self._accounting_api, self.events
        return [
            Route("/oauth2/default/v1/token", self.auth.token_endpoint, methods=["POST"]),
            Route("/v2/transactions/card/primary", api(self._card_transactions)),
            Route("/v1/expenses", api(self._list_expenses)),
            Route("/v1/expenses/card", api(self._list_expenses)),
            Route("/v1/expenses/card/{expense_id}", api(self._get_expense), methods=["GET"]),
            Route("/v1/expenses/card/{expense_id}", api(self._update_memo), methods=["PUT"]),
            Route("/v1/expenses/{expense_id}", api(self._get_expense)),
            Route("/v1/vendors", api(self._list_vendors), methods=["GET"]),
            Route("/v1/vendors", api(self._create_vendor), methods=["POST"]),
            Route("/v1/vendors/{vendor_id}", api(self._get_vendor)),
            Route("/v3/accounting/records/export-results", acct(self._export_results), methods=["POST"]),
            Route("/v3/accounting/records", acct(self._accounting_records)),
            Route("/v3/accounting/records/{record_id}", acct(self._accounting_record)),
            Route("/v1/webhooks/secrets", api(events.list_secrets)),
            Route("/v1/webhooks", api(events.list_subscriptions), methods=["GET"]),
            Route("/v1/webhooks", api(events.create_subscription), methods=["POST"]),
            Route("/v1/webhooks/{subscription_id}", api(events.one_subscription), methods=["GET", "PUT", "DELETE"]),
            Route("/v2/users/me", api(self._me)),
            Route("/v2/departments", api(self._departments)),
            Route("/v2/locations", api(self._locations)),
            Route("/files/receipts/{name}", self._receipt_file),
            Route("/_sandbox/expenses", self._control(self._create_expense), methods=["POST"]),
            Route("/_sandbox/expenses/{expense_id}", self._control(self._edit_expense), methods=["POST"]),
            Route("/_sandbox/webhooks/emit", self._control(events.emit), methods=["POST"]),
            Route("/_sandbox/webhooks/deliveries", self._control(events.deliveries), methods=["GET"]),
            Route("/_sandbox/expire-tokens", self._control(self._expire_tokens), methods=["POST"]),
            Route("/_sandbox/rotate-webhook-secret", self._control(events.rotate_secret), methods=["POST"]),
        ]

    def _api(self, handler: Handler, accounting: bool = False) -> Callable[[Request], Awaitable[Response]]:
        async def endpoint(request: Request) -> Response:
            trace = {"X-Brex-Trace-Id": secrets.token_hex(8)}
            try:
                self.auth.admit(request, accounting)
                result = await handler(request)
            except ApiError as error:
                return JSONResponse(error.body, status_code=error.status, headers={**error.headers, **trace})
            if isinstance(result, Response):
                return result
            return JSONResponse(result, headers=trace)
        return endpoint

    def _accounting_api(self, handler: Handler) -> Callable[[Request], Awaitable[Response]]:
        return self._api(handler, accounting=True)

    def _control(self, handler: Handler) -> Callable[[Request], Awaitable[Response]]:
        async def endpoint(request: Request) -> Response:
            try:
                return JSONResponse(await handler(request))
            except ApiError as error:
                return JSONResponse(error.body, status_code=error.status)
        return endpoint

    # -- transactions and expenses -----------------------------------------------------------------

    async def _card_transactions(self, request: Request) -> dict:
        params = request.query_params
        limit = parse_limit(params.get("limit"), 100, MAX_PAGE)
        offset = decode_cursor(params.get("cursor"))
        start = parse_datetime("posted_at_start", params.get("posted_at_start"))
        expand = set(params.getlist("expand[]"))
        user_ids = tuple(params.getlist("user_ids"))
        chain = self.records.transactions_posted(start.date() if start else None)
        rows: Chain | list = chain
        if user_ids:
            wanted = set(user_ids)
            rows = self._cached(("transactions", start, user_ids), lambda: [
                row for row in chain if row.expense is not None and row.expense.user.user_id in wanted])
        page = rows.slice(offset, limit) if isinstance(rows, Chain) else rows[offset:offset + limit]
        items = [self.renderer.transaction(row, "expense_id" in expand) for row in page]
        return page_body(items, offset, limit, len(rows))

    async def _list_expenses(self, request: Request) -> dict:
        params = request.query_params
        limit = parse_limit(params.get("limit"), MAX_EXPENSE_PAGE, MAX_EXPENSE_PAGE)
        offset = decode_cursor(params.get("cursor"))
        expand = _expansions(params.getlist("expand[]"))
        rows = self._expense_view(params)
        page = rows.slice(offset, limit) if isinstance(rows, Chain) else rows[offset:offset + limit]
        return page_body([self.renderer.expense(e, expand) for e in page], offset, limit, len(rows))

    def _expense_view(self, params) -> Chain | list:
        """The expenses a list request selects, in purchase order. The purchase-date range is a bisection;
        other filters scan that range once and the result is cached for the following pages."""
        types = _enum_list(params, "expense_type[]", EXPENSE_TYPES)
        statuses = _enum_list(params, "status[]", EXPENSE_STATUSES)
        payment_statuses = _enum_list(params, "payment_status[]", PAYMENT_STATUSES)
        user_ids = tuple(params.getlist("user_id[]"))
        purchased = (parse_datetime("purchased_at_start", params.get("purchased_at_start")),
                     parse_datetime("purchased_at_end", params.get("purchased_at_end"), end_of_day=True))
        updated = (parse_datetime("updated_at_start", params.get("updated_at_start")),
                   parse_datetime("updated_at_end", params.get("updated_at_end"), end_of_day=True))
        posted = (parse_datetime("payment_posted_at_start", params.get("payment_posted_at_start")),
                  parse_datetime("payment_posted_at_end", params.get("payment_posted_at_end"),
                                 end_of_day=True))
        if types and "CARD" not in types:
            return []  # the sandbox company has card expenses only
        chain = self.records.expenses_purchased(*purchased)
        if not (statuses or payment_statuses or user_ids or any(updated) or any(posted)):
            return chain

        def select() -> list:
            return [e for e in chain
                    if (not statuses or e.status in statuses)
                    and (not payment_statuses or e.payment_status in payment_statuses)
                    and (not user_ids or e.user.user_id in user_ids)
                    and _between(e.updated_at, updated) and _between(e.payment_posted_at, posted)]
        key = ("expenses", purchased, statuses, payment_statuses, user_ids, updated, posted,
               self.records.edit_count)
        return self._cached(key, select)

    def _cached(self, key: tuple, build: Callable[[], list]) -> list:
        if key in self._views:
            self._views.move_to_end(key)
            return self._views[key]
        view = self._views[key] = build()
        if len(self._views) > VIEW_CACHE_SIZE:
            self._views.popitem(last=False)
        return view

    async def _get_expense(self, request: Request) -> dict:
        expense = self._expense_or_404(request.path_params["expense_id"])
        return self.renderer.expense(expense, _expansions(request.query_params.getlist("expand[]")))

    async def _update_memo(self, request: Request) -> dict:
        expense = self._expense_or_404(request.path_params["expense_id"])
        body = await _json(request)
        if not isinstance(body.get("memo"), str):
            raise bad_request("memo is required and must be a string")
        self._edit(expense, {"memo": body["memo"]})
        return self.renderer.expense(expense, frozenset())

    def _expense_or_404(self, expense_id: str):
        expense = self.records.expense(expense_id)
        if expense is None:
            raise ApiError(404, {"type": "NOT_FOUND", "message": "Not Found", "code": "EXPENSE_NOT_FOUND"})
        return expense

    def _edit(self, expense, changes: dict) -> None:
        self.records.edit(expense, changes, datetime.now(UTC))

    # -- vendors -----------------------------------------------------------------------------------

    async def _list_vendors(self, request: Request) -> dict:
        params = request.query_params
        limit = parse_limit(params.get("limit"), 100, MAX_PAGE)
        offset = decode_cursor(params.get("cursor"))
        rows = self.vendors.matching(params.get("name"))
        return page_body(rows[offset:offset + limit], offset, limit, len(rows))

    async def _create_vendor(self, request: Request) -> dict:
        key = request.headers.get("idempotency-key")
        if key and key in self.vendors.idempotent:
            return self.vendors.idempotent[key]
        return self.vendors.create(key, await _json(request) if key else None)

    async def _get_vendor(self, request: Request) -> dict:
        return self.vendors.get(request.path_params["vendor_id"])

    # -- accounting --------------------------------------------------------------------------------

    async def _accounting_records(self, request: Request) -> dict:
        return self.accounting.query(request.query_params)

    async def _accounting_record(self, request: Request) -> dict:
        single = (request.query_params.get("single_entry") or "false").lower() == "true"
        return self.accounting.get(request.path_params["record_id"], single)

    async def _export_results(self, request: Request) -> dict:
        try:
            body = await request.json()
        except ValueError as error:
            raise accounting_error(400, "INVALID_REQUEST", "request body must be JSON") from error
        return self.accounting.report_export_results(body, datetime.now(UTC))

    # -- team lookups ------------------------------------------------------------------------------

    async def _me(self, request: Request) -> dict:
        admin = self.company.employees[0]
        return {"id": admin.user_id, "first_name": admin.first_name, "last_name": admin.last_name,
                "email": admin.email, "status": "ACTIVE",
                "department_id": self.renderer.department_ids[admin.department],
                "location_id": self.renderer.location_ids[admin.location]}

    async def _departments(self, request: Request) -> dict:
        return self._named_page(request, self.renderer.department_ids)

    async def _locations(self, request: Request) -> dict:
        return self._named_page(request, self.renderer.location_ids)

    def _named_page(self, request: Request, ids: dict[str, str]) -> dict:
        params = request.query_params
        limit = parse_limit(params.get("limit"), 100, MAX_PAGE)
        offset = decode_cursor(params.get("cursor"))
        rows = [{"id": i, "name": n, "description": None} for n, i in ids.items()
                if not params.get("name") or params["name"] == n]
        return page_body(rows[offset:offset + limit], offset, limit, len(rows))

    async def _receipt_file(self, request: Request) -> Response:
        return Response(FAKE_RECEIPT, media_type="application/pdf")

    # -- control routes ----------------------------------------------------------------------------

    async def _edit_expense(self, request: Request) -> dict:
        expense = self._expense_or_404(request.path_params["expense_id"])
        body = await _json(request)
        changes: dict = {}
        if "amount" in body:
            if not isinstance(body["amount"], int) or isinstance(body["amount"], bool):
                raise bad_request("amount must be an integer in minor units of the purchase currency")
            changes["purchased_minor"] = body["amount"]
            changes["billing_minor"] = self.records.to_billing_minor(body["amount"], expense.currency)
        for name in ("memo", "category", "status"):
            if name in body:
                changes[name] = body[name]
        if not changes:
            raise bad_request("give at least one of amount, memo, category, status")
        ready_before = self.accounting.ready_for_export(expense.id)
        self._edit(expense, changes)
        self.events.expense_changed(expense, ready_before)
        return self.renderer.expense(expense, EXPENSE_EXPANSIONS)

    async def _create_expense(self, request: Request) -> dict:
        body = await _json(request)
        amount = body.get("amount")
        if not isinstance(amount, int) or isinstance(amount, bool) or amount == 0:
            raise bad_request("amount is required: a non-zero integer in minor units of the merchant's currency")
        purchased_at = parse_datetime("purchased_at", body.get("purchased_at")) or datetime.now(UTC)
        month = f"{purchased_at.year:04d}-{purchased_at.month:02d}"
        if month not in self.config.month_keys:
            raise bad_request(f"purchased_at must fall in one of the sandbox's months: "
                              f"{', '.join(self.config.month_keys)}")
        merchant = body.get("merchant", self.company.merchants[0].name)
        user_id = body.get("user_id", self.company.employees[0].user_id)
        if (merchant not in {m.name for m in self.company.merchants}
                or user_id not in {e.user_id for e in self.company.employees}):
            raise bad_request("merchant must name a sandbox merchant and user_id a sandbox user")
        expense = self.records.create({"month": month, "purchased_at": purchased_at.isoformat(), "amount": amount,
                                       "merchant": merchant, "user_id": user_id, "memo": body.get("memo")})
        self.events.expense_changed(expense, set())
        return self.renderer.expense(expense, EXPENSE_EXPANSIONS)

    async def _expire_tokens(self, request: Request) -> dict:
        return {"expired": self.auth.expire_all()}


async def _json(request: Request) -> dict:
    try:
        body = await request.json()
    except ValueError as error:
        raise bad_request("request body must be a JSON object") from error
    if not isinstance(body, dict):
        raise bad_request("request body must be a JSON object")
    return body


def _expansions(values: list[str]) -> frozenset[str]:
    unknown = [v for v in values if v not in EXPENSE_EXPANSIONS]
    if unknown:
        raise bad_request(f"expand[] does not accept {', '.join(unknown)}; "
                          f"use {', '.join(sorted(EXPENSE_EXPANSIONS))}")
    return frozenset(values)


def _enum_list(params, name: str, allowed: tuple[str, ...]) -> tuple[str, ...]:
    values = tuple(params.getlist(name))
    unknown = [v for v in values if v not in allowed]
    if unknown:
        raise bad_request(f"{name} does not accept {', '.join(unknown)}; use {', '.join(allowed)}")
    return values


def _between(value: datetime | None, bounds: tuple[datetime | None, datetime | None]) -> bool:
    start, end = bounds
    if start is None and end is None:
        return True
    if value is None:
        return False
    return (start is None or value >= start) and (end is None or value <= end)


async def _not_served(request: Request, exc: HTTPException) -> JSONResponse:
    if exc.status_code == 405:
        return JSONResponse({"type": "METHOD_NOT_ALLOWED", "message": "Method Not Allowed"}, status_code=405,
                            headers=exc.headers)
    return JSONResponse({"type": "NOT_FOUND", "message": "Not Found"}, status_code=404)
