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

Control routes for tests (no auth, never faulted):
  POST /_sandbox/expenses/{id}     {amount?, memo?, category?, status?}: edit an expense as if someone
                                   changed it after posting; `amount` is minor units of the purchase
                                   currency; bumps updated_at and version
  POST /_sandbox/webhooks/emit     {event_type?, expense_id?, accounting_record_ids?, payload?, url?,
                                   webhook_id?, timestamp?}: deliver one signed event now, to `url` or to
                                   every subscriber of the event type; answers each delivery's status
  POST /_sandbox/expire-tokens     expire every OAuth access token issued so far
  POST /_sandbox/rotate-webhook-secret   new ACTIVE secret, the old one PENDING_REVOKE

Auth, token expiry and the rate limit (1,000 requests per 60 s per token, limit_overrides key
"brex.per_minute") are in brex_auth.py, with the error bodies chosen where Brex documents none.
"""

from __future__ import annotations

import secrets
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp

from ml_connector.sandbox.brex_accounting import BrexAccounting, accounting_error
from ml_connector.sandbox.brex_auth import BrexAuth, too_many_requests
from ml_connector.sandbox.brex_data import BrexRecords, Chain, apply_edit, to_usd_minor
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
from ml_connector.sandbox.brex_webhooks import EVENT_TYPES, BrexWebhooks
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
        self.records = BrexRecords(company, config.month_keys, config.brex_expenses_per_month)
        self.renderer = BrexRenderer(company, config.public_url)
        self.accounting = BrexAccounting(self.records, self.renderer)
        self.vendors = BrexVendors(company)
        self.webhooks = BrexWebhooks(company.seed, self.credentials.brex_webhook_secret)
        self.auth = BrexAuth(config)
        self._views: OrderedDict[tuple, list] = OrderedDict()
        app = Starlette(routes=self._routes())
        self.apps: dict[str, ASGIApp] = {
            "brex": FaultMiddleware(app, faults, rate_limited=lambda: too_many_requests(1))}

    # -- state -------------------------------------------------------------------------------------

    def dump(self) -> dict:
        return {"vendors": self.vendors.dump(), "edits": self.records.edits,
                "access_tokens": self.auth.access_tokens, "exports": self.accounting.exports,
                "webhooks": self.webhooks.dump()}

    def load(self, data: dict) -> None:
        self.vendors.load(data.get("vendors", {}))
        self.auth.access_tokens = {k: float(v) for k, v in data.get("access_tokens", {}).items()}
        self.accounting.exports = dict(data.get("exports", {}))
        self.webhooks.load(data.get("webhooks", {}))
        self.records.edits = dict(data.get("edits", {}))
        for expense_id, changes in self.records.edits.items():
            expense = self.records.expense(expense_id)
            if expense is not None:
                apply_edit(expense, changes)
        self.records.edit_count += 1

    # -- plumbing ----------------------------------------------------------------------------------

    def _routes(self) -> list[Route]:
        api, acct = self._api, self._accounting_api
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
            Route("/v1/webhooks/secrets", api(self._webhook_secrets)),
            Route("/v1/webhooks", api(self._list_webhooks), methods=["GET"]),
            Route("/v1/webhooks", api(self._create_webhook), methods=["POST"]),
            Route("/v1/webhooks/{subscription_id}", api(self._one_webhook), methods=["GET", "PUT", "DELETE"]),
            Route("/v2/users/me", api(self._me)),
            Route("/v2/departments", api(self._departments)),
            Route("/v2/locations", api(self._locations)),
            Route("/files/receipts/{name}", self._receipt_file),
            Route("/_sandbox/expenses/{expense_id}", self._control(self._edit_expense), methods=["POST"]),
            Route("/_sandbox/webhooks/emit", self._control(self._emit), methods=["POST"]),
            Route("/_sandbox/expire-tokens", self._control(self._expire_tokens), methods=["POST"]),
            Route("/_sandbox/rotate-webhook-secret", self._control(self._rotate_secret), methods=["POST"]),
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

    # -- webhooks ----------------------------------------------------------------------------------

    async def _webhook_secrets(self, request: Request) -> list:
        return self.webhooks.secrets()

    async def _list_webhooks(self, request: Request) -> dict:
        params = request.query_params
        limit = parse_limit(params.get("limit"), 100, MAX_PAGE)
        offset = decode_cursor(params.get("cursor"))
        rows = list(self.webhooks.subscriptions.values())
        return page_body(rows[offset:offset + limit], offset, limit, len(rows))

    async def _create_webhook(self, request: Request) -> dict:
        key = request.headers.get("idempotency-key")
        if not key:
            raise bad_request("Idempotency-Key header is required for POST /v1/webhooks")
        if key in self.webhooks.idempotent:
            return self.webhooks.idempotent[key]
        body = _subscription_body(await _json(request))
        self.webhooks.idempotent[key] = subscription = self.webhooks.create(body)
        return subscription

    async def _one_webhook(self, request: Request) -> object:
        subscription = self.webhooks.subscriptions.get(request.path_params["subscription_id"])
        if subscription is None:
            raise ApiError(404, {"type": "NOT_FOUND", "message": "Not Found"})
        if request.method == "DELETE":
            del self.webhooks.subscriptions[subscription["id"]]
            return Response(status_code=200)
        if request.method == "PUT":
            body = _subscription_body(await _json(request))
            if body.get("status") not in ("ACTIVE", "INACTIVE"):
                raise bad_request("status is required: ACTIVE or INACTIVE")
            subscription.update(url=body["url"], event_types=list(body["event_types"]), status=body["status"])
        return subscription

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
            changes["billing_minor"] = to_usd_minor(self.company, body["amount"], expense.currency)
        for name in ("memo", "category", "status"):
            if name in body:
                changes[name] = body[name]
        if not changes:
            raise bad_request("give at least one of amount, memo, category, status")
        self._edit(expense, changes)
        return self.renderer.expense(expense, EXPENSE_EXPANSIONS)

    async def _emit(self, request: Request) -> dict:
        body = await _json(request)
        event_type = body.get("event_type", "EXPENSE_PAYMENT_UPDATED")
        if event_type not in EVENT_TYPES:
            raise bad_request(f"event_type must be one of {', '.join(EVENT_TYPES)}")
        payload = dict(body.get("payload") or {})
        if event_type == "EXPENSE_PAYMENT_UPDATED" and body.get("expense_id"):
            expense = self._expense_or_404(body["expense_id"])
            payload = self.renderer.expense_payment_updated(expense, payload)
        elif event_type == "ACCOUNTING_RECORD_READY_FOR_EXPORT":
            record_ids = list(body.get("accounting_record_ids", []))
            payload = {"event_type": event_type, "accountingRecordIds": record_ids,
                       "companyId": self.renderer.company_id, **payload}
        payload.setdefault("event_type", event_type)
        urls = [body["url"]] if body.get("url") else self.webhooks.targets(event_type)
        deliveries = []
        for url in urls:
            # Delivery blocks on the receiver, which may be served by this very event loop.
            deliveries.append(await run_in_threadpool(
                self.webhooks.deliver, url, payload, body.get("webhook_id"), body.get("timestamp")))
        return {"event_type": event_type, "payload": payload, "deliveries": deliveries}

    async def _expire_tokens(self, request: Request) -> dict:
        return {"expired": self.auth.expire_all()}

    async def _rotate_secret(self, request: Request) -> dict:
        return {"secrets": self.webhooks.rotate()}


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


def _subscription_body(body: dict) -> dict:
    url, event_types = body.get("url"), body.get("event_types")
    if not isinstance(url, str) or not url.startswith(("https://", "http://127.0.0.1", "http://localhost")):
        # Brex requires HTTPS; the sandbox also takes local http so tests can receive deliveries.
        raise bad_request("url is invalid: it must be an HTTPS URL")
    if not isinstance(event_types, list) or not event_types:
        raise bad_request("event_types must list at least one event type")
    unknown = [e for e in event_types if e not in EVENT_TYPES]
    if unknown:
        raise bad_request(f"event_types does not accept {', '.join(map(str, unknown))}")
    return body

