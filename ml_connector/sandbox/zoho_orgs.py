"""The two Zoho Books organisations the sandbox can be (`SandboxConfig.org`), in Zoho's own words.

- "us" (default): the organisation the sandbox always modelled, every value as recorded from a live US
  org (recorded-nango list-organizations): USD, America/New_York, no tax, the locations feature off.
- "uk": a VAT-registered UK organisation: GBP base currency (USD, EUR and JPY with rates to GBP),
  Europe/London, fiscal year from April, UK VAT rates (`zoho_taxes`), three business locations
  (`zoho_locations`) and a VAT control account beside the shared chart of accounts.

What the references do not show for a UK organisation, chosen in Zoho's style (UNCONFIRMED):
- `country_code` "UK" (taxes.yml's own example for a UK tax; not ISO "GB") and `country_name` "U.K"
  (the recorded US org says "U.S.A"); `date_format` "dd/MM/yyyy".
- The VAT registration number is given in the organisation's existing `tax_id_label` / `tax_id_value`
  (keys the recording has, empty there). organizations.yml and the recording carry no
  `is_tax_registered` or VAT key, so none is invented: a client tells a tax-enabled organisation by
  `GET /settings/taxes` answering rates (the recorded US org answers an empty list).
- The VAT control account is "VAT Payable" (other_current_liability, a system account, code 2200): the
  recorded US chart has the system account "Tax Payable"; the UK edition's name is unconfirmed. Tax on
  bills and journals is booked there.
"""

from __future__ import annotations

from dataclasses import replace
from zoneinfo import ZoneInfo

from ml_connector.sandbox.catalog import ORG_PROFILES, Company, Currency, LedgerAccount, OrgProfile

VAT_CONTROL_ACCOUNT = LedgerAccount("2200", "VAT Payable", "other_current_liability")

# Organisation keys whose values differ by profile; everything else is shared (zoho_reference).
_ORG_WIRE = {
    "us": {"email": "accounting@example.com", "date_format": "MM/dd/yyyy", "tax_id_label": "",
           "tax_id_value": "", "country_code": "US", "country_name": "U.S.A", "portal_name": "acmerobotics"},
    "uk": {"email": "accounts@example.co.uk", "date_format": "dd/MM/yyyy",
           "tax_id_label": "VAT Registration Number", "tax_id_value": "GB123456789", "country_code": "UK",
           "country_name": "U.K", "portal_name": "acmeroboticsuk"},
}


def org_profile(org: str) -> OrgProfile:
    return ORG_PROFILES[org]


def org_zone(profile: OrgProfile) -> ZoneInfo:
    return ZoneInfo(profile.time_zone)


def org_wire_values(profile: OrgProfile) -> dict:
    return dict(_ORG_WIRE[profile.key])


def org_accounts(company: Company, profile: OrgProfile) -> tuple[LedgerAccount, ...]:
    """The shared chart of accounts (same codes in every organisation), plus the VAT account when taxed."""
    extra = (VAT_CONTROL_ACCOUNT,) if profile.is_tax_enabled else ()
    return company.chart_of_accounts + extra


def org_currencies(company: Company, profile: OrgProfile) -> tuple[Currency, ...]:
    """The company's currencies with their rates to this organisation's base currency."""
    return tuple(replace(c, rate_to_base=profile.rates_to_base[c.code]) for c in company.currencies)
