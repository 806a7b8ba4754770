"""The building blocks of the mapping file: account references, category rules, dimensions, vendors, and
the base every source's section extends (`SourceRules`). Sources declare their own sections with these
(`sources/brex_spend.py`, `sources/expensify_spend.py`); `mapping.rules` assembles the file's model.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, model_validator

ACCOUNT_HINT = "an account code (like 6050) or an account name (like 'Meals and Entertainment')"


def _account_ref(value: object) -> object:
    # YAML reads `6050` as an int; codes are text in every ledger.
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise ValueError(f"expected {ACCOUNT_HINT}")
    text = str(value).strip()
    if not text:
        raise ValueError(f"expected {ACCOUNT_HINT}, got an empty value")
    return text


def _text(value: object) -> object:
    # Tag option names and aliases may look like numbers in YAML (a cost center "100").
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    return value


AccountRef = Annotated[str, BeforeValidator(_account_ref)]
Text = Annotated[str, BeforeValidator(_text)]


class Strict(BaseModel):
    """Unknown keys are refused, values are frozen."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class CategoryRule(Strict):
    """Where one source category goes. `RESTAURANTS: 6050` is short for `RESTAURANTS: {account: 6050}`."""

    account: AccountRef = Field(description=ACCOUNT_HINT)
    vendor: Text | None = Field(None, description="a vendor name that replaces the merchant on these lines")

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, value: Any) -> Any:
        return {"account": value} if isinstance(value, int | str) and not isinstance(value, bool) else value


class MerchantOverride(Strict):
    """A merchant that goes somewhere else than its category says (matched on the normalised name)."""

    match: Text = Field(description="the merchant name to match, compared without case, punctuation or Inc/LLC")
    account: AccountRef | None = Field(None, description=ACCOUNT_HINT)
    vendor: Text | None = Field(None, description="the vendor name to post these lines to")

    @model_validator(mode="after")
    def _does_something(self) -> MerchantOverride:
        if self.account is None and self.vendor is None:
            raise ValueError("a merchant override needs an account, a vendor or both")
        return self


class SourceRules(Strict):
    """What every source's section of the mapping file has: category rules and a fallback account."""

    categories: dict[Text, CategoryRule] = Field(
        default_factory=dict, description="a map of source category -> account (or {account, vendor})")
    default_account: AccountRef | None = Field(
        None, description=f"where unmapped categories go ({ACCOUNT_HINT}); leave out to flag them instead")

    def posting(self, source: str) -> dict[str, Any]:
        """How the source's records post: posting_kind (journal or bill), posting_mode, credit_ref (the account
        journals credit), use_gl_codes, employees_as_vendors. Each source's section says."""
        raise NotImplementedError

    def overrides(self) -> list[MerchantOverride]:
        """Merchant overrides, for sources whose section has them."""
        return []


class DimensionRule(Strict):
    """A record field (department, location, project) posted as a ledger reporting tag."""

    tag: Text = Field(description="the ledger's reporting tag name, like 'Cost Center'")
    values: dict[Text, Text] = Field(
        default_factory=dict, description="a map of source value -> tag option name (unlisted values keep their name)")
    default_option: Text | None = Field(None, description="the option used when a record has no value")
    required: bool = Field(False, description="true to flag records without an option (mandatory tags always are)")


class Dimensions(Strict):
    department: DimensionRule | None = None
    location: DimensionRule | None = None
    project: DimensionRule | None = None


DEFAULT_SUFFIXES = ("inc", "incorporated", "llc", "llp", "ltd", "limited", "corp", "corporation", "co",
                    "company", "gmbh", "plc", "sa", "sas", "srl", "sro", "bv", "ag", "pty", "kk")


class VendorRules(Strict):
    aliases: dict[Text, Text] = Field(
        default_factory=dict, description="a map of raw merchant descriptor -> vendor name")
    create_missing: bool = Field(True, description="true to create vendors the ledger lacks; false to flag them")
    strip_suffixes: tuple[str, ...] = Field(
        DEFAULT_SUFFIXES, description="a list of corporate suffixes ignored when names are compared")


class TaxRules(Strict):
    """Which of the ledger's tax codes each record's line carries, for organisations that charge tax (VAT).

    A record's amount is gross (tax included). Its code is the first of: the code the source states, renamed
    through `codes`; the rule for its category; the rule for its expense account; `default`.
    """

    codes: dict[Text, Text] = Field(
        default_factory=dict, description="a map of a source's own tax code or rate name -> ledger tax name or id")
    categories: dict[Text, dict[Text, Text]] = Field(
        default_factory=dict, description="per source, a map of category -> ledger tax name or id")
    accounts: dict[AccountRef, Text] = Field(
        default_factory=dict, description="a map of expense account (code or name) -> ledger tax name or id")
    default: Text | None = Field(None, description="the ledger tax name or id for every other line")


class BusinessLocationRules(Strict):
    """Which of the ledger's business locations an entry belongs to, for organisations that have several."""

    field: str = Field("location", pattern="^(location|department)$",
                       description="the record field that selects the location: location or department")
    values: dict[Text, Text] = Field(
        default_factory=dict, description="a map of source value -> ledger location name (unlisted values keep "
                                          "their name)")
    default: Text | None = Field(None, description="the ledger location for records whose value matches none")
