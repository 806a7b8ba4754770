"""The Accounting API app: routing (paths match case-insensitively, as Xero's do), and the gate every call passes.

Order at the gate: count the call by endpoint; `Authorization: Bearer <token>` (missing, unknown or expired ->
401); `GET /connections` is tenantless and only counts against the app-wide minute; every other call needs
`xero-tenant-id` naming the sandbox's tenant (-> 403), passes the limits (-> 429), waits the configured latency,
then runs with `Idempotency-Key` handling on PUT and POST. Every answer carries `Xero-Correlation-Id`; tenant
answers carry the remaining-calls headers. Unknown paths and methods answer Xero's 404 text.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable
from typing import TYPE_CHECKING

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ml_connector.sandbox.xero.errors import XeroError, forbidden, not_found, unauthorized
from ml_connector.sandbox.xero.handlers import Call, Handlers
from ml_connector.sandbox.xero.limits import RateLimited
from ml_connector.sandbox.xero.queries import lowered
from ml_connector.sandbox.xero.wire import JSON_TYPE, correlation_id, error_response, json_text

if TYPE_CHECKING:
    from ml_connector.sandbox.xero import XeroSandbox

API = "api.xro/2.0/"
ATTACHABLE = "(?P<endpoint>Invoices|ManualJournals)"
METHODS = ["GET", "PUT", "POST", "DELETE", "PATCH"]


def rate_limited(problem: str, retry_after: int, headers: dict[str, str]) -> Response:
    """Xero's 429: empty body, Retry-After seconds and X-Rate-Limit-Problem."""
    return Response(b"", status_code=429, headers={**headers, "Retry-After": str(retry_after),
                                                   "X-Rate-Limit-Problem": problem})


class XeroApi:
    def __init__(self, sandbox: XeroSandbox, control_routes: list[Route]) -> None:
        self.sandbox = sandbox
        self.tenant = sandbox.ref.tenant_id
        h = Handlers(sandbox)
        table: list[tuple[str, str, Callable, str]] = [
            ("GET", "connections", h.connections, "GET /connections"),
            ("GET", API + "Organisation", h.organisation, "GET /Organisation"),
            ("GET", API + "Accounts", h.accounts, "GET /Accounts"),
            ("PUT", API + "Accounts", h.save_accounts, "PUT /Accounts"),
            ("GET", API + "Accounts/{id}", h.account, "GET /Accounts/{AccountID}"),
            ("POST", API + "Accounts/{id}", h.save_accounts, "POST /Accounts/{AccountID}"),
            ("GET", API + "TrackingCategories", h.tracking_categories, "GET /TrackingCategories"),
            ("PUT", API + "TrackingCategories", h.save_tracking_category, "PUT /TrackingCategories"),
            ("GET", API + "TrackingCategories/{id}", h.tracking_category, "GET /TrackingCategories/{id}"),
            ("POST", API + "TrackingCategories/{id}", h.save_tracking_category, "POST /TrackingCategories/{id}"),
            ("PUT", API + "TrackingCategories/{id}/Options", h.save_tracking_option,
             "PUT /TrackingCategories/{id}/Options"),
            ("POST", API + "TrackingCategories/{id}/Options/{option}", h.save_tracking_option,
             "POST /TrackingCategories/{id}/Options/{optionId}"),
            ("GET", API + "Currencies", h.currencies, "GET /Currencies"),
            ("PUT", API + "Currencies", h.save_currency, "PUT /Currencies"),
            ("GET", API + "TaxRates", h.tax_rates, "GET /TaxRates"),
            ("GET", API + "TaxRates/{id}", h.tax_rate, "GET /TaxRates/{TaxType}"),
            ("GET", API + "Contacts", h.contacts, "GET /Contacts"),
            ("PUT", API + "Contacts", h.save_contacts, "PUT /Contacts"),
            ("POST", API + "Contacts", h.save_contacts, "POST /Contacts"),
            ("GET", API + "Contacts/{id}", h.contact, "GET /Contacts/{ContactID}"),
            ("POST", API + "Contacts/{id}", h.save_contacts, "POST /Contacts/{ContactID}"),
            ("GET", API + "ManualJournals", h.journals, "GET /ManualJournals"),
            ("PUT", API + "ManualJournals", h.save_journals, "PUT /ManualJournals"),
            ("POST", API + "ManualJournals", h.save_journals, "POST /ManualJournals"),
            ("GET", API + "ManualJournals/{id}", h.journal, "GET /ManualJournals/{ManualJournalID}"),
            ("POST", API + "ManualJournals/{id}", h.save_journals, "POST /ManualJournals/{ManualJournalID}"),
            ("GET", API + "Invoices", h.invoices, "GET /Invoices"),
            ("PUT", API + "Invoices", h.save_invoices, "PUT /Invoices"),
            ("POST", API + "Invoices", h.save_invoices, "POST /Invoices"),
            ("GET", API + "Invoices/{id}", h.invoice, "GET /Invoices/{InvoiceID}"),
            ("POST", API + "Invoices/{id}", h.save_invoices, "POST /Invoices/{InvoiceID}"),
            ("GET", API + ATTACHABLE + "/{id}/Attachments", h.attachments, "GET /{Endpoint}/{id}/Attachments"),
            ("GET", API + ATTACHABLE + "/{id}/Attachments/{file}", h.attachment,
             "GET /{Endpoint}/{id}/Attachments/{FileName}"),
            ("PUT", API + ATTACHABLE + "/{id}/Attachments/{file}", h.upload,
             "PUT /{Endpoint}/{id}/Attachments/{FileName}"),
            ("POST", API + ATTACHABLE + "/{id}/Attachments/{file}", h.upload,
             "POST /{Endpoint}/{id}/Attachments/{FileName}"),
        ]
        self.routes = [(method, self._pattern(path), handler, endpoint) for method, path, handler, endpoint in table]
        self.app = Starlette(routes=[*control_routes, Route("/{path:path}", self.dispatch, methods=METHODS)])

    @staticmethod
    def _pattern(path: str) -> re.Pattern:
        regex = re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", path.replace(".", r"\."))
        return re.compile(regex, re.IGNORECASE)

    def _match(self, method: str, path: str) -> tuple[Callable, str, dict[str, str]] | None:
        for route_method, pattern, handler, endpoint in self.routes:
            found = pattern.fullmatch(path)
            if found and route_method == method:
                return handler, endpoint, found.groupdict()
        return None

    def _authenticate(self, request: Request, correlation: str) -> None:
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or self.sandbox.tokens.status(token.strip()) != "live":
            raise unauthorized(correlation)

    async def dispatch(self, request: Request) -> Response:
        sandbox = self.sandbox
        correlation = correlation_id()
        base = {"Xero-Correlation-Id": correlation}
        matched = self._match(request.method, request.path_params["path"].rstrip("/"))
        if matched is None:
            sandbox.count_request(f"{request.method} (unknown path)")
            return error_response(not_found(), base)
        handler, endpoint, path_params = matched
        sandbox.count_request(endpoint)
        try:
            self._authenticate(request, correlation)
        except XeroError as error:
            return error_response(error, base)
        limits = sandbox.limits
        tenant = None if endpoint == "GET /connections" else request.headers.get("xero-tenant-id", "").strip()
        if tenant is not None and tenant.lower() != self.tenant:
            return error_response(forbidden(correlation), base)
        counted = None if tenant is None else self.tenant  # the tenant whose limits this call counts against
        try:
            if counted is None:
                limits.enter_tenantless()
            else:
                limits.enter(counted)
        except RateLimited as refused:
            return rate_limited(refused.problem, refused.retry_after, {**base, **limits.headers(counted)})
        try:
            if sandbox.latency_seconds > 0:
                await asyncio.sleep(sandbox.latency_seconds)
            body = await request.body() if request.method in ("PUT", "POST") else b""
            call = Call(request.method, lowered(request.query_params), request.url.query, request.headers, body,
                        path_params, correlation)
            response = self._run(handler, call, request)
        finally:
            if counted is not None:
                limits.leave(counted)
        response.headers.update({**base, **limits.headers(counted)})
        return response

    def _run(self, handler: Callable, call: Call, request: Request) -> Response:
        """The handler's answer, through the idempotency cache for PUT and POST (no await: nothing interleaves)."""
        key = request.headers.get("idempotency-key") if call.method in ("PUT", "POST") else None
        cache = self.sandbox.idempotency
        fingerprint = cache.fingerprint(call.method, request.path_params["path"], call.query, call.body) \
            if key else ""
        try:
            replay = cache.check(self.tenant, key, fingerprint) if key else None
        except XeroError as error:
            return error_response(error, {})
        if replay is not None:
            status, text, media_type = replay
            return Response(text, status_code=status, media_type=media_type)
        try:
            result = handler(call)
        except XeroError as error:
            result = error_response(error, {})
        if not isinstance(result, Response):
            status, body = result
            result = Response(json_text(body), status_code=status, media_type=JSON_TYPE)
        if key and result.status_code < 500 and result.media_type != "application/octet-stream":
            cache.remember(self.tenant, key, fingerprint, result.status_code, result.body.decode(),
                           result.media_type)
        return result
