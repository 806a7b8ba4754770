"""Mapping: rules from a YAML file, applied as joins over a month of records, grouped into drafts.

The names below load on first use: the sources' own modules import `mapping.rule_types` (and so this package)
while `mapping.rules` imports the source registry, so importing them here eagerly would be an import cycle.
"""

from importlib import import_module

_HOMES = {
    "MappingResult": "apply", "map_records": "apply",
    "build_bill_drafts": "drafts", "build_journal_drafts": "drafts", "posting_key_for": "drafts",
    "vendors_to_create": "drafts",
    "MappingRules": "rules", "load_rules": "rules", "parse_rules": "rules",
    "EXCEPTION_COLUMNS": "schema", "MAPPED_COLUMNS": "schema", "REASONS": "schema",
}

__all__ = sorted(_HOMES)


def __getattr__(name: str):
    if name not in _HOMES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(import_module(f"{__name__}.{_HOMES[name]}"), name)
