"""The mapping file: a good file loads; a bad one names the file, the line, the key and the fix."""

from pathlib import Path

import pytest

from ml_connector.errors import ConfigError
from ml_connector.mapping import load_rules
from ml_connector.mapping.names import normalise_name
from ml_connector.mapping.rules import DEFAULT_SUFFIXES
from ml_connector.sandbox import catalog

EXAMPLE = Path(__file__).resolve().parents[2] / "config" / "mapping.example.yaml"

GOOD = """\
brex:
  posting_mode: per_day
  credit_account: 2100
  categories:
    RESTAURANTS: 6050
    SERVERS: {account: Cloud Hosting, vendor: Amazon Web Services}
  merchant_overrides:
    - match: Apple
      account: 6130
expensify:
  posting_mode: journal
  credit_account: Employee Reimbursements
dimensions:
  department: {tag: Cost Center, values: {G&A: General and Administrative}}
vendors:
  aliases: {"AWS EMEA": Amazon Web Services}
  create_missing: false
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "mapping.yaml"
    path.write_text(text)
    return path


def problem(tmp_path: Path, text: str) -> ConfigError:
    with pytest.raises(ConfigError) as caught:
        load_rules(write(tmp_path, text))
    return caught.value


def test_good_file_loads_with_codes_as_text_and_shorthand_categories(tmp_path):
    rules = load_rules(write(tmp_path, GOOD))
    assert rules.brex.posting_mode == "per_day"
    assert rules.brex.credit_account == "2100"
    assert rules.brex.categories["RESTAURANTS"].account == "6050"
    assert rules.brex.categories["SERVERS"].vendor == "Amazon Web Services"
    assert rules.brex.merchant_overrides[0].account == "6130"
    assert rules.expensify.credit_account == "Employee Reimbursements"
    assert rules.dimensions.department.values == {"G&A": "General and Administrative"}
    assert rules.vendors.create_missing is False


def test_unknown_key_names_file_line_and_allowed_keys(tmp_path):
    typo = GOOD.replace("  posting_mode: per_day\n", "  posting_mode: per_day\n  credit_acount: 1\n")
    error = problem(tmp_path, typo)
    assert error.file == str(tmp_path / "mapping.yaml")
    assert error.line == 3
    assert error.setting == "brex.credit_acount"
    assert "unknown key" in str(error)
    assert "remove 'credit_acount'" in error.fix and "credit_account" in error.fix


def test_wrong_type_names_the_field_path_and_what_is_expected(tmp_path):
    error = problem(tmp_path, GOOD.replace("RESTAURANTS: 6050", "RESTAURANTS: {account: [6050]}"))
    assert error.line == 5
    assert error.setting == "brex.categories.RESTAURANTS.account"
    assert "expected an account code" in str(error)
    assert "set brex.categories.RESTAURANTS.account to an account code" in error.fix


def test_missing_credit_account_points_at_the_brex_section(tmp_path):
    error = problem(tmp_path, GOOD.replace("  credit_account: 2100\n", ""))
    assert error.line == 1
    assert error.setting == "brex.credit_account"
    assert "required but missing" in str(error)
    assert "add 'credit_account:'" in error.fix and "card liability" in error.fix


def test_wrong_posting_mode_lists_the_choices(tmp_path):
    error = problem(tmp_path, GOOD.replace("posting_mode: per_day", "posting_mode: daily"))
    assert error.line == 2
    assert "'per_record' or 'per_day'" in str(error)


def test_override_without_account_or_vendor_is_refused(tmp_path):
    error = problem(tmp_path, GOOD.replace("      account: 6130\n", "      acount: 6130\n"))
    assert error.setting == "brex.merchant_overrides.0.acount"
    assert error.line == 9


def test_journal_mode_without_credit_account_is_refused(tmp_path):
    error = problem(tmp_path, GOOD.replace("  credit_account: Employee Reimbursements\n", ""))
    assert error.setting == "expensify"
    assert "credit_account" in str(error)


def test_broken_yaml_names_the_line(tmp_path):
    error = problem(tmp_path, "brex:\n  credit_account: 2100\n  categories: [unclosed\n")
    assert error.line is not None and error.line >= 3
    assert "not valid YAML" in str(error)


def test_missing_file_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError) as caught:
        load_rules(tmp_path / "absent.yaml")
    assert "mapping.example.yaml" in caught.value.fix


def test_example_file_loads():
    rules = load_rules(EXAMPLE)
    assert rules.brex.credit_account == catalog.CARD_LIABILITY.code
    assert rules.expensify.credit_account == catalog.EMPLOYEE_REIMBURSEMENTS.code


def test_example_covers_every_brex_category_except_the_deliberate_gap():
    rules = load_rules(EXAMPLE)
    mapped = {category: rule.account for category, rule in rules.brex.categories.items()}
    assert mapped == catalog.BREX_CATEGORY_ACCOUNTS  # FLOWERS -> 6990 (inactive) included on purpose
    assert catalog.UNMAPPED_BREX_CATEGORY not in mapped
    assert rules.brex.default_account is None


def test_example_covers_every_expensify_category_except_the_deliberate_gap():
    rules = load_rules(EXAMPLE)
    names = {category: rule.account for category, rule in rules.expensify.categories.items()}
    assert names == catalog.EXPENSIFY_CATEGORIES
    assert catalog.UNMAPPED_EXPENSIFY_CATEGORY not in names
    assert rules.expensify.default_account is None


def test_example_accounts_exist_in_the_sandbox_chart():
    rules = load_rules(EXAMPLE)
    known = {a.code for a in catalog.CHART_OF_ACCOUNTS} | {a.name for a in catalog.CHART_OF_ACCOUNTS}
    used = [o.account for o in rules.brex.merchant_overrides if o.account]
    assert set(used) <= known


def test_example_dimensions_name_the_sandbox_tags_and_options():
    rules = load_rules(EXAMPLE)
    assert rules.dimensions.department.tag == catalog.COST_CENTER_TAG
    assert rules.dimensions.location.tag == catalog.LOCATION_TAG
    assert set(rules.dimensions.department.values.values()) <= set(catalog.DEPARTMENTS)
    assert set(rules.dimensions.location.values.values()) <= set(catalog.LOCATIONS)


def test_example_aliases_name_sandbox_merchants():
    rules = load_rules(EXAMPLE)
    merchants = {normalise_name(m.name, DEFAULT_SUFFIXES) for m in catalog.MERCHANTS}
    assert {normalise_name(v, DEFAULT_SUFFIXES) for v in rules.vendors.aliases.values()} <= merchants


def test_example_aliases_resolve_every_sandbox_descriptor_to_its_merchant():
    rules = load_rules(EXAMPLE)
    aliases = {normalise_name(k, DEFAULT_SUFFIXES): v for k, v in rules.vendors.aliases.items()}
    for merchant in catalog.MERCHANTS:
        descriptor = normalise_name(merchant.descriptor, DEFAULT_SUFFIXES)
        resolved = aliases.get(descriptor, merchant.descriptor)
        assert normalise_name(resolved, DEFAULT_SUFFIXES) == normalise_name(merchant.name, DEFAULT_SUFFIXES)
