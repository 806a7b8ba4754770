"""The Zoho Books sandbox as a UK organisation (`SandboxConfig.org="uk"`) over real HTTP: VAT rates, tax on
bill and journal lines to the penny, business locations, and edits that recompute tax.
"""

from __future__ import annotations

import pytest

from ml_connector.sandbox.catalog import MERCHANTS
from ml_connector.sandbox.config import SandboxConfig
from ml_connector.sandbox.server import SandboxServer
from tests.sandbox.test_zoho_sandbox import ZohoHttp, assert_error, tag_list


@pytest.fixture(scope="module")
def server():
    sandbox = SandboxServer(SandboxConfig(last_month="2026-10", rate_limits="off", org="uk")).start()
    yield sandbox
    sandbox.stop()


@pytest.fixture(scope="module")
def zoho(server) -> ZohoHttp:
    return ZohoHttp(server)


@pytest.fixture(scope="module")
def ref(zoho) -> dict:
    ref = zoho.reference()
    everything = zoho.get("/settings/taxes", filter_by="Taxes.All").json()["taxes"]
    ref["taxes"] = {t["tax_name"]: t["tax_id"] for t in everything}
    ref["locations"] = {loc["location_name"]: loc["location_id"]
                        for loc in zoho.get("/locations").json()["locations"]}
    return ref


@pytest.fixture(scope="module")
def vendor_id(zoho) -> str:
    return zoho.get("/contacts", contact_name=MERCHANTS[0].name).json()["contacts"][0]["contact_id"]


DAY = "2026-10-15"


def bill_line(ref: dict, rate: object, tax: str | None = "Standard Rate", code: str = "6060", **extra) -> dict:
    line = {"account_id": ref["accounts"][code], "name": "Supplies", "rate": rate, "quantity": 1, **extra}
    if tax is not None:
        line["tax_id"] = ref["taxes"][tax]
    return line


def bill_body(ref: dict, vendor_id: str, number: str, lines: list[dict], location: str | None = "London",
              **extra) -> dict:
    body = {"vendor_id": vendor_id, "bill_number": number, "date": DAY, "line_items": lines, **extra}
    if location is not None:
        body["location_id"] = ref["locations"][location]
    return body


def journal_lines(ref: dict, debit: object, credit: object, tax: str | None = None) -> list[dict]:
    debit_line = {"account_id": ref["accounts"]["6020"], "debit_or_credit": "debit", "amount": debit,
                  "tags": tag_list(ref)}
    if tax:
        debit_line["tax_id"] = ref["taxes"][tax]
    return [debit_line, {"account_id": ref["accounts"]["2100"], "debit_or_credit": "credit", "amount": credit,
                         "tags": tag_list(ref)}]


def journal_body(ref: dict, reference: str, lines: list[dict], location: str | None = "London", **extra) -> dict:
    body = {"journal_date": DAY, "reference_number": reference, "line_items": lines, **extra}
    if location is not None:
        body["location_id"] = ref["locations"][location]
    return body


# --- the organisation -----------------------------------------------------------------------------------

def test_organization_is_a_vat_registered_gbp_org_in_london(zoho):
    org = zoho.get("/organizations").json()["organizations"][0]
    assert (org["country_code"], org["currency_code"], org["time_zone"]) == ("UK", "GBP", "Europe/London")
    assert org["tax_id_label"] == "VAT Registration Number" and org["tax_id_value"].startswith("GB")
    assert org["fiscal_year_start_month"] == "4"


def test_currencies_are_gbp_based_with_usd_eur_and_jpy_rates(zoho):
    currencies = {c["currency_code"]: c for c in zoho.get("/settings/currencies").json()["currencies"]}
    assert currencies["GBP"]["is_base_currency"] is True and currencies["GBP"]["exchange_rate"] == 0
    assert currencies["USD"]["exchange_rate"] == 0.787402 and currencies["JPY"]["price_precision"] == 0
    assert {"EUR", "JPY", "USD"} <= currencies.keys()


def test_chart_keeps_the_shared_codes_and_adds_a_vat_control_account(zoho):
    accounts = {a["account_code"]: a for a in
                zoho.get("/chartofaccounts", filter_by="AccountType.All").json()["chartofaccounts"]}
    assert {"2000", "2100", "6020", "6060", "6990"} <= accounts.keys()
    vat = accounts["2200"]
    assert (vat["account_name"], vat["account_type"], vat["is_system_account"]) == \
        ("VAT Payable", "other_current_liability", True)


def test_taxes_list_the_active_uk_vat_rates(zoho):
    body = zoho.get("/settings/taxes").json()
    assert body["page_context"]["applied_filter"] == "Taxes.Active"
    rates = {t["tax_name"]: t["tax_percentage"] for t in body["taxes"]}
    assert rates == {"Standard Rate": 20, "Reduced Rate": 5, "Zero Rate": 0, "Exempt": 0, "Out of Scope": 0}
    assert [t["tax_name"] for t in body["taxes"] if t["is_default_tax"]] == ["Standard Rate"]


def test_inactive_tax_is_hidden_by_default_and_listed_on_request(zoho, ref):
    inactive = zoho.get("/settings/taxes", filter_by="Taxes.Inactive").json()["taxes"]
    assert [(t["tax_name"], t["tax_percentage"], t["status"]) for t in inactive] == \
        [("Standard Rate (17.5%)", 17.5, "inactive")]
    single = zoho.get(f"/settings/taxes/{ref['taxes']['Reduced Rate']}").json()["tax"]
    assert (single["tax_name"], single["tax_percentage"], single["status"]) == ("Reduced Rate", 5, "active")
    assert_error(zoho.get("/settings/taxes/123"), 404, 1002, "Tax does not exist.")


def test_locations_are_london_manchester_and_edinburgh(zoho):
    locations = zoho.get("/locations").json()["locations"]
    assert [(loc["location_name"], loc["is_primary"], loc["status"]) for loc in locations] == [
        ("London", True, "active"), ("Manchester", False, "active"), ("Edinburgh", False, "active")]


# --- tax on bills ---------------------------------------------------------------------------------------

def test_bill_line_without_tax_id_is_refused(zoho, ref, vendor_id):
    lines = [bill_line(ref, "10.00"), bill_line(ref, "5.00", tax=None)]
    assert_error(zoho.post("/bills", bill_body(ref, vendor_id, "UK-NOTAX", lines)), 400, 2, "tax_id",
                 "line item 2")
    assert zoho.get("/bills", bill_number="UK-NOTAX").json()["bills"] == []


def test_inactive_and_unknown_taxes_are_refused(zoho, ref, vendor_id):
    old_rate = [bill_line(ref, "10.00", tax="Standard Rate (17.5%)")]
    assert_error(zoho.post("/bills", bill_body(ref, vendor_id, "UK-OLD", old_rate)), 400, 2, "inactive",
                 "Standard Rate (17.5%)")
    unknown = [bill_line(ref, "10.00") | {"tax_id": "999999999999999999"}]
    assert_error(zoho.post("/bills", bill_body(ref, vendor_id, "UK-UNK", unknown)), 400, 1002,
                 "Tax does not exist.")


def test_exclusive_bill_adds_tax_per_line_rounded_half_up(zoho, ref, vendor_id):
    lines = [bill_line(ref, "99.99"), bill_line(ref, "2.50", tax="Reduced Rate"),
             bill_line(ref, "33.33", tax="Zero Rate"), bill_line(ref, "12.00", tax="Exempt")]
    response = zoho.post("/bills", bill_body(ref, vendor_id, "UK-EXCL", lines))
    assert response.status_code == 201, response.text
    bill = response.json()["bill"]
    assert [(li["item_total"], li["line_item_taxes"][0]["tax_amount"], li["item_total_inclusive_of_tax"])
            for li in bill["line_items"]] == [(99.99, 20, 119.99), (2.5, 0.13, 2.63), (33.33, 0, 33.33),
                                               (12, 0, 12)]
    assert (bill["sub_total"], bill["tax_total"], bill["total"], bill["balance"]) == \
        (147.82, 20.13, 167.95, 167.95)
    assert bill["is_inclusive_tax"] is False and bill["tax_rounding"] == "item_level"
    assert {t["tax_name"]: t["tax_amount"] for t in bill["taxes"]} == \
        {"Standard Rate": 20, "Reduced Rate": 0.13, "Zero Rate": 0, "Exempt": 0}
    assert bill["line_items"][0]["tax_percentage"] == 20 and bill["vat_treatment"] == "uk"


def test_inclusive_bill_takes_tax_out_of_the_gross(zoho, ref, vendor_id):
    lines = [bill_line(ref, "100.00"), bill_line(ref, "10.00", tax="Reduced Rate")]
    body = bill_body(ref, vendor_id, "UK-INCL", lines, is_inclusive_tax=True)
    bill = zoho.post("/bills", body).json()["bill"]
    assert [(li["rate"], li["item_total"], li["line_item_taxes"][0]["tax_amount"],
             li["item_total_inclusive_of_tax"]) for li in bill["line_items"]] == \
        [(100, 83.33, 16.67, 100), (10, 9.52, 0.48, 10)]
    assert (bill["sub_total"], bill["tax_total"], bill["total"], bill["sub_total_inclusive_of_tax"]) == \
        (92.85, 17.15, 110, 110)


def test_bill_in_dollars_keeps_its_currency_and_converts_rates_to_pounds(zoho, ref, vendor_id):
    body = bill_body(ref, vendor_id, "UK-USD", [bill_line(ref, "50.00")], currency_id=ref["currencies"]["USD"])
    bill = zoho.post("/bills", body).json()["bill"]
    assert (bill["currency_code"], bill["exchange_rate"], bill["total"]) == ("USD", 0.787402, 60)
    assert bill["line_items"][0]["bcy_rate"] == 39.37


def test_uk_bill_takes_vat_treatment_not_tax_treatment(zoho, ref, vendor_id):
    lines = [bill_line(ref, "10.00")]
    overseas = zoho.post("/bills", bill_body(ref, vendor_id, "UK-VT", lines, vat_treatment="overseas"))
    assert overseas.json()["bill"]["vat_treatment"] == "overseas"
    assert_error(zoho.post("/bills", bill_body(ref, vendor_id, "UK-VT2", lines, vat_treatment="mars")), 400, 2,
                 "vat_treatment")
    assert_error(zoho.post("/bills", bill_body(ref, vendor_id, "UK-TT", lines, tax_treatment="vat_registered")),
                 400, 2, "tax_treatment")


# --- locations --------------------------------------------------------------------------------------------

def test_bill_needs_a_known_location(zoho, ref, vendor_id):
    lines = [bill_line(ref, "10.00")]
    assert_error(zoho.post("/bills", bill_body(ref, vendor_id, "UK-NOLOC", lines, location=None)), 400, 2,
                 "location_id")
    unknown = bill_body(ref, vendor_id, "UK-BADLOC", lines) | {"location_id": "999999999999999999"}
    assert_error(zoho.post("/bills", unknown), 400, 1002, "Location does not exist.")


def test_bill_lines_take_the_header_location_unless_they_name_one(zoho, ref, vendor_id):
    lines = [bill_line(ref, "10.00"), bill_line(ref, "20.00", location_id=ref["locations"]["Edinburgh"])]
    bill = zoho.post("/bills", bill_body(ref, vendor_id, "UK-LOC", lines, location="Manchester")).json()["bill"]
    assert (bill["location_id"], bill["location_name"]) == (ref["locations"]["Manchester"], "Manchester")
    assert [li["location_name"] for li in bill["line_items"]] == ["Manchester", "Edinburgh"]
    row = zoho.get("/bills", bill_number="UK-LOC").json()["bills"][0]
    assert row["location_name"] == "Manchester"
    by_location = zoho.get("/bills", location_ids=ref["locations"]["Manchester"]).json()["bills"]
    assert "UK-LOC" in {b["bill_number"] for b in by_location}
    assert all(b["location_name"] == "Manchester" for b in by_location)


def test_journal_needs_a_known_location(zoho, ref):
    lines = journal_lines(ref, "10.00", "10.00")
    assert_error(zoho.post("/journals", journal_body(ref, "UK-JNOLOC", lines, location=None)), 400, 2,
                 "location_id", "the journal")
    unknown = journal_body(ref, "UK-JBADLOC", lines) | {"location_id": "1"}
    assert_error(zoho.post("/journals", unknown), 400, 1002, "Location does not exist.")


# --- tax on journals ---------------------------------------------------------------------------------------

def test_journal_lines_need_no_tax(zoho, ref):
    response = zoho.post("/journals", journal_body(ref, "UK-JPLAIN", journal_lines(ref, "10.00", "10.00")))
    assert response.status_code == 201, response.text
    journal = response.json()["journal"]
    assert journal["taxes"] == [] and journal["line_items"][0]["tax_id"] == ""
    assert journal["location_name"] == "London" and journal["line_items"][1]["location_name"] == "London"


def test_taxed_journal_line_books_its_vat_on_the_same_side(zoho, ref):
    response = zoho.post("/journals", journal_body(ref, "UK-JTAX", journal_lines(ref, "99.99", "119.99",
                                                                                 tax="Standard Rate")))
    assert response.status_code == 201, response.text
    journal = response.json()["journal"]
    assert journal["taxes"] == [{"tax_name": "Standard Rate", "tax_amount": 20, "debit_or_credit": "debit",
                                 "tax_account": True}]
    assert (journal["line_item_total"], journal["total"]) == (99.99, 119.99)
    debit = journal["line_items"][0]
    assert (debit["tax_id"], debit["tax_percentage"], debit["line_item_taxes"][0]["tax_amount"]) == \
        (ref["taxes"]["Standard Rate"], 20, 20)


def test_taxed_journal_must_balance_with_its_tax(zoho, ref):
    unbalanced = journal_body(ref, "UK-JUNBAL", journal_lines(ref, "99.99", "99.99", tax="Standard Rate"))
    assert_error(zoho.post("/journals", unbalanced), 400, 4, "not balanced", "119.99", "99.99")


def test_journal_refuses_an_inactive_tax(zoho, ref):
    lines = journal_lines(ref, "10.00", "11.75", tax="Standard Rate (17.5%)")
    assert_error(zoho.post("/journals", journal_body(ref, "UK-JOLD", lines)), 400, 2, "inactive")


def test_timestamps_are_in_london_time(zoho, ref):
    journal = zoho.post("/journals", journal_body(ref, "UK-JTIME", journal_lines(ref, "1.00", "1.00"))).json()
    assert journal["journal"]["created_time"][-5:] in ("+0000", "+0100")


# --- edits recompute tax ----------------------------------------------------------------------------------

def test_editing_a_taxed_bill_recomputes_its_tax(zoho, ref, vendor_id):
    bill = zoho.post("/bills", bill_body(ref, vendor_id, "UK-EDIT", [bill_line(ref, "10.00")])).json()["bill"]
    line = {"line_item_id": bill["line_items"][0]["line_item_id"], **bill_line(ref, "40.00", tax="Reduced Rate")}
    response = zoho.request("PUT", f"/bills/{bill['bill_id']}", json={"line_items": [line]})
    assert response.status_code == 200, response.text
    updated = response.json()["bill"]
    assert (updated["sub_total"], updated["tax_total"], updated["total"]) == (40, 2, 42)
    assert updated["line_items"][0]["line_item_id"] == bill["line_items"][0]["line_item_id"]
    assert updated["location_name"] == "London"


def test_editing_a_journal_to_an_unbalanced_taxed_one_is_refused(zoho, ref):
    journal = zoho.post("/journals", journal_body(ref, "UK-JEDIT", journal_lines(ref, "10.00", "10.00"))).json()
    lines = journal_lines(ref, "10.00", "10.00", tax="Standard Rate")
    response = zoho.request("PUT", f"/journals/{journal['journal']['journal_id']}",
                            json={"journal_date": DAY, "line_items": lines})
    assert_error(response, 400, 4, "not balanced")
    kept = zoho.get(f"/journals/{journal['journal']['journal_id']}").json()["journal"]
    assert kept["taxes"] == [] and kept["total"] == 10
