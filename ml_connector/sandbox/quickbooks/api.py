"""The Accounting API v3 routes of the sandbox, `/v3/company/{realmId}/...`, and the gate every call passes.

Gate, in order: `Authorization: Bearer <token>` (missing, not Bearer, never issued, expired or killed ->
401 from the gateway, lower-case envelope code 3200, `www-authenticate: Bearer realm="Intuit",
error="invalid_token"`; the Detail says which, never echoing the token); the realm in the path must be the
token's company (else 401 AuthenticationFault code 100, as Intuit staff reproduced for a wrong realm);
limits (`limits`, 429 code 3001); `minorversion` (absent or below 75 is served as 75, as Intuit announced
for 2025-08-01; a value that is not a whole number is 400 code 2040, UNCONFIRMED); `requestid` replay on
writes (`idempotency`). Every answer carries an `intuit_tid` header. Unknown paths answer 404 code 2000.

Routes: POST and GET-by-id for journalentry, bill, vendor, account, class, department, attachable;
GET taxcode/{id}, taxrate/{id}, companyinfo/{realmId}, preferences; GET|POST query; POST upload; GET
download/{id}. POST bodies are the bare entity (`{"Line": [...], ...}`); answers wrap it by name with `time`.
`operation=delete|void` (and `include=void`, `include=allowduplicatedocnum`) as `transactions` describes.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from decimal import Decimal
from typing import TYPE_CHECKING

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ml_connector.sandbox.quickbooks import errors, transactions
from ml_connector.sandbox.quickbooks.attachments import delete_attachable, save_note, upload
from ml_connector.sandbox.quickbooks.idempotency import RequestLog
from ml_connector.sandbox.quickbooks.limits import Throttled
from ml_connector.sandbox.quickbooks.names import save_account, save_tracking, save_vendor
from ml_connector.sandbox.quickbooks.schema import check_declared
from ml_connector.sandbox.quickbooks.search import run_query
from ml_connector.sandbox.quickbooks.store import TRANSACTION_TYPES, RealmBooks, public
from ml_connector.sandbox.quickbooks.wire import (
    JSON_TYPE,
    JSON_TYPE_UTF8,
    intuit_tid,
    qbo_response,
    response_time,
    to_json,
)

if TYPE_CHECKING:
    from ml_connector.sandbox.quickbooks.sandbox import QuickBooksSandbox

PREFIX = "/v3/company/{realm_id}"
MINOR_VERSION = 75
Handler = Callable[[Request, RealmBooks], Awaitable[tuple[int, dict] | Response]]


async def json_body(request: Request) -> dict:
    raw = await request.body()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise errors.QboFault("500", "Unsupported Operation", "The request body is not UTF-8.") from None
    try:
        body = json.loads(text or "null", parse_float=Decimal)
    except ValueError as exc:
        raise errors.malformed_body(f"not well-formed JSON ({exc.msg} at position {exc.pos})") from None
    if not isinstance(body, dict):
        raise errors.malformed_body("send the entity as a JSON object")
    return body


def check_minor_version(request: Request) -> int:
    value = request.query_params.get("minorversion")
    if value is None:
        return MINOR_VERSION
    if not value.isdigit():
        raise errors.invalid_minor_version(value)
    return max(int(value), MINOR_VERSION)


def gateway_401(detail: str) -> Response:
    return qbo_response(errors.token_failure_body(detail), 401, headers=errors.WWW_AUTHENTICATE)


class AccountingApi:
    def __init__(self, sandbox: QuickBooksSandbox) -> None:
        self.sandbox = sandbox

    def routes(self) -> list[Route]:
        table: list[tuple[str, str, Handler]] = []
        for entity in ("JournalEntry", "Bill", "Vendor", "Account", "Class", "Department", "Attachable"):
            table += [("POST", f"/{entity.lower()}", self.writer(entity)),
                      ("GET", f"/{entity.lower()}/{{entity_id}}", self.reader(entity))]
        table += [("GET", "/taxcode/{entity_id}", self.reader("TaxCode")),
                  ("GET", "/taxrate/{entity_id}", self.reader("TaxRate")),
                  ("GET", "/companyinfo/{entity_id}", self.company_info),
                  ("GET", "/preferences", self.preferences),
                  ("GET", "/query", self.query), ("POST", "/query", self.query),
                  ("POST", "/upload", self.upload), ("GET", "/download/{entity_id}", self.download)]
        return [Route(PREFIX + path, self.gate(f"{method} /v3/company/{{realmId}}{path}", handler, method),
                      methods=[method]) for method, path, handler in table]

    async def unknown_route(self, request: Request, exc: Exception) -> Response:
        fault = errors.unknown_route(request.url.path)
        return qbo_response(fault.body(response_time(self.sandbox.profile.zone)), fault.status)

    # --- the gate ------------------------------------------------------------------------------------

    def gate(self, endpoint: str, handler: Handler, method: str):
        sandbox = self.sandbox
        content_type = JSON_TYPE if method == "POST" else JSON_TYPE_UTF8
        is_write = method == "POST" and not endpoint.endswith("/query")

        async def answer(request: Request, books: RealmBooks) -> tuple[int, str, str]:
            try:
                result = await handler(request, books)
            except errors.QboFault as fault:
                result = (fault.status, fault.body(response_time(books.zone)))
            if isinstance(result, Response):
                return result.status_code, result.body.decode(), result.media_type or content_type
            status, body = result
            return status, to_json(body), content_type

        async def run(request: Request) -> Response:
            sandbox.count_request(endpoint)
            scheme, _, token = request.headers.get("authorization", "").partition(" ")
            token = token.strip()
            if scheme.lower() != "bearer" or not token:
                return gateway_401("Authorization header is missing or does not use the Bearer scheme")
            status, token_realm = sandbox.tokens.status(token)
            if status == "unknown":
                return gateway_401("Token invalid: it was not issued by this server")
            if status == "expired":
                return gateway_401("Token expired")
            realm = request.path_params["realm_id"]
            books = sandbox.realms.get(realm)
            if books is None or realm != token_realm:
                fault = errors.wrong_realm()
                return qbo_response(fault.body(response_time(sandbox.profile.zone)), fault.status)
            try:
                sandbox.limits.enter(realm)
            except Throttled:
                return qbo_response(errors.throttled_body(), 429)
            try:
                if sandbox.latency_seconds > 0:
                    await asyncio.sleep(sandbox.latency_seconds)
                request_id = request.query_params.get("requestid")
                try:
                    check_minor_version(request)
                    if request_id is not None:
                        RequestLog.check(request_id)
                    replay = sandbox.requests.begin(realm, request_id) if is_write and request_id else None
                except errors.QboFault as fault:
                    return qbo_response(fault.body(response_time(books.zone)), fault.status, content_type)
                if replay is not None:
                    return Response(replay["body"], replay["status"], media_type=replay["type"],
                                    headers={"intuit_tid": intuit_tid()})
                recorded = None
                try:
                    status_code, text, media_type = await answer(request, books)
                    recorded = {"status": status_code, "body": text, "type": media_type}
                finally:
                    if is_write and request_id:
                        sandbox.requests.finish(realm, request_id, recorded)
                return Response(text, status_code, media_type=media_type, headers={"intuit_tid": intuit_tid()})
            finally:
                sandbox.limits.leave(realm)

        return run

    # --- handlers ------------------------------------------------------------------------------------

    def reader(self, entity: str) -> Handler:
        async def read(request: Request, books: RealmBooks) -> tuple[int, dict]:
            record = books.get(entity, request.path_params["entity_id"])
            if record is None:
                raise errors.inactive_or_missing("Id")
            return 200, {entity: public(record), "time": response_time(books.zone)}

        return read

    def writer(self, entity: str) -> Handler:
        public_url = self.sandbox.config.public_url

        async def write(request: Request, books: RealmBooks) -> tuple[int, dict]:
            body = await json_body(request)
            check_declared(body, entity)
            params = request.query_params
            operation = params.get("operation")
            include = set(params.get("include", "").split(","))
            if operation not in (None, "create", "update", "delete", "void"):
                raise errors.unsupported_operation(f"{operation} is not supported; use create, update, delete "
                                                   "or void.")
            if entity in TRANSACTION_TYPES:
                allow_duplicate = "allowduplicatedocnum" in include
                if operation == "delete":
                    result = transactions.delete(books, entity, body)
                elif operation == "void" or "void" in include:
                    result = transactions.void(books, entity, body)
                elif body.get("Id") is not None:
                    result = transactions.update(books, entity, body, allow_duplicate)
                else:
                    result = transactions.create(books, entity, body, allow_duplicate)
            elif entity == "Attachable":
                result = delete_attachable(books, body) if operation == "delete" else save_note(books, body,
                                                                                                  public_url)
            elif operation in ("delete", "void"):
                raise errors.unsupported_operation(f"{operation} is not supported for {entity}. Make it inactive "
                                                   "with a sparse update setting Active to false.")
            elif entity == "Vendor":
                result = save_vendor(books, body)
            elif entity == "Account":
                result = save_account(books, body)
            else:
                result = save_tracking(books, entity, body)
            return 200, {entity: public(result), "time": response_time(books.zone)}

        return write

    async def company_info(self, request: Request, books: RealmBooks) -> tuple[int, dict]:
        if request.path_params["entity_id"] != books.realm_id:
            raise errors.inactive_or_missing("Id")
        return 200, {"CompanyInfo": books.company_info, "time": response_time(books.zone)}

    async def preferences(self, request: Request, books: RealmBooks) -> tuple[int, dict]:
        return 200, {"Preferences": books.preferences(), "time": response_time(books.zone)}

    async def query(self, request: Request, books: RealmBooks) -> tuple[int, dict]:
        statement = request.query_params.get("query")
        if statement is None and request.method == "POST":
            statement = (await request.body()).decode("utf-8", "replace")
        if not statement or not statement.strip():
            raise errors.query_parse("Send the statement in the query parameter (GET) or as the body (POST).")
        return 200, {"QueryResponse": run_query(books, statement), "time": response_time(books.zone)}

    async def upload(self, request: Request, books: RealmBooks) -> tuple[int, dict]:
        limit = int(self.sandbox.config.limit("quickbooks.upload_max_bytes", 100 * 1024 * 1024))
        items = upload(books, request.headers.get("content-type", ""), await request.body(), limit,
                       self.sandbox.config.public_url)
        return 200, {"AttachableResponse": items, "time": response_time(books.zone)}

    async def download(self, request: Request, books: RealmBooks) -> Response:
        record = books.get("Attachable", request.path_params["entity_id"])
        if record is None or "TempDownloadUri" not in record:
            raise errors.inactive_or_missing("Id")
        return Response(record["TempDownloadUri"], media_type="text/plain")
