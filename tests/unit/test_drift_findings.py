"""What counts as an edit of a posted entry: lines compared as multisets with the lines the ledger saved."""

from datetime import date
from decimal import Decimal

from ml_connector.drift_findings import Finding, line_changes
from ml_connector.models import LedgerLine


def line(account: str, side: str, amount: str, tags: tuple[str, ...] = ("t1",), day: int = 5) -> LedgerLine:
    return LedgerLine(ledger_entity_id="9", posting_key="MLC-" + "0" * 20, entry_date=date(2026, 10, day),
                      account_id=account, side=side, amount=Decimal(amount), currency="USD", tag_option_ids=tags)


SAVED = [line("6050", "debit", "42.10"), line("2100", "credit", "42.10")]


def test_the_same_lines_in_another_order_are_no_change():
    assert line_changes(SAVED, list(reversed(SAVED))) == ()


def test_a_trailing_zero_is_no_change():
    assert line_changes(SAVED, [line("6050", "debit", "42.1"), line("2100", "credit", "42.100")]) == ()


def test_new_amounts_are_amounts():
    assert line_changes(SAVED, [line("6050", "debit", "52.10"), line("2100", "credit", "52.10")]) == ("amounts",)


def test_another_account_is_accounts():
    assert line_changes(SAVED, [line("6060", "debit", "42.10"), SAVED[1]]) == ("accounts",)


def test_amounts_swapped_between_accounts_are_accounts():
    saved = [line("6050", "debit", "10.00"), line("6060", "debit", "30.00"), line("2100", "credit", "40.00")]
    now = [line("6050", "debit", "30.00"), line("6060", "debit", "10.00"), line("2100", "credit", "40.00")]
    assert line_changes(saved, now) == ("accounts",)


def test_another_option_is_dimensions():
    assert line_changes(SAVED, [line("6050", "debit", "42.10", ("t2",)), SAVED[1]]) == ("dimensions",)


def test_a_line_added_is_lines_and_amounts():
    now = [*SAVED, line("6050", "debit", "0.00")]
    assert set(line_changes(SAVED, now)) >= {"lines", "amounts"}


def test_a_new_date_is_date():
    assert line_changes(SAVED, [line("6050", "debit", "42.10", day=6), line("2100", "credit", "42.10", day=6)]) \
        == ("date",)


def test_a_finding_seen_twice_in_the_same_ledger_state_has_one_key_and_a_new_state_another():
    first = Finding(kind="edited", posting_key="MLC-" + "1" * 20, entry_kind="journal", ledger_entity_id="9",
                    summary="edited", changes=("amounts",), state="2026-11-02T10:00:00-0400")
    again = Finding.from_dict(first.to_dict())
    later = Finding(**{**first.__dict__, "state": "2026-11-03T09:00:00-0400"})
    assert again.key == first.key and later.key != first.key and len(first.key) <= 128
