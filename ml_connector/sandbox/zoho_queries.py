"""List endpoints of the Books sandbox: filters, sorting and pagination the way Zoho applies them.

Filter grammar (OpenAPI): an exact field plus `_startswith` / `_contains` variants, `date_start` /
`date_end` / `date_before` / `date_after`, `sort_column` + `sort_order` (A|D), `page` and `per_page`.
`per_page` is capped at 200 (the documented default page size; the real maximum is unconfirmed), except
the chart of accounts whose recorded default page is 5000.

Journals and bills also take `last_modified_time` (bills.yml: "Search bills modified after a specific
time"; the sandbox keeps those modified at or after it, so a client that reads from its last watermark
misses nothing; `2026-06-09T16:27:31-0400`, `+05:30` and `Z` offsets are read), `location_ids` (comma
separated) and `sort_column=last_modified_time`. Bills' `filter_by` takes Status.All (void bills
included), Status.Open and Status.Void; deleted entries are gone from every list.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import date, datetime

from ml_connector.sandbox.zoho_records import bill_row, contact_row, invalid, journal_row, public
from ml_connector.sandbox.zoho_reference import ACCOUNT_GROUPS, ZohoReference, account_group, parse_timestamp
from ml_connector.sandbox.zoho_store import ZohoStore

MAX_PER_PAGE = 200


def paginate(rows: list, params: Mapping[str, str], default_per_page: int = MAX_PER_PAGE,
             max_per_page: int = MAX_PER_PAGE) -> tuple[list, dict]:
    try:
        page = int(params.get("page", 1))
        per_page = int(params.get("per_page", default_per_page))
    except ValueError:
        raise invalid("page", "page and per_page must be whole numbers.") from None
    if page < 1 or per_page < 1:
        raise invalid("page", "page and per_page start at 1.")
    per_page = min(per_page, max_per_page)
    start = (page - 1) * per_page
    return rows[start:start + per_page], {"page": page, "per_page": per_page,
                                          "has_more_page": len(rows) > start + per_page}


def text_matches(value: str, params: Mapping[str, str], field: str) -> bool:
    """The exact / _startswith / _contains variants of one text filter (case-insensitive)."""
    value = value.lower()
    if field in params and value != params[field].lower():
        return False
    if f"{field}_startswith" in params and not value.startswith(params[f"{field}_startswith"].lower()):
        return False
    return not (f"{field}_contains" in params and params[f"{field}_contains"].lower() not in value)


def check_date_params(params: Mapping[str, str], prefix: str = "date") -> None:
    """Reject a malformed date filter even when there is nothing to filter."""
    for name in (prefix, f"{prefix}_start", f"{prefix}_end", f"{prefix}_after", f"{prefix}_before"):
        if name in params:
            try:
                date.fromisoformat(params[name])
            except ValueError:
                raise invalid(name, "Use the format yyyy-mm-dd.") from None


def date_matches(value: str, params: Mapping[str, str], prefix: str = "date") -> bool:
    when = date.fromisoformat(value)
    checks = {f"{prefix}_start": lambda d: when >= d, f"{prefix}_end": lambda d: when <= d,
              f"{prefix}_after": lambda d: when > d, f"{prefix}_before": lambda d: when < d,
              prefix: lambda d: when == d}
    for name, check in checks.items():
        if name in params:
            try:
                limit = date.fromisoformat(params[name])
            except ValueError:
                raise invalid(name, "Use the format yyyy-mm-dd.") from None
            if not check(limit):
                return False
    return True


def sort_rows(rows: list[dict], params: Mapping[str, str], allowed: tuple[str, ...], default: str,
              default_order: str, tie: str) -> tuple[list[dict], str, str]:
    column = params.get("sort_column", default)
    if column not in allowed:
        raise invalid("sort_column", f"Use one of: {', '.join(allowed)}.")
    order = params.get("sort_order", default_order)
    if order not in ("A", "D"):
        raise invalid("sort_order", "Use A or D.")

    def key(row: dict) -> tuple:
        value = row[column]
        if column in TIMESTAMP_COLUMNS:  # offsets change with DST: compare instants, not strings
            return (parse_timestamp(value), int(row[tie]))
        return (value if not isinstance(value, str) or not value.isdigit() else int(value), int(row[tie]))

    return sorted(rows, key=key, reverse=order == "D"), column, order


TIMESTAMP_COLUMNS = ("created_time", "last_modified_time")
BILL_FILTERS = {"Status.All": None, "Status.Open": "open", "Status.Void": "void"}


def modified_since(params: Mapping[str, str]) -> datetime | None:
    """The `last_modified_time` filter as an instant, or None when absent."""
    raw = params.get("last_modified_time")
    if raw is None:
        return None
    text = raw.strip().replace(" ", "+")  # an unescaped '+' in a query string arrives as a space
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None:
        raise invalid("last_modified_time", "Use the format yyyy-MM-ddTHH:mm:ss+hhmm, e.g. "
                                            "2026-10-05T09:30:00-0400.")
    return moment


def location_matches(record: dict, params: Mapping[str, str]) -> bool:
    wanted = params.get("location_ids")
    if not wanted:
        return True
    return record.get("location_id", "") in {part.strip() for part in wanted.split(",")}


def list_page(rows: list[dict], params: Mapping[str, str], report_name: str, applied_filter: str,
              to_row: Callable[[dict], dict], sort: tuple[tuple[str, ...], str, str, str],
              default_per_page: int = MAX_PER_PAGE, max_per_page: int = MAX_PER_PAGE) -> tuple[list, dict]:
    ordered, column, order = sort_rows(rows, params, *sort)
    page_rows, context = paginate(ordered, params, default_per_page, max_per_page)
    context.update({"report_name": report_name, "applied_filter": applied_filter, "custom_fields": [],
                    "sort_column": column, "sort_order": order})
    return [to_row(row) for row in page_rows], context


def list_journals(store: ZohoStore, params: Mapping[str, str]) -> tuple[list, dict]:
    check_date_params(params)
    with store.lock:
        if "reference_number" in params:  # the connector's search for a posting key: use the index
            candidates: Iterable[dict] = [store.journals[i] for i in
                                          store.journal_ids_by_reference.get(params["reference_number"], [])]
        else:
            candidates = list(store.journals.values())
    applied = params.get("filter_by", "JournalDate.All")
    if applied != "JournalDate.All":
        raise invalid("filter_by", "The sandbox supports JournalDate.All; filter with date_start/date_end.")
    since = modified_since(params)
    rows = [j for j in candidates
            if (since is None or parse_timestamp(j["last_modified_time"]) >= since)
            and location_matches(j, params)
            and text_matches(j["reference_number"], params, "reference_number")
            and text_matches(j["entry_number"], params, "entry_number")
            and date_matches(j["journal_date"], params)
            and params.get("status", j["status"]) == j["status"]
            and (("account_id" not in params)
                 or any(line["account_id"] == params["account_id"] for line in j["line_items"]))]
    return list_page(rows, params, "Manual Journals", applied, journal_row,
                     (("journal_date", "entry_number", "reference_number", "total", "last_modified_time"),
                      "journal_date", "D", "_seq"))


def list_bills(store: ZohoStore, params: Mapping[str, str]) -> tuple[list, dict]:
    check_date_params(params)
    with store.lock:
        if "bill_number" in params:
            found = store.bill_ids_by_number.get(params["bill_number"].lower())
            candidates = [store.bills[found]] if found else []
        else:
            candidates = list(store.bills.values())
    applied = params.get("filter_by", "Status.All")
    if applied not in BILL_FILTERS:
        raise invalid("filter_by", f"The sandbox supports {', '.join(BILL_FILTERS)}.")
    since = modified_since(params)
    rows = [b for b in candidates
            if BILL_FILTERS[applied] in (None, b["status"])
            and (since is None or parse_timestamp(b["last_modified_time"]) >= since)
            and location_matches(b, params)
            and text_matches(b["bill_number"], params, "bill_number")
            and text_matches(b["reference_number"], params, "reference_number")
            and params.get("vendor_id", b["vendor_id"]) == b["vendor_id"]
            and params.get("status", b["status"]) == b["status"]
            and date_matches(b["date"], params)]
    return list_page(rows, params, "Bills", applied, lambda b: bill_row(b, b["created_time"][:10]),
                     (("vendor_name", "bill_number", "date", "due_date", "total", "balance", "created_time",
                       "last_modified_time"),
                      "created_time", "D", "_seq"))


def list_contacts(store: ZohoStore, params: Mapping[str, str]) -> tuple[list, dict]:
    with store.lock:
        candidates = list(store.contacts.values())
    applied = params.get("filter_by", "Status.All")
    statuses = {"Status.All": None, "Status.Active": "active", "Status.Inactive": "inactive"}
    if applied not in statuses:
        raise invalid("filter_by", f"Use one of: {', '.join(statuses)}.")
    search = params.get("search_text", "").lower()
    contact_type = params.get("contact_type")
    if contact_type not in (None, "customer", "vendor"):
        raise invalid("contact_type", "Use customer or vendor.")
    rows = [c for c in candidates
            if text_matches(c["contact_name"], params, "contact_name")
            and text_matches(c["company_name"], params, "company_name")
            and (contact_type is None or c["contact_type"] == contact_type)
            and (statuses[applied] is None or c["status"] == statuses[applied])
            and (not search or search in c["contact_name"].lower() or search in c["company_name"].lower())]
    return list_page(rows, params, "Contacts", applied, contact_row,
                     (("contact_name", "created_time", "last_modified_time"), "contact_name", "A", "_seq"))


def list_accounts(ref: ZohoReference, params: Mapping[str, str]) -> tuple[list, dict]:
    applied = params.get("filter_by", "AccountType.Active")
    kind = applied.removeprefix("AccountType.")
    if not applied.startswith("AccountType.") or kind not in ("All", "Active", "Inactive", *ACCOUNT_GROUPS):
        raise invalid("filter_by", "Use AccountType.All, Active, Inactive, Asset, Liability, Equity, Income "
                                   "or Expense.")
    rows = []
    for account_id, account in ref.accounts.items():
        if (kind == "Active" and not account.is_active) or (kind == "Inactive" and account.is_active):
            continue
        if kind in ACCOUNT_GROUPS and account_group(account.account_type) != kind:
            continue
        row = ref.chart_of_account_row(account_id)
        row["_seq"] = int(account.code)
        rows.append(row)
    return list_page(rows, params, "List Chart Of Accounts", applied, public,
                     (("account_name", "account_type", "account_code"), "account_type", "A", "_seq"),
                     default_per_page=5000, max_per_page=5000)
