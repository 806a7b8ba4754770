"""Mapping: rules from a YAML file, applied as joins over a month of records, grouped into drafts."""

from ml_connector.mapping.apply import MappingResult, map_records
from ml_connector.mapping.drafts import build_bill_drafts, build_journal_drafts, posting_key_for, vendors_to_create
from ml_connector.mapping.rules import MappingRules, load_rules, parse_rules
from ml_connector.mapping.schema import EXCEPTION_COLUMNS, MAPPED_COLUMNS, REASONS

__all__ = ["EXCEPTION_COLUMNS", "MAPPED_COLUMNS", "REASONS", "MappingResult", "MappingRules", "build_bill_drafts",
           "build_journal_drafts", "load_rules", "map_records", "parse_rules", "posting_key_for",
           "vendors_to_create"]
