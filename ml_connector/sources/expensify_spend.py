"""Expensify as a source of spend for the engine: its mapping section and what holds an Expensify record.

- Section `expensify:` of the mapping file: bill (one vendor bill per report, the employee as vendor) or
  journal (one per report, crediting the reimbursements account); GL codes from Expensify categories.
- Held after mapping: a report posts whole. One held expense holds its report, so a bill is never posted
  short and then duplicated (same bill number) once the held line is fixed.
- Re-read: incremental. Reports marked exported are not read again, so earlier outcomes stay.
"""

from __future__ import annotations

from typing import Any, Literal

import pandas as pd
from pydantic import Field, model_validator

from ml_connector.mapping.rule_types import ACCOUNT_HINT, AccountRef, SourceRules
from ml_connector.sources.base import SourceSpec


class ExpensifyRules(SourceRules):
    posting_mode: Literal["bill", "journal"] = Field(
        "bill", description="bill (one vendor bill per report) or journal (one journal per report)")
    credit_account: AccountRef | None = Field(
        None, description=f"the account journals credit, usually Employee Reimbursements: {ACCOUNT_HINT}")
    use_gl_codes: bool = Field(True, description="true to use the GL code Expensify categories carry")
    employees_as_vendors: bool = Field(True, description="true to bill each employee as the vendor")

    @model_validator(mode="after")
    def _journal_needs_credit(self) -> ExpensifyRules:
        if self.posting_mode == "journal" and self.credit_account is None:
            raise ValueError("posting_mode journal needs credit_account (e.g. 2150 Employee Reimbursements)")
        return self

    def posting(self, source: str) -> dict[str, Any]:
        journal = self.posting_mode == "journal"
        return {"posting_kind": "journal" if journal else "bill", "posting_mode": "per_report" if journal else "bill",
                "credit_ref": self.credit_account if journal else None, "credit_origin": f"{source}.credit_account",
                "use_gl_codes": self.use_gl_codes, "employees_as_vendors": self.employees_as_vendors,
                # the line says whose expense it was: on a bill the vendor is the employee, on a journal no one
                "describe_employee": True}


def hold_whole_reports(mapped: pd.DataFrame, exceptions: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    held_reports = set(exceptions.loc[exceptions["source"] == "expensify", "parent_id"].dropna())
    is_held = (mapped["source"] == "expensify") & mapped["parent_id"].isin(held_reports)
    moved = mapped[is_held].assign(
        reason="held_with_report",
        reason_text=lambda f: "report " + f["parent_id"].astype(str) + " has a held expense; it posts whole once "
                              "that expense is fixed (see the report's other exceptions)")
    return mapped[~is_held].reset_index(drop=True), moved


# Exports link a receipt only as `receiptObject.url` (notes/expensify.md §9: there is no API to fetch receipt files),
# on Expensify's own web host. Which hosts serve them is UNCONFIRMED by Expensify's docs: only www.expensify.com
# (the /receipts/ links Expensify's own app builds) is trusted; an operator adds others (a CDN, an S3 bucket) with
# ML_CONNECTOR_RECEIPT_HOSTS.
RECEIPT_HOSTS = ("www.expensify.com",)

SPEC = SourceSpec(name="expensify", rules_model=ExpensifyRules, reread="incremental",
                  hold_after_mapping=hold_whole_reports,
                  reasons={"held_with_report": "another expense of the same report is held"},
                  receipt_hosts=RECEIPT_HOSTS)
