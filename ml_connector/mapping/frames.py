"""The frames the mapping joins: records, and lookup tables built from the rules and the ledger.

Every lookup table is unique on its join key (the mapping joins with validate="many_to_one"), and every
key is normalised the same way on both sides: stripped and casefolded, names through `normalise_names`.
"""

from __future__ import annotations

import pandas as pd

from ml_connector.mapping.names import normalise_names
from ml_connector.mapping.rules import MappingRules
from ml_connector.models import ReferenceData, SpendRecord
from ml_connector.sources.columns import versions

RECORD_TEXT_FIELDS = ("source", "source_id", "parent_id", "merchant", "currency", "category", "gl_code",
                      "department", "location", "project", "employee_name", "card_account", "memo",
                      "source_url", "status", "original_currency", "tax_code")
_FLAGS = ("is_code", "is_active", "option_active")
RECORD_OBJECT_FIELDS = ("record_date", "amount", "exchange_rate", "receipt_urls", "original_amount", "tax_amount")


def records_frame(records: list[SpendRecord]) -> pd.DataFrame:
    """One row per record, built column by column in one pass (text columns as pandas strings)."""
    columns: dict[str, pd.Series] = {
        name: pd.Series([getattr(r, name) for r in records], dtype="str") for name in RECORD_TEXT_FIELDS}
    columns.update({name: pd.Series([getattr(r, name) for r in records], dtype=object)
                    for name in RECORD_OBJECT_FIELDS})
    columns["version"] = pd.Series([r.version for r in records], dtype="str")
    return pd.DataFrame(columns)


def records_frame_of_columns(columns: dict[str, list]) -> pd.DataFrame:
    """`records_frame` from a source's values gathered column by column (no record objects): the same columns
    and dtypes, the versions computed over the columns (`sources.columns.versions`, equal to
    `SpendRecord.version` record by record)."""
    frame = pd.DataFrame({name: pd.Series(columns[name], dtype="str") for name in RECORD_TEXT_FIELDS}
                         | {name: pd.Series(columns[name], dtype=object) for name in RECORD_OBJECT_FIELDS})
    frame["version"] = versions(frame) if len(frame) else pd.Series([], dtype="str")
    return frame


def _text_frame(rows: list[dict], columns: list[str]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=columns)
    return frame.astype({c: "str" for c in columns if c not in _FLAGS})


def source_settings(rules: MappingRules) -> pd.DataFrame:
    """Per configured source: how it posts, what it credits, and its fallbacks (each section says)."""
    rows = [{"source": name, **section.posting(name), "default_account": section.default_account,
             "default_origin": f"{name}.default_account"} for name, section in rules.sources.items()]
    frame = pd.DataFrame(rows, columns=["source", "posting_kind", "posting_mode", "credit_ref", "credit_origin",
                                        "default_account", "default_origin", "use_gl_codes",
                                        "employees_as_vendors", "describe_employee"])
    frame["is_configured"] = True
    frame["posts_journal"] = frame["posting_kind"] == "journal"
    return frame.astype({"source": "str", "credit_ref": "str", "default_account": "str"})


def category_rules(rules: MappingRules) -> pd.DataFrame:
    rows = [{"source": source, "category_key": category.strip().casefold(), "category_account": rule.account,
             "category_vendor": rule.vendor, "category_origin": f"{source}.categories.{category}.account"}
            for source, section in rules.sources.items() for category, rule in section.categories.items()]
    frame = _text_frame(rows, ["source", "category_key", "category_account", "category_vendor", "category_origin"])
    return frame.drop_duplicates(["source", "category_key"])


def merchant_overrides(rules: MappingRules) -> pd.DataFrame:
    """Merchant overrides of every source that has them; the first entry wins when two match one merchant."""
    frame = _text_frame(
        [{"source": source, "match": o.match, "override_account": o.account, "override_vendor": o.vendor,
          "override_origin": f"{source}.merchant_overrides[{i}].account"}
         for source, section in rules.sources.items() for i, o in enumerate(section.overrides())],
        ["source", "match", "override_account", "override_vendor", "override_origin"])
    frame["merchant_key"] = normalise_names(frame["match"], rules.vendors.strip_suffixes)
    return frame.drop(columns="match").dropna(subset=["merchant_key"]).drop_duplicates(["source", "merchant_key"])


def vendor_aliases(rules: MappingRules) -> pd.DataFrame:
    frame = _text_frame([{"descriptor": k, "alias_vendor": v} for k, v in rules.vendors.aliases.items()],
                        ["descriptor", "alias_vendor"])
    frame["merchant_key"] = normalise_names(frame["descriptor"], rules.vendors.strip_suffixes)
    return frame.drop(columns="descriptor").dropna(subset=["merchant_key"]).drop_duplicates("merchant_key")


def account_lookup(reference: ReferenceData) -> pd.DataFrame:
    """Accounts keyed by code and by name (casefolded); a code wins over a name that looks like it."""
    rows = []
    for is_code in (True, False):
        for a in reference.accounts:
            key = a.code if is_code else a.name
            if key:
                rows.append({"key": key.strip().casefold(), "is_code": is_code, "account_id": a.account_id,
                             "account_name": a.name, "account_code": a.code, "is_active": a.is_active})
    frame = _text_frame(rows, ["key", "is_code", "account_id", "account_name", "account_code", "is_active"])
    return frame.drop_duplicates("key")


def dimension_options(reference: ReferenceData) -> pd.DataFrame:
    """Tag options keyed by (tag name, option name), casefolded; an active option wins over an inactive one."""
    ordered = sorted(reference.tag_options, key=lambda o: not o.is_active)
    frame = _text_frame(
        [{"tag_key": o.tag_name.casefold(), "option_key": o.option_name.strip().casefold(), "tag_id": o.tag_id,
          "tag_name": o.tag_name, "option_id": o.option_id, "option_name": o.option_name,
          "option_active": o.is_active} for o in ordered],
        ["tag_key", "option_key", "tag_id", "tag_name", "option_id", "option_name", "option_active"])
    return frame.drop_duplicates(["tag_key", "option_key"])


def vendor_lookup(reference: ReferenceData, suffixes: tuple[str, ...]) -> pd.DataFrame:
    ordered = sorted(reference.vendors, key=lambda v: not v.is_active)
    frame = _text_frame([{"name": v.name, "vendor_id": v.vendor_id} for v in ordered], ["name", "vendor_id"])
    frame["vendor_key"] = normalise_names(frame["name"], suffixes)
    frame = frame.rename(columns={"name": "ledger_vendor_name"})
    return frame.dropna(subset=["vendor_key"]).drop_duplicates("vendor_key")
