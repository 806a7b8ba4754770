"""The mapping file: pydantic models of its sections, and `load_rules` that turns a bad file into a
ConfigError naming the file, the line, the field and the fix.

Accounts are referenced by code (`6050`) or by name (`Meals and Entertainment`); both are resolved
against the ledger's chart of accounts when records are mapped, not here, so one file serves any
ledger that has the same codes.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, model_validator

from ml_connector.errors import ConfigError
from ml_connector.mapping.yaml_lines import line_of

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


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class CategoryRule(_Strict):
    """Where one source category goes. `RESTAURANTS: 6050` is short for `RESTAURANTS: {account: 6050}`."""

    account: AccountRef = Field(description=ACCOUNT_HINT)
    vendor: Text | None = Field(None, description="a vendor name that replaces the merchant on these lines")

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, value: Any) -> Any:
        return {"account": value} if isinstance(value, int | str) and not isinstance(value, bool) else value


class MerchantOverride(_Strict):
    """A merchant that goes somewhere else than its category says (matched on the normalised name)."""

    match: Text = Field(description="the merchant name to match, compared without case, punctuation or Inc/LLC")
    account: AccountRef | None = Field(None, description=ACCOUNT_HINT)
    vendor: Text | None = Field(None, description="the vendor name to post these lines to")

    @model_validator(mode="after")
    def _does_something(self) -> MerchantOverride:
        if self.account is None and self.vendor is None:
            raise ValueError("a merchant override needs an account, a vendor or both")
        return self


class BrexRules(_Strict):
    posting_mode: Literal["per_record", "per_day"] = Field(
        "per_record", description="per_record (one journal per expense) or per_day (one per day, card, currency)")
    credit_account: AccountRef = Field(description=f"the Brex card liability account: {ACCOUNT_HINT}")
    default_account: AccountRef | None = Field(
        None, description=f"where unmapped categories go ({ACCOUNT_HINT}); leave out to flag them instead")
    categories: dict[Text, CategoryRule] = Field(
        default_factory=dict, description="a map of Brex category -> account (or {account, vendor})")
    merchant_overrides: list[MerchantOverride] = Field(
        default_factory=list, description="a list of {match, account, vendor} entries")


class ExpensifyRules(_Strict):
    posting_mode: Literal["bill", "journal"] = Field(
        "bill", description="bill (one vendor bill per report) or journal (one journal per report)")
    credit_account: AccountRef | None = Field(
        None, description=f"the account journals credit, usually Employee Reimbursements: {ACCOUNT_HINT}")
    use_gl_codes: bool = Field(True, description="true to use the GL code Expensify categories carry")
    categories: dict[Text, CategoryRule] = Field(
        default_factory=dict, description="a map of Expensify category name -> account")
    default_account: AccountRef | None = Field(
        None, description=f"where unmapped categories go ({ACCOUNT_HINT}); leave out to flag them instead")
    employees_as_vendors: bool = Field(True, description="true to bill each employee as the vendor")

    @model_validator(mode="after")
    def _journal_needs_credit(self) -> ExpensifyRules:
        if self.posting_mode == "journal" and self.credit_account is None:
            raise ValueError("posting_mode journal needs credit_account (e.g. 2150 Employee Reimbursements)")
        return self


class DimensionRule(_Strict):
    """A record field (department, location, project) posted as a ledger reporting tag."""

    tag: Text = Field(description="the ledger's reporting tag name, like 'Cost Center'")
    values: dict[Text, Text] = Field(
        default_factory=dict, description="a map of source value -> tag option name (unlisted values keep their name)")
    default_option: Text | None = Field(None, description="the option used when a record has no value")
    required: bool = Field(False, description="true to flag records without an option (mandatory tags always are)")


class Dimensions(_Strict):
    department: DimensionRule | None = None
    location: DimensionRule | None = None
    project: DimensionRule | None = None


DEFAULT_SUFFIXES = ("inc", "incorporated", "llc", "llp", "ltd", "limited", "corp", "corporation", "co",
                    "company", "gmbh", "plc", "sa", "sas", "srl", "sro", "bv", "ag", "pty", "kk")


class VendorRules(_Strict):
    aliases: dict[Text, Text] = Field(
        default_factory=dict, description="a map of raw merchant descriptor -> vendor name")
    create_missing: bool = Field(True, description="true to create vendors the ledger lacks; false to flag them")
    strip_suffixes: tuple[str, ...] = Field(
        DEFAULT_SUFFIXES, description="a list of corporate suffixes ignored when names are compared")


class MappingRules(_Strict):
    version: Literal[1] = Field(1, description="1")
    brex: BrexRules | None = None
    expensify: ExpensifyRules | None = None
    dimensions: Dimensions = Field(default_factory=Dimensions)
    vendors: VendorRules = Field(default_factory=VendorRules)


def load_rules(path: str | Path) -> MappingRules:
    """Read and validate a mapping file; any problem is a ConfigError with file, line and fix."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read the mapping file ({exc.strerror}).", setting="mapping_file",
                          file=str(path), fix="point the connector at an existing mapping file, "
                                              "e.g. a copy of config/mapping.example.yaml.") from exc
    return parse_rules(text, str(path))


def parse_rules(text: str, file: str = "<mapping>") -> MappingRules:
    try:
        data = yaml.safe_load(text)
        root = yaml.compose(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        raise ConfigError(f"not valid YAML: {exc.problem or exc}.", file=file,
                          line=mark.line + 1 if mark else None,
                          fix="correct the YAML syntax at that line (indentation, a missing ':' or quote).") from exc
    if not isinstance(data, dict):
        raise ConfigError("the mapping file must be a YAML mapping with sections brex, expensify, dimensions, "
                          "vendors.", file=file, line=1, fix="start from config/mapping.example.yaml.")
    try:
        return MappingRules.model_validate(data)
    except ValidationError as exc:
        raise _config_error(exc, root, file) from None


def _config_error(exc: ValidationError, root: yaml.Node | None, file: str) -> ConfigError:
    problems = []
    for error in exc.errors():
        loc = tuple(error["loc"])
        path = ".".join(str(part) for part in loc) or "(top level)"
        problems.append((path, loc, error))
    path, loc, error = problems[0]
    message = f"{path}: {_describe(error)}"
    if len(problems) > 1:
        others = "; ".join(f"{p}: {_describe(e)}" for p, _, e in problems[1:6])
        message += f" (and {len(problems) - 1} more: {others})"
    return ConfigError(message, setting=path, file=file, line=line_of(root, loc), fix=_fix(loc, error))


def _describe(error: dict) -> str:
    kind = error["type"]
    if kind == "extra_forbidden":
        return "unknown key"
    if kind == "missing":
        return "required but missing"
    text = str(error["msg"]).removeprefix("Value error, ")
    value = error.get("input")
    return f"{text} (got {value!r})" if isinstance(value, str | int | float | bool) else text


def _fix(loc: tuple, error: dict) -> str:
    kind = error["type"]
    field = _field_at(loc)
    described = field.description if field is not None and field.description else None
    name = str(loc[-1]) if loc else "the file"
    if kind == "extra_forbidden":
        allowed = _allowed_keys(loc[:-1])
        listed = f" Allowed keys here: {', '.join(allowed)}." if allowed else ""
        return f"remove '{name}' or correct its spelling.{listed}"
    if kind == "missing":
        return f"add '{name}:' with {described}." if described else f"add '{name}:'."
    if described:
        return f"set {'.'.join(map(str, loc))} to {described}."
    model = _model_at(loc)
    if model is not None:
        where = ".".join(map(str, loc)) or "the top level"
        keys = ", ".join(model.model_fields)
        return f"write {where} as a mapping with the keys it needs; keys allowed there: {keys}."
    return "correct the value as described; config/mapping.example.yaml shows every key."


def _model_at(loc: tuple) -> type[BaseModel] | None:
    """The pydantic model whose fields sit at `loc` (walking dicts and lists of models)."""
    model: type[BaseModel] | None = MappingRules
    index = 0
    while model is not None and index < len(loc):
        field = model.model_fields.get(str(loc[index]))
        if field is None:
            return None
        inner = _inner_model(field.annotation)
        index += 1
        if inner is not None and _is_container(field.annotation):
            index += 1  # skip the dict key or the list index
        model = inner
    return model


def _field_at(loc: tuple):
    model = _model_at(loc[:-1]) if loc else None
    return model.model_fields.get(str(loc[-1])) if model is not None else None


def _allowed_keys(loc: tuple) -> list[str]:
    model = _model_at(loc)
    return list(model.model_fields) if model is not None else []


def _inner_model(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in getattr(annotation, "__args__", ()) or ():
        found = _inner_model(arg)
        if found is not None:
            return found
    return None


def _is_container(annotation: Any) -> bool:
    origin = getattr(annotation, "__origin__", None)
    if origin in (dict, list, tuple):
        return True
    return any(_is_container(arg) for arg in getattr(annotation, "__args__", ()) or ())
