"""QuickBooks' two error envelopes and every fault the sandbox answers, in one place.

The data service answers `{"Fault": {"Error": [{"Message", "Detail", "code", "element"}], "type":
"ValidationFault"}, "time": ...}` (notes section 4; XSD `Fault`/`Error`), HTTP 400 unless noted. The gateway
in front of it (tokens, throttling) answers a lower-case serialisation of the same objects:
`{"warnings": null, "intuitObject": null, "fault": {"error": [{"message", "detail", "code", "element"}],
"type": ...}, ..., "time": <epoch ms>}`, as recorded by integrators (several independent comments, not an
Intuit source).

Codes are Intuit's (notes section 4). Message and Detail texts: 6000 "A business validation error ..." with
"Business Validation Error: ..." (recorded, PHP SDK issue #48), the 6140 Detail (StackOverflow mirror),
6200's Detail (several integrators), 610's inactive-object Detail (Intuit "handling common errors"), 3200
/ 3001 / 100 (recorded by integrators). Every other Message/Detail text is UNCONFIRMED, chosen in
Intuit's style and written to tell a client what to fix.
"""

from __future__ import annotations

import time
from decimal import Decimal

BUSINESS_MESSAGE = "A business validation error has occurred while processing your request"
INACTIVE_DETAIL = ("Object Not Found : Something you're trying to use has been made inactive. Check the fields "
                   "with accounts, customers, items, vendors or employees.")
PERIOD_CLOSED_DETAIL = ("The account period has closed and the account books cannot be updated through the QBO "
                        "Services API. Please use the QBO website to make these changes.")
NO_VENDOR_ON_PAYABLES = "When you use Accounts Payable, you must choose a vendor in the Name field."
NO_CUSTOMER_ON_RECEIVABLES = "When you use Accounts Receivable, you must choose a customer in the Name field."
VAT_RATE_MISSING = "Make sure all your transactions have a VAT rate before you save."  # recorded (UK, 6000)
THROTTLE_DETAIL = "The request limit was reached.  Try again later"  # two spaces, as recorded


class QboFault(Exception):
    """One data-service fault: HTTP status plus Intuit's Error fields."""

    def __init__(self, code: str, message: str, detail: str, element: str = "", status: int = 400,
                 fault_type: str = "ValidationFault") -> None:
        super().__init__(f"{code} {message}")
        self.code = code
        self.message = message
        self.detail = detail
        self.element = element
        self.status = status
        self.fault_type = fault_type

    def error(self) -> dict:
        return {"Message": self.message, "Detail": self.detail, "code": self.code, "element": self.element}

    def body(self, time_text: str) -> dict:
        return {"Fault": {"Error": [self.error()], "type": self.fault_type}, "time": time_text}


def gateway_body(code: str, message: str, detail: str | None, fault_type: str) -> dict:
    """The gateway's lower-case envelope (401 token failures, 429 throttling)."""
    return {"warnings": None, "intuitObject": None,
            "fault": {"error": [{"message": message, "detail": detail, "code": code, "element": None}],
                      "type": fault_type},
            "report": None, "queryResponse": None, "batchItemResponse": [], "attachableResponse": [],
            "syncErrorResponse": None, "requestId": None, "time": int(time.time() * 1000), "status": None,
            "cdcresponse": []}


def token_failure_body(detail: str) -> dict:
    return gateway_body("3200", "message=AuthenticationFailed; errorCode=003200; statusCode=401", detail,
                        "AUTHENTICATION")


def throttled_body() -> dict:
    return gateway_body("3001", "message=ThrottleExceeded; errorCode=003001; statusCode=429", THROTTLE_DETAIL,
                        "SERVICE")


WWW_AUTHENTICATE = {"www-authenticate": 'Bearer realm="Intuit", error="invalid_token"'}


# --- authentication and requests ---------------------------------------------------------------------

def wrong_realm() -> QboFault:
    # Intuit staff reproduced this for a token used on another company (oauth-jsclient issue #91).
    return QboFault("100", "General Authentication Error",
                    "AuthenticationErrorGeneral: SRV-110-Authentication Failure , statusCode: 401",
                    status=401, fault_type="AuthenticationFault")


def unknown_route(path: str) -> QboFault:
    return QboFault("2000", "Invalid Object Name", f"Invalid Object Name : {path} is not a resource of this API.",
                    status=404)


def unsupported_operation(detail: str) -> QboFault:
    return QboFault("500", "Unsupported Operation", f"Operation {detail}")


def invalid_request_id(value: str) -> QboFault:
    return QboFault("2130", "Invalid Request ID format",
                    f"requestid must be 1 to 50 letters, digits, '-' or '_'; got {len(value)} characters.",
                    "requestid")


def duplicate_request_id(value: str) -> QboFault:
    return QboFault("600", "Duplicate Request ID",
                    f"A request with requestid {value} is still being processed; wait for its answer.",
                    "requestid")


def invalid_minor_version(value: str) -> QboFault:
    return QboFault("2040", "Invalid String", f"minorversion must be a whole number such as 75, not {value!r}.",
                    "minorversion")


# --- request bodies -------------------------------------------------------------------------------------

def unsupported_property(name: str) -> QboFault:
    return QboFault("2010", "Request has invalid or unsupported property",
                    f"Property Name:{name} specified is unsupported or invalid", name)


def malformed_body(reason: str) -> QboFault:
    return QboFault("2010", "Request has invalid or unsupported property",
                    f"Property Name:request body specified is unsupported or invalid: {reason}")


def required(element: str) -> QboFault:
    return QboFault("2020", "Required param missing, need to supply the required value for the API",
                    f"Required parameter {element} is missing in the request", element)


def invalid_id(element: str, value: object) -> QboFault:
    return QboFault("2030", "Invalid ID", f"Id {value!r} for {element} is not a QuickBooks id (digits only).",
                    element)


def invalid_string(element: str, why: str) -> QboFault:
    return QboFault("2040", "Invalid String", f"{element}: {why}", element)


def string_length(element: str, maximum: int, supplied: int) -> QboFault:
    return QboFault("2050", "String length is either shorter or longer than supported by specification",
                    f"String length specified does not match the supported length for {element}. Min:0 "
                    f"Max:{maximum} supplied length:{supplied}", element)


def invalid_date_format(element: str, value: object) -> QboFault:
    return QboFault("2060", "Invalid Date Format", f"{element} {value!r} is not a date; use yyyy-mm-dd.", element)


def invalid_date(element: str, value: object) -> QboFault:
    return QboFault("2070", "Invalid Date", f"{element} {value!r} is not a day of the calendar.", element)


def invalid_enum(element: str, value: object, allowed: tuple[str, ...]) -> QboFault:
    return QboFault("2170", "Invalid Enumeration",
                    f"Invalid Enumeration : {element} {value!r}; use one of {', '.join(allowed)}", element)


def missing_lines() -> QboFault:
    return QboFault("2250", "Missing Line", "A transaction needs at least one Line.", "Line")


def missing_posting_type(index: int) -> QboFault:
    return QboFault("2260", "Missing Posting Type", f"Line {index}: JournalEntryLineDetail.PostingType is "
                                                    "required (Debit or Credit).", "PostingType")


def negative_amount(index: int) -> QboFault:
    return QboFault("2290", "Negative Amount", f"Line {index}: Amount must not be negative. Post it on the other "
                                               "side instead.", "Amount")


def unbalanced(debits: Decimal, credits: Decimal, currency: str) -> QboFault:
    return QboFault("2300", "Transaction Not Balanced",
                    f"The journal entry is not balanced: debits total {debits} {currency} and credits total "
                    f"{credits} {currency}. Make debits and credits equal.", "Line")


def invalid_reference(entity: str, value: object, element: str) -> QboFault:
    return QboFault("2500", "Invalid Reference Id", f"Invalid Reference Id : {entity} element id {value} not found",
                    element)


def inactive_or_missing(element: str = "") -> QboFault:
    return QboFault("610", "Object Not Found", INACTIVE_DETAIL, element)


def stale_object(sent: object, current: str) -> QboFault:
    return QboFault("5010", "Stale Object Error",
                    f"Stale Object Error : You sent SyncToken {sent} but the object is at SyncToken {current}. "
                    "Read it again, apply your change and send the current SyncToken.", "SyncToken")


def business(detail: str, element: str = "") -> QboFault:
    return QboFault("6000", BUSINESS_MESSAGE, f"Business Validation Error: {detail}", element)


def duplicate_doc_number(doc_number: str, txn_type: str, txn_id: str) -> QboFault:
    return QboFault("6140", "Duplicate Document Number Error",
                    "Duplicate Document Number Error : You must specify a different number. This number has "
                    f"already been used. DocNumber={doc_number} is assigned to TxnType={txn_type} with "
                    f"TxnId={txn_id}", "DocNumber")


def period_closed() -> QboFault:
    return QboFault("6200", "Account Period Closed", PERIOD_CLOSED_DETAIL, "TxnDate")


def duplicate_name(name: str) -> QboFault:
    return QboFault("6240", "Duplicate Name Exists Error",
                    f"The name supplied already exists. : Another customer, vendor or employee is already using "
                    f"the name {name!r}. Please use a different name.", "DisplayName")


def duplicate_list_name(entity: str, name: str) -> QboFault:
    return QboFault("6240", "Duplicate Name Exists Error",
                    f"The name supplied already exists. : Another {entity} is already named {name!r}.", "Name")


# --- queries and uploads --------------------------------------------------------------------------------

def query_parse(detail: str) -> QboFault:
    return QboFault("4000", "Error parsing query", f"QueryParserError: {detail}")


def query_invalid(detail: str) -> QboFault:
    return QboFault("4001", "Invalid query", f"QueryValidationError: {detail}")


def upload_too_large(size: int, limit: int) -> QboFault:
    return QboFault("6030", "File Size Exceeds Limit",
                    f"The upload is {size} bytes; the largest accepted is {limit} bytes.")


def metadata_not_attachable(detail: str) -> QboFault:
    return QboFault("6040", "File Metadata Must Be Attachable", detail, "file_metadata")


def invalid_upload(detail: str) -> QboFault:
    return QboFault("6041", "Invalid Uploaded File", detail, "file_content")


def attachable_entity_unsupported(entity: str, supported: tuple[str, ...]) -> QboFault:
    return QboFault("6050", "Entity Type Not Supported For Attachable",
                    f"{entity} cannot hold attachments here; use one of {', '.join(supported)}.",
                    "AttachableRef.EntityRef.type")
