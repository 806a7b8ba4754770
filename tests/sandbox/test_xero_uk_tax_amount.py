"""The Xero sandbox's UK bills keep a TaxAmount a line states (OAS LineItem.TaxAmount: "can be overriden if the
calculated <TaxAmount> is not correct") within one penny of the computed tax, and refuse it further off."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.sandbox.test_xero_sandbox import XeroHttp, messages, one, start, uk_bill, uk_line


@pytest.fixture(scope="module")
def uk() -> Iterator[XeroHttp]:
    sandbox = start(rate_limits="off", org="uk")
    yield XeroHttp(sandbox)
    sandbox.stop()


def stated(amount: float, tax_type: str, tax: float) -> dict:
    return {**uk_line(amount, tax_type), "TaxAmount": tax}


def test_uk_bill_keeps_a_stated_tax_within_a_penny(uk):
    # 10.11 inclusive at 20% is 1.685: computed 1.69, stated 1.68.
    created = one(uk_bill(uk, [stated(10.11, "INPUT2", 1.68)], "Inclusive"), "Invoices")
    assert created["LineItems"][0]["TaxAmount"] == 1.68
    assert (created["SubTotal"], created["TotalTax"], created["Total"]) == (8.43, 1.68, 10.11)


def test_uk_bill_without_a_stated_tax_computes_it(uk):
    created = one(uk_bill(uk, [uk_line(10.11, "INPUT2")], "Inclusive"), "Invoices")
    assert created["LineItems"][0]["TaxAmount"] == 1.69


def test_uk_bill_refuses_a_stated_tax_further_off(uk):
    assert messages(uk_bill(uk, [stated(10.11, "INPUT2", 1.5)], "Inclusive")) == [
        "Tax amount 1.50 is incorrect for INPUT2 tax type, should be 1.69"]


def test_uk_bill_refuses_tax_stated_on_an_untaxed_line(uk):
    assert messages(uk_bill(uk, [stated(10, "ZERORATEDINPUT", 0.01)], "Inclusive")) == [
        "Tax amount 0.01 is incorrect for ZERORATEDINPUT tax type, should be 0.00"]
