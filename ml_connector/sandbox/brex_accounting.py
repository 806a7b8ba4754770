"""The Brex Accounting API (accounting.yaml, Alpha): accounting records and export results.

One record per settled card row: purchases (`CARD_EXPENSE_POST`), refunds (`CARD_EXPENSE_REFUND`), the
autopay (`CARD_PAYMENT`) and the rewards credit (`REWARD_REDEMPTION`). Unlike the rest of Brex, amounts
here are JSON numbers in major units (`100.5`). A record's `amount` is what the card billed, in the billing
currency (the organisation's base: USD in "us", GBP in "uk"; brex_billing.py); `original_amount` is the
purchase in the merchant's currency (accounting.yaml: "Original amount if different from current"). Line
items carry the GL account that Brex's own accounting integration would map, as `remote_field_value_id`; an
unmapped category has none.

Review status follows the expense: SETTLED/APPROVED -> READY_FOR_EXPORT, SUBMITTED -> REVIEW,
DRAFT -> PREPARE; a successful export result makes it EXPORTED. A failure result leaves it
READY_FOR_EXPORT (Brex does not document what a failure does to the status).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from ml_connector.sandbox.brex_data import BrexRecords, CardTransaction
from ml_connector.sandbox.brex_params import ApiError, decode_cursor, encode_cursor, parse_datetime
from ml_connector.sandbox.brex_render import BrexRenderer, timestamp
from ml_connector.sandbox.catalog import CARD_LIABILITY, stable_id

RECORD_TYPES = {"PURCHASE": "CARD_EXPENSE_POST", "REFUND": "CARD_EXPENSE_REFUND",
                "COLLECTION": "CARD_PAYMENT", "REWARDS_CREDIT": "REWARD_REDEMPTION"}
REVIEW_STATUSES = ("PREPARE", "REVIEW", "READY_FOR_EXPORT", "EXPORTED")
SOURCE_TYPES = ("CARD", "REIMBURSEMENT", "BILL")
MAX_LIMIT = 500
OPERATING_CASH = "1000"
REWARDS_INCOME = "4000"


def accounting_error(status: int, code: str, message: str, details: dict | None = None) -> ApiError:
    body = {"error_code": code, "message": message}
    if details is not None:
        body["details"] = details
    return ApiError(status, body)


def _major(amount_minor: int, precision: int) -> float | int:
    value = Decimal(abs(amount_minor)).scaleb(-precision)
    return int(value) if value == value.to_integral_value() else float(value)


class BrexAccounting:
    def __init__(self, records: BrexRecords, renderer: BrexRenderer) -> None:
        self.records = records
        self.renderer = renderer
        self.company = records.company
        self.exports: dict[str, dict] = {}  # record id -> last export result, kept for --state
        self._rows: list[tuple[str, CardTransaction]] | None = None
        self._by_id: dict[str, CardTransaction] = {}
        self._by_expense: dict[str, list[str]] = {}  # expense id -> its record ids
        self._selections: dict[tuple, list] = {}  # filter -> matching rows, until an export or edit
        self._gl_field = stable_id("ef_", self.company.seed, "gl_account")
        self._export_count = 0

    def _all(self) -> list[tuple[str, CardTransaction]]:
        if self._rows is None:
            self._rows = [(stable_id("accr_", self.company.seed, row.id), row)
                          for row in self.records.all_transactions()]
            self._by_id = dict(self._rows)
            for record_id, row in self._rows:
                if row.expense is not None:
                    self._by_expense.setdefault(row.expense.id, []).append(record_id)
        return self._rows

    # -- state of one record -----------------------------------------------------------------------

    def review_status(self, record_id: str, row: CardTransaction) -> str:
        if self.exports.get(record_id, {}).get("success"):
            return "EXPORTED"
        if row.expense is None:
            return "READY_FOR_EXPORT"
        return {"DRAFT": "PREPARE", "SUBMITTED": "REVIEW"}.get(row.expense.status, "READY_FOR_EXPORT")

    def updated_at(self, record_id: str, row: CardTransaction) -> datetime:
        base = (row.expense.updated_at if row.expense
                else datetime.combine(row.posted_at, datetime.min.time(), UTC) + timedelta(hours=12))
        exported = self.exports.get(record_id, {}).get("at")
        return max(base, datetime.fromisoformat(exported)) if exported else base

    def ready_for_export(self, expense_id: str) -> set[str]:
        """The ids of the expense's records that are READY_FOR_EXPORT now."""
        self._all()
        return {rid for rid in self._by_expense.get(expense_id, [])
                if self.review_status(rid, self._by_id[rid]) == "READY_FOR_EXPORT"}

    # -- routes ------------------------------------------------------------------------------------

    def query(self, params) -> dict:
        limit_raw = params.get("limit")
        try:
            limit = int(float(limit_raw)) if limit_raw else 100
        except ValueError as error:
            raise accounting_error(400, "INVALID_REQUEST", "limit must be a number") from error
        if limit < 1 or limit > MAX_LIMIT:
            raise accounting_error(400, "INVALID_REQUEST", f"limit must be between 1 and {MAX_LIMIT}")
        ids = params.getlist("ids") + params.getlist("ids[]")
        if len(ids) > MAX_LIMIT:
            raise accounting_error(400, "INVALID_REQUEST", f"ids is limited to {MAX_LIMIT} values")
        review_status = params.get("review_status")
        if review_status and review_status not in REVIEW_STATUSES:
            raise accounting_error(400, "INVALID_REQUEST", f"review_status must be one of {REVIEW_STATUSES}")
        source_type = params.get("source_type")
        if source_type and source_type not in SOURCE_TYPES:
            raise accounting_error(400, "INVALID_REQUEST", f"source_type must be one of {SOURCE_TYPES}")
        try:
            bounds = {op: parse_datetime(f"updated_at[{op}]", params.get(f"updated_at[{op}]"))
                      for op in ("gt", "gte", "lt", "lte")}
            offset = decode_cursor(params.get("cursor"))
        except ApiError as error:
            raise accounting_error(400, "INVALID_REQUEST", error.body["message"]) from error
        single_entry = (params.get("single_entry") or "false").lower() == "true"

        self._all()
        if ids:
            rows = [(rid, self._by_id[rid]) for rid in dict.fromkeys(ids) if rid in self._by_id]
        elif source_type in ("REIMBURSEMENT", "BILL"):
            rows = []  # the sandbox company has card spend only
        else:
            rows = self._rows
        if review_status or any(bounds.values()):
            # Scanned once per filter, then pages slice the cached selection.
            key = (tuple(ids), source_type, review_status, tuple(bounds.items()), len(self.exports),
                   self._export_count, self.records.edit_count)
            if key not in self._selections:
                if len(self._selections) > 16:
                    self._selections.clear()
                self._selections[key] = [(rid, row) for rid, row in rows
                                         if (not review_status or self.review_status(rid, row) == review_status)
                                         and _within(self.updated_at(rid, row), bounds)]
            rows = self._selections[key]
        page = rows[offset:offset + limit]
        end = offset + len(page)
        return {"items": [self.record(rid, row, single_entry) for rid, row in page],
                "next_cursor": encode_cursor(end, limit) if end < len(rows) else None,
                "has_next_page": end < len(rows),
                "total_count": len(rows)}

    def get(self, record_id: str, single_entry: bool) -> dict:
        self._all()
        row = self._by_id.get(record_id)
        if row is None:
            raise accounting_error(404, "NOT_FOUND", f"Accounting record {record_id} not found")
        return self.record(record_id, row, single_entry)

    def report_export_results(self, body: dict, now: datetime) -> dict:
        results = body.get("results") if isinstance(body, dict) else None
        if not isinstance(results, list) or not results:
            raise accounting_error(400, "INVALID_REQUEST", "results must be a list of at least one result")
        self._all()
        successes, failures = [], []
        for result in results:
            record_id = result.get("accounting_record_id") if isinstance(result, dict) else None
            if not record_id or ("success" in result) == ("failure" in result):
                raise accounting_error(400, "INVALID_REQUEST", "each result needs accounting_record_id and "
                                                               "exactly one of success or failure")
            if "success" in result and not (result["success"] or {}).get("deep_link_url"):
                raise accounting_error(400, "INVALID_REQUEST", "success.deep_link_url is required")
            (successes if "success" in result else failures).append(result)
        duplicates = sorted({r["accounting_record_id"] for r in successes}
                            & {r["accounting_record_id"] for r in failures})
        if duplicates:
            raise accounting_error(422, "DUPLICATE_ACCOUNTING_RECORD_IDS",
                                   "Duplicate accounting record ids found across success and failure results.",
                                   {"duplicate_accounting_record_ids": duplicates})
        ids = list(dict.fromkeys(r["accounting_record_id"] for r in results))
        missing = [rid for rid in ids if rid not in self._by_id]
        if missing:
            raise accounting_error(404, "NOT_FOUND", f"Accounting record source IDs not found: {', '.join(missing)}",
                                   {"not_found_export_entry_source_ids": missing})
        not_ready = [rid for rid in ids if self.review_status(rid, self._by_id[rid]) != "READY_FOR_EXPORT"]
        if not_ready:
            raise accounting_error(422, "ACCOUNTING_RECORD_NOT_READY_FOR_EXPORT",
                                   "Only accounting records with review status READY_FOR_EXPORT can be updated "
                                   "via this endpoint.", {"not_ready_for_export_accounting_record_ids": not_ready})
        self._export_count += 1
        for result in results:
            self.exports[result["accounting_record_id"]] = {
                "success": result.get("success"), "failure": result.get("failure"), "at": now.isoformat()}
        return {"updated_accounting_record_ids": ids}

    # -- rendering ---------------------------------------------------------------------------------

    def record(self, record_id: str, row: CardTransaction, single_entry: bool) -> dict:
        expense = row.expense
        billing = self.company.currency(self.records.billing_currency)
        amount_minor = expense.billing_minor if expense else row.amount_minor
        amount = {"amount": _major(amount_minor, billing.precision), "currency": billing.code}
        original = amount
        if expense:
            source = self.company.currency(expense.currency)
            original = {"amount": _major(expense.purchased_minor, source.precision), "currency": expense.currency}
        debit, credit = self._accounts(row)
        lines = [self._line(record_id, "DEBIT", debit, amount, original, row),
                 self._line(record_id, "CREDIT", credit, amount, original, row)]
        if single_entry:
            # Keep only the economic side: the expense account for spend, the liability for payments.
            lines = lines[:1] if row.type in ("PURCHASE", "COLLECTION", "REWARDS_CREDIT") else lines[1:]
        user = expense.user if expense else None
        return {
            "id": record_id,
            "amount": amount,
            "original_amount": original,
            "type": RECORD_TYPES[row.type],
            "review_status": self.review_status(record_id, row),
            "source_id": expense.id if expense else row.id,
            "source_type": "CARD",
            "erp_posting_date": timestamp(datetime.combine(row.posted_at, datetime.min.time(), UTC)),
            "updated_at": timestamp(self.updated_at(record_id, row)),
            "version": (expense.version if expense else 1) + (1 if record_id in self.exports else 0),
            "receipts": ([{"id": rid, "download_uris": [self.renderer.receipt_url(rid)]}
                          for rid in expense.receipt_ids] if expense else None),
            "user": ({"id": user.user_id, "first_name": user.first_name, "last_name": user.last_name,
                      "email": user.email, "role": "EMPLOYEE", "status": "ACTIVE",
                      "department_id": self.renderer.department_ids[user.department],
                      "department_name": user.department,
                      "location_id": self.renderer.location_ids[user.location],
                      "location_name": user.location} if user else None),
            "vendor": None,
            "memo": expense.memo if expense else row.description,
            "posted_at": timestamp(expense.payment_posted_at if expense
                                   else datetime.combine(row.posted_at, datetime.min.time(), UTC)),
            "due_at": None,
            "invoice_number": None,
            "line_items": lines,
        }

    def _accounts(self, row: CardTransaction) -> tuple[str | None, str | None]:
        """(debit GL code, credit GL code) for a card row; None where the category is unmapped."""
        if row.type == "COLLECTION":
            return CARD_LIABILITY.code, OPERATING_CASH
        if row.type == "REWARDS_CREDIT":
            return CARD_LIABILITY.code, REWARDS_INCOME
        expense_account = self.company.brex_category_accounts.get(row.expense.category)
        if row.type == "REFUND":
            return CARD_LIABILITY.code, expense_account
        return expense_account, CARD_LIABILITY.code

    def _line(self, record_id: str, side: str, gl_code: str | None, amount: dict, original: dict,
              row: CardTransaction) -> dict:
        seed = self.company.seed
        value_key = gl_code or (row.expense.category if row.expense else "unmapped")
        values = [{"brex_field_id": self._gl_field, "remote_field_id": "gl_account",
                   "brex_field_value_id": stable_id("efo_", seed, "gl", value_key),
                   "remote_field_value_id": gl_code}]
        is_spend_line = gl_code not in (CARD_LIABILITY.code, OPERATING_CASH) and row.expense is not None
        if is_spend_line:
            department = row.expense.user.department
            values.append({"brex_field_id": stable_id("ef_", seed, "department"), "remote_field_id": None,
                           "brex_field_value_id": self.renderer.department_ids[department],
                           "remote_field_value_id": None})
        return {"id": stable_id("arli_", seed, record_id, side), "type": side, "amount": amount,
                "original_amount": original if is_spend_line else amount,
                "memo": row.expense.memo if row.expense else row.description,
                "accounting_field_values": values}


def _within(value: datetime, bounds: dict[str, datetime | None]) -> bool:
    return ((bounds["gt"] is None or value > bounds["gt"]) and (bounds["gte"] is None or value >= bounds["gte"])
            and (bounds["lt"] is None or value < bounds["lt"]) and (bounds["lte"] is None or value <= bounds["lte"]))
