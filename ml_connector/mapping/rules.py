"""The mapping file: pydantic models of its sections, and `load_rules` that turns a bad file into a
ConfigError naming the file, the line, the field and the fix.

Accounts are referenced by code (`6050`) or by name (`Meals and Entertainment`); both are resolved
against the ledger's chart of accounts when records are mapped, not here, so one file serves any
ledger that has the same codes.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, Field, ValidationError, create_model

from ml_connector.errors import ConfigError
from ml_connector.mapping.rule_types import (
    DEFAULT_SUFFIXES,
    BusinessLocationRules,
    Dimensions,
    SourceRules,
    Strict,
    TaxRules,
    VendorRules,
)
from ml_connector.mapping.yaml_lines import line_of
from ml_connector.sources.registry import SOURCES

__all__ = ["DEFAULT_SUFFIXES", "MappingRules", "load_rules", "parse_rules"]


class _MappingFile(Strict):
    version: int = Field(1, description="1", ge=1, le=1)
    dimensions: Dimensions = Field(default_factory=Dimensions)
    vendors: VendorRules = Field(default_factory=VendorRules)
    tax: TaxRules = Field(default_factory=TaxRules)
    business_location: BusinessLocationRules = Field(default_factory=BusinessLocationRules)

    @property
    def sources(self) -> dict[str, SourceRules]:
        """The configured source sections, by source name."""
        return {name: getattr(self, name) for name in SOURCES if getattr(self, name) is not None}


# One optional section per registered source (`brex:`, `expensify:`, ...), each validated by the source's own
# model: a new source adds a section without an edit here.
MappingRules = create_model(
    "MappingRules", __base__=_MappingFile,
    **{name: (spec.rules_model | None, Field(None, description=f"the {name} section"))
       for name, spec in SOURCES.items()})


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
        raise ConfigError(f"the mapping file must be a YAML mapping with sections {', '.join(SOURCES)}, dimensions, "
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
