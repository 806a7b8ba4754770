"""The Books API v3 routes of the sandbox: the gate every call passes (auth, organisation, limits) and
the handlers for organisations, chart of accounts, contacts, reporting tags, currencies, taxes, locations,
transaction locks, journals and bills. Documented in `zoho.py`.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from decimal import Decimal
from email.parser import BytesParser
from email.policy import default as default_policy
from typing import TYPE_CHECKING
from urllib.parse import parse_qs

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ml_connector.sandbox.zoho_locations import location_row
from ml_connector.sandbox.zoho_queries import list_accounts, list_bills, list_contacts, list_journals
from ml_connector.sandbox.zoho_records import ZohoError, invalid, not_found_in_body, not_found_in_path, public
from ml_connector.sandbox.zoho_taxes import list_taxes, tax_detail
from ml_connector.sandbox.zoho_validation import LOCK_MODULES

if TYPE_CHECKING:
    from ml_connector.sandbox.zoho import ZohoSandbox

PREFIX = "/books/v3"
AUTH_INVALID = ZohoError(401, 14, "The request could not be authenticated as the authentication value you "
                                  "entered is invalid. Enter a valid authentication value and try again.")
NOT_AUTHORIZED = ZohoError(401, 57, "You are not authorized to perform this operation")
ATTACHMENT_TYPES = ("gif", "png", "jpeg", "jpg", "bmp", "pdf")

Handler = Callable[[Request], Awaitable[tuple[int, dict] | Response]]


def zoho_json(body: dict, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    """A JSON response with Zoho's content type; Decimals (from echoed input) become numbers."""
    text = json.dumps(body, default=lambda o: float(o) if isinstance(o, Decimal) else str(o))
    return Response(text, status_code=status, headers=headers, media_type="application/json;charset=UTF-8")


def ok(**payload: object) -> tuple[int, dict]:
    return 200, {"code": 0, "message": "success", **payload}


async def read_json_body(request: Request) -> dict:
    """The request's JSON object: a JSON body, or the legacy `JSONString` form field."""
    raw = await request.body()
    if request.headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
        raw = parse_qs(raw.decode(), keep_blank_values=True).get("JSONString", [""])[-1].encode()
    try:
        body = json.loads(raw or b"{}", parse_float=Decimal)
    except (ValueError, UnicodeDecodeError):
        body = None
    if not isinstance(body, dict):
        raise ZohoError(400, 1038, "JSON is not well formed")
    return body


def lock_wire(module: str, lock: dict, locked_by: str) -> dict:
    if lock.get("status", "disabled") == "disabled":
        return {"transaction_lock_status": "disabled", "lock_scope_formatted": module.title(),
                "transaction_lock_module": module}
    return {
        "transaction_lock_id": lock["transaction_lock_id"], "accounting_period_id": "",
        "transaction_lock_status": lock["status"], "transaction_lock_date": lock["date"],
        "lock_status": "locked", "lock_scope": LOCK_MODULES.index(module) + 1,
        "lock_scope_formatted": module.replace("_", " ").title(), "lock_status_formatted": "Locked",
        "partial_lock_number": 0, "accounting_period_name": "", "fiscal_year_name": "", "start_date": "",
        "end_date": lock["date"], "status": "active", "is_adjustment_period": False, "locked_by": locked_by,
        "user_exceptions": [], "user_exceptions_count": 0, "account_exceptions": [],
        "account_exceptions_count": 0, "reason": lock["reason"], "active_lock_summary": {},
        "transaction_lock_module": module,  # not in the OAS shape; lets a client see which module it is
    }


class BooksApi:
    def __init__(self, sandbox: ZohoSandbox) -> None:
        self.sandbox = sandbox
        self.ref = sandbox.ref
        self.store = sandbox.store

    def routes(self) -> list[Route]:
        table: list[tuple[str, str, Handler, bool]] = [
            ("GET", "/organizations", self.organizations, False),
            ("GET", "/organizations/{organization_id}", self.organization, False),
            ("GET", "/chartofaccounts", self.accounts, True),
            ("GET", "/chartofaccounts/{account_id}", self.account, True),
            ("GET", "/contacts", self.contacts, True),
            ("POST", "/contacts", self.create_contact, True),
            ("GET", "/contacts/{contact_id}", self.contact, True),
            ("GET", "/reportingtags", self.reporting_tags, True),
            ("GET", "/reportingtags/options", self.tag_options, True),
            ("GET", "/reportingtags/{tag_id}/options/all", self.all_tag_options, True),
            ("GET", "/settings/currencies", self.currencies, True),
            ("GET", "/settings/taxes", self.taxes, True),
            ("GET", "/settings/taxes/{tax_id}", self.tax, True),
            ("GET", "/locations", self.locations, True),
            ("GET", "/transactionlocks", self.transaction_locks, True),
            ("GET", "/transactionlock", self.transaction_lock, True),
            ("PUT", "/transactionlock", self.update_transaction_lock, True),
            ("DELETE", "/transactionlock", self.delete_transaction_lock, True),
            ("POST", "/journals", self.create_journal, True),
            ("GET", "/journals", self.journals, True),
            ("GET", "/journals/{journal_id}", self.journal, True),
            ("PUT", "/journals/{journal_id}", self.update_journal, True),
            ("DELETE", "/journals/{journal_id}", self.delete_journal, True),
            ("POST", "/bills", self.create_bill, True),
            ("GET", "/bills", self.bills, True),
            ("GET", "/bills/{bill_id}", self.bill, True),
            ("PUT", "/bills/{bill_id}", self.update_bill, True),
            ("POST", "/bills/{bill_id}/status/void", self.void_bill, True),
            ("POST", "/bills/{bill_id}/status/open", self.open_bill, True),
            ("DELETE", "/bills/{bill_id}", self.delete_bill, True),
            ("POST", "/bills/{bill_id}/attachment", self.attach_to_bill, True),
            ("GET", "/bills/{bill_id}/attachment", self.bill_attachment, True),
        ]
        return [Route(PREFIX + path, self.gate(f"{method} {path}", handler, needs_org), methods=[method])
                for method, path, handler, needs_org in table]

    async def unknown_url(self, request: Request, exc: Exception) -> Response:
        return zoho_json({"code": 5, "message": "Invalid URL Passed"}, 404)

    def authenticate(self, request: Request) -> None:
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        if scheme != "Zoho-oauthtoken" or not token.strip():
            raise AUTH_INVALID
        status = self.sandbox.tokens.status(token.strip())
        if status == "dead":
            raise NOT_AUTHORIZED
        if status == "unknown":
            raise AUTH_INVALID

    def check_organization(self, request: Request) -> None:
        org = request.query_params.get("organization_id")
        if not org:  # UNCONFIRMED code and text
            raise ZohoError(400, 2, "organization_id is required. Send it as a query parameter on every call "
                                    "except GET /organizations.")
        if org != self.ref.organization_id:
            raise invalid("organization_id", "No organization with this id is accessible with this token.")

    def gate(self, endpoint: str, handler: Handler, needs_org: bool):
        sandbox = self.sandbox
        org = self.ref.organization_id  # the token's organisation: limits are counted against it

        async def run(request: Request) -> Response:
            sandbox.count_request(endpoint)
            try:
                self.authenticate(request)
            except ZohoError as error:
                return zoho_json(error.body(), error.status)  # unauthenticated: no rate-limit headers
            try:
                sandbox.limits.enter(org)
            except ZohoError as error:
                return zoho_json(error.body(), error.status, sandbox.limits.headers(org))
            try:
                if sandbox.latency_seconds > 0:
                    await asyncio.sleep(sandbox.latency_seconds)
                if needs_org:
                    self.check_organization(request)
                result = await handler(request)
            except ZohoError as error:
                result = (error.status, error.body())
            finally:
                sandbox.limits.leave(org)
            headers = sandbox.limits.headers(org)
            if isinstance(result, Response):  # a file download
                result.headers.update(headers)
                return result
            status, body = result
            if status == 201 and "location" in body:
                headers["Location"] = body.pop("location")
            return zoho_json(body, status, headers)

        return run

    # --- organisations and reference data -------------------------------------------------------

    async def organizations(self, request: Request) -> tuple[int, dict]:
        return ok(organizations=[self.ref.organization()])

    async def organization(self, request: Request) -> tuple[int, dict]:
        if request.path_params["organization_id"] != self.ref.organization_id:
            raise not_found_in_path("Organization")
        return ok(organization=self.ref.organization())

    async def accounts(self, request: Request) -> tuple[int, dict]:
        rows, context = list_accounts(self.ref, request.query_params)
        return ok(chartofaccounts=rows, page_context=context)

    async def account(self, request: Request) -> tuple[int, dict]:
        account_id = request.path_params["account_id"]
        if account_id not in self.ref.accounts:
            raise not_found_in_path("Account")
        return ok(chart_of_account=self.ref.chart_of_account_detail(account_id))

    async def reporting_tags(self, request: Request) -> tuple[int, dict]:
        return ok(reporting_tags=[self.ref.reporting_tag_row(t) for t in self.ref.tags.values()])

    def _tag(self, tag_id: str | None):
        if not tag_id:
            raise invalid("tag_id", "Send the tag_id of a reporting tag.")
        tag = self.ref.tags.get(tag_id)
        if tag is None:
            raise not_found_in_body("Reporting tag")
        return tag

    async def tag_options(self, request: Request) -> tuple[int, dict]:
        return ok(**self.ref.tag_options_page(self._tag(request.query_params.get("tag_id"))))

    async def all_tag_options(self, request: Request) -> tuple[int, dict]:
        tag = self._tag(request.path_params["tag_id"])
        results = [{"option_id": o.option_id, "option_name": o.name, "depth": 0} for o in tag.options]
        if request.query_params.get("show_untagged") == "true":
            results.append({"option_id": "untagged", "option_name": "Untagged", "depth": 0})
        return ok(results=results)

    async def currencies(self, request: Request) -> tuple[int, dict]:
        exclude_base = request.query_params.get("filter_by") == "Currencies.ExcludeBaseCurrency"
        rows = [self.ref.currency_row(c) for c in sorted(self.ref.currencies.values(),
                                                         key=lambda c: c.currency.code)
                if not (exclude_base and c.is_base)]
        return ok(currencies=rows, page_context={"page": 1, "per_page": 200, "has_more_page": False,
                                                 "report_name": "Currencies"})

    async def taxes(self, request: Request) -> tuple[int, dict]:
        rows, context = list_taxes(self.ref.taxes, self.ref.profile, request.query_params, self.ref.now().date())
        return ok(taxes=rows, page_context=context)

    async def tax(self, request: Request) -> tuple[int, dict]:
        return ok(tax=tax_detail(self.ref.taxes, self.ref.profile, request.path_params["tax_id"]))

    async def locations(self, request: Request) -> tuple[int, dict]:
        email = self.ref.organization()["email"]
        return ok(locations=[location_row(loc, email) for loc in self.ref.locations.values()])

    # --- transaction locks ----------------------------------------------------------------------

    def _locks(self) -> list[dict]:
        with self.store.lock:
            return [lock_wire(m, lock, self.ref.user_name) for m, lock in self.store.locks.items()]

    async def transaction_locks(self, request: Request) -> tuple[int, dict]:
        return ok(transaction_locks=self._locks(),
                  page_context={"page": 1, "per_page": 200, "has_more_page": False,
                                "applied_filter": "Status.All", "sort_column": "transaction_lock_date",
                                "sort_order": "D"})

    async def transaction_lock(self, request: Request) -> tuple[int, dict]:
        wanted = request.query_params.get("transaction_lock_id")
        locks = self._locks()
        if wanted:
            locks = [lock for lock in locks if lock.get("transaction_lock_id") == wanted]
            if not locks:
                raise not_found_in_path("Transaction lock")
        if not locks:
            return ok(transaction_lock={"transaction_lock_status": "disabled"})
        return ok(transaction_lock=max(locks, key=lambda lock: lock["transaction_lock_date"]))

    async def update_transaction_lock(self, request: Request) -> tuple[int, dict]:
        body = await read_json_body(request)
        lock = self.store.set_lock(body)
        return 200, {"code": 0, "message": "Transaction lock has been updated.",
                     "transaction_lock": lock_wire(body["transaction_lock_module"], lock, self.ref.user_name)}

    async def delete_transaction_lock(self, request: Request) -> tuple[int, dict]:
        lock_id = request.query_params.get("transaction_lock_id")
        if not lock_id:
            raise invalid("transaction_lock_id", "Send the transaction_lock_id to delete.")
        self.store.delete_lock(lock_id)
        return 200, {"code": 0, "message": "The transaction lock has been deleted."}

    # --- contacts -------------------------------------------------------------------------------

    async def contacts(self, request: Request) -> tuple[int, dict]:
        rows, context = list_contacts(self.store, request.query_params)
        return ok(contacts=rows, page_context=context)

    async def create_contact(self, request: Request) -> tuple[int, dict]:
        record = self.store.create_contact(await read_json_body(request))
        return 201, {"code": 0, "message": "The contact has been added.", "contact": public(record),
                     "location": f"/api/v3/contacts/{record['contact_id']}"}

    async def contact(self, request: Request) -> tuple[int, dict]:
        found = self.store.contacts.get(request.path_params["contact_id"])
        if found is None:
            raise not_found_in_path("Contact")
        return ok(contact=public(found))

    # --- journals -------------------------------------------------------------------------------

    async def create_journal(self, request: Request) -> tuple[int, dict]:
        record = self.store.create_journal(await read_json_body(request))
        return 201, {"code": 0, "message": "The journal entry has been created.", "journal": public(record),
                     "location": f"/api/v3/journals/{record['journal_id']}"}

    async def journals(self, request: Request) -> tuple[int, dict]:
        rows, context = list_journals(self.store, request.query_params)
        return ok(journals=rows, page_context=context)

    async def journal(self, request: Request) -> tuple[int, dict]:
        return ok(journal=public(self.store.journal(request.path_params["journal_id"])))

    async def update_journal(self, request: Request) -> tuple[int, dict]:
        record = self.store.update_journal(request.path_params["journal_id"], await read_json_body(request))
        return 200, {"code": 0, "message": "The journal entry has been updated.", "journal": public(record)}

    async def delete_journal(self, request: Request) -> tuple[int, dict]:
        self.store.delete_journal(request.path_params["journal_id"])
        return 200, {"code": 0, "message": "The selected journal entry has been deleted."}

    # --- bills ----------------------------------------------------------------------------------

    async def create_bill(self, request: Request) -> tuple[int, dict]:
        record = self.store.create_bill(await read_json_body(request))
        return 201, {"code": 0, "message": "The bill has been created.", "bill": public(record),
                     "location": f"/api/v3/bills/{record['bill_id']}"}

    async def bills(self, request: Request) -> tuple[int, dict]:
        rows, context = list_bills(self.store, request.query_params)
        return ok(bills=rows, page_context=context)

    async def bill(self, request: Request) -> tuple[int, dict]:
        return ok(bill=public(self.store.bill(request.path_params["bill_id"])))

    async def update_bill(self, request: Request) -> tuple[int, dict]:
        record = self.store.update_bill(request.path_params["bill_id"], await read_json_body(request))
        return 200, {"code": 0, "message": "Bill information has been updated.", "bill": public(record)}

    async def void_bill(self, request: Request) -> tuple[int, dict]:
        """HTTP 201, as bills.yml answers the status changes (no recording)."""
        self.store.set_bill_status(request.path_params["bill_id"], "void")
        return 201, {"code": 0, "message": "The bill has been marked as void."}

    async def open_bill(self, request: Request) -> tuple[int, dict]:
        self.store.set_bill_status(request.path_params["bill_id"], "open")
        # bills.yml's own status (201) and example text, typo included.
        return 201, {"code": 0, "message": "The status of the bill has been chaged to open."}

    async def delete_bill(self, request: Request) -> tuple[int, dict]:
        self.store.delete_bill(request.path_params["bill_id"])
        return 200, {"code": 0, "message": "The bill has been deleted."}

    async def attach_to_bill(self, request: Request) -> tuple[int, dict]:
        bill_id = request.path_params["bill_id"]
        self.store.bill(bill_id)  # 404 before reading a large body
        content_type = request.headers.get("content-type", "")
        if not content_type.startswith("multipart/form-data"):
            raise invalid("attachment", "Send the file as multipart/form-data in the field 'attachment'.")
        message = BytesParser(policy=default_policy).parsebytes(
            f"Content-Type: {content_type}\r\n\r\n".encode() + await request.body())
        part = next((p for p in message.iter_parts()
                     if p.get_param("name", header="content-disposition") == "attachment"), None)
        if part is None or not part.get_filename():
            raise invalid("attachment", "Send the file as multipart/form-data in the field 'attachment'.")
        file_name = part.get_filename()
        extension = file_name.rsplit(".", 1)[-1].lower() if "." in file_name else ""
        if extension not in ATTACHMENT_TYPES:  # UNCONFIRMED code and text; allowed types from bills.yml
            raise invalid("attachment", f"Allowed file types: {', '.join(ATTACHMENT_TYPES)}.")
        self.store.attach_to_bill(bill_id, file_name, extension, part.get_payload(decode=True) or b"")
        return 201, {"code": 0, "message": "The document has been attached."}

    async def bill_attachment(self, request: Request) -> Response:
        record = self.store.bill(request.path_params["bill_id"])
        if not record["documents"]:
            raise not_found_in_path("Attachment")
        document = self.store.attachments[record["documents"][-1]["document_id"]]
        media_type = "application/pdf" if document["file_type"] == "pdf" else f"image/{document['file_type']}"
        return Response(bytes.fromhex(document["content"]), media_type=media_type,
                        headers={"Content-Disposition": f'attachment; filename="{document["file_name"]}"'})

