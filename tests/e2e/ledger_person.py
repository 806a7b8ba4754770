"""A person in the ledger's app, for the drift tests: edits, voids, deletes and copies entries through each
sandbox ledger's public HTTP API with credentials of their own, never through the connector's clients.

Each person reads an entry as the app shows it, changes it and saves it back, as the app would: a journal's
amounts (every line, so it stays balanced), the account or the dimension of its debit line (taken from another
entry, so the value is one the ledger has), a void, a deletion, and a copy of an entry under a reference.
"""

from __future__ import annotations

import base64
import re
from datetime import UTC, datetime
from decimal import Decimal

import requests

from ml_connector.sandbox.server import SandboxServer

TIMEOUT = 15
MORE = Decimal("10.00")


def _ok(response: requests.Response) -> dict:
    request = response.request
    assert response.status_code < 300, f"{request.method} {request.url}: {response.status_code} {response.text}"
    return response.json() if response.content else {}


class ZohoPerson:
    """Zoho Books: journals are edited and deleted (Zoho has no void for journals); bills voided and deleted."""

    def __init__(self, server: SandboxServer) -> None:
        creds = server.config.credentials
        token = _ok(requests.post(server.url("zoho-accounts") + "/oauth/v2/token", timeout=TIMEOUT, params={
            "grant_type": "refresh_token", "client_id": creds.zoho_client_id,
            "client_secret": creds.zoho_client_secret, "refresh_token": creds.zoho_refresh_token}))
        self.books = token["api_domain"] + "/books/v3"
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Zoho-oauthtoken {token['access_token']}"
        self.org = {"organization_id": creds.zoho_organization_id}

    def _call(self, method: str, path: str, **kwargs) -> dict:
        return _ok(self.session.request(method, self.books + path, params=self.org, timeout=TIMEOUT, **kwargs))

    @staticmethod
    def _path(kind: str) -> str:
        return "journals" if kind == "journal" else "bills"

    def entry(self, kind: str, entity_id: str) -> dict:
        return self._call("GET", f"/{self._path(kind)}/{entity_id}")[kind]

    def _lines(self, journal: dict) -> list[dict]:
        return [{"line_id": line["line_id"], "account_id": line["account_id"], "customer_id": line.get("customer_id"),
                 "description": line.get("description", ""), "debit_or_credit": line["debit_or_credit"],
                 "amount": line["amount"], "tags": [{"tag_id": t["tag_id"], "tag_option_id": t["tag_option_id"]}
                                                    for t in line.get("tags", [])]}
                for line in journal["line_items"]]

    def _save(self, journal: dict, lines: list[dict]) -> None:
        self._call("PUT", f"/journals/{journal['journal_id']}",
                   json={"journal_date": journal["journal_date"], "line_items": lines})

    def add_to_amounts(self, entity_id: str) -> None:
        journal = self.entry("journal", entity_id)
        lines = self._lines(journal)
        for line in lines:
            line["amount"] = str(Decimal(str(line["amount"])) + MORE)
        self._save(journal, lines)

    def take_account(self, entity_id: str, from_id: str) -> None:
        journal, other = self.entry("journal", entity_id), self.entry("journal", from_id)
        lines = self._lines(journal)
        debit = next(line for line in lines if line["debit_or_credit"] == "debit")
        debit["account_id"] = next(line["account_id"] for line in self._lines(other)
                                   if line["debit_or_credit"] == "debit")
        self._save(journal, lines)

    def take_dimensions(self, entity_id: str, from_id: str) -> None:
        journal, other = self.entry("journal", entity_id), self.entry("journal", from_id)
        lines = self._lines(journal)
        debit = next(line for line in lines if line["debit_or_credit"] == "debit")
        debit["tags"] = next(line["tags"] for line in self._lines(other) if line["debit_or_credit"] == "debit")
        self._save(journal, lines)

    def void(self, kind: str, entity_id: str) -> None:
        assert kind == "bill", "Zoho Books voids bills; a journal is deleted instead"
        self._call("POST", f"/bills/{entity_id}/status/void")

    def delete(self, kind: str, entity_id: str) -> None:
        self._call("DELETE", f"/{self._path(kind)}/{entity_id}")

    def copy(self, entity_id: str, reference: str) -> str:
        journal = self.entry("journal", entity_id)
        lines = [{k: v for k, v in line.items() if k != "line_id"} for line in self._lines(journal)]
        body = {"journal_date": journal["journal_date"], "reference_number": reference, "notes": "entered by hand",
                "journal_type": "both", "currency_id": journal["currency_id"], "line_items": lines}
        return str(self._call("POST", "/journals", json=body)["journal"]["journal_id"])


class QuickBooksPerson:
    """QuickBooks Online: journals are edited, voided and deleted; bills deleted (QuickBooks voids no bill)."""

    def __init__(self, server: SandboxServer) -> None:
        creds = server.config.credentials
        grant = _ok(requests.post(server.url("quickbooks") + "/_sandbox/authorize", json={}, timeout=TIMEOUT))
        pair = base64.b64encode(f"{creds.quickbooks_client_id}:{creds.quickbooks_client_secret}".encode()).decode()
        token = _ok(requests.post(server.url("quickbooks-oauth") + "/oauth2/v1/tokens/bearer", timeout=TIMEOUT,
                                  data={"grant_type": "authorization_code", "code": grant["code"]},
                                  headers={"Authorization": f"Basic {pair}", "Accept": "application/json"}))
        self.base = server.url("quickbooks") + f"/v3/company/{grant['realmId']}"
        self.session = requests.Session()
        self.session.headers.update({"Authorization": f"Bearer {token['access_token']}", "Accept": "application/json"})

    @staticmethod
    def _entity(kind: str) -> str:
        return "JournalEntry" if kind == "journal" else "Bill"

    def _call(self, method: str, path: str, params: dict | None = None, **kwargs) -> dict:
        return _ok(self.session.request(method, self.base + path, params={"minorversion": 75, **(params or {})},
                                        timeout=TIMEOUT, **kwargs))

    def entry(self, kind: str, entity_id: str) -> dict:
        return self._call("GET", f"/{self._entity(kind).lower()}/{entity_id}")[self._entity(kind)]

    def _save(self, journal: dict, lines: list[dict]) -> None:
        self._call("POST", "/journalentry", json={"Id": journal["Id"], "SyncToken": journal["SyncToken"],
                                                  "sparse": True, "Line": lines})

    @staticmethod
    def _debit(lines: list[dict]) -> dict:
        return next(line for line in lines if line["JournalEntryLineDetail"]["PostingType"] == "Debit")

    def add_to_amounts(self, entity_id: str) -> None:
        journal = self.entry("journal", entity_id)
        lines = journal["Line"]
        for line in lines:
            line["Amount"] = float(Decimal(str(line["Amount"])) + MORE)  # a JSON number, as the app sends it
        self._save(journal, lines)

    def take_account(self, entity_id: str, from_id: str) -> None:
        journal, other = self.entry("journal", entity_id), self.entry("journal", from_id)
        lines = journal["Line"]
        self._debit(lines)["JournalEntryLineDetail"]["AccountRef"] = \
            self._debit(other["Line"])["JournalEntryLineDetail"]["AccountRef"]
        self._save(journal, lines)

    def take_dimensions(self, entity_id: str, from_id: str) -> None:
        journal, other = self.entry("journal", entity_id), self.entry("journal", from_id)
        lines = journal["Line"]
        detail = self._debit(lines)["JournalEntryLineDetail"]
        source = self._debit(other["Line"])["JournalEntryLineDetail"]
        for ref in ("ClassRef", "DepartmentRef"):  # the line's class, and its location (department)
            if ref in source:
                detail[ref] = source[ref]
        self._save(journal, lines)

    def void(self, kind: str, entity_id: str) -> None:
        entry = self.entry(kind, entity_id)
        self._call("POST", f"/{self._entity(kind).lower()}", params={"operation": "void"},
                   json={"Id": entry["Id"], "SyncToken": entry["SyncToken"]})

    def delete(self, kind: str, entity_id: str) -> None:
        entry = self.entry(kind, entity_id)
        self._call("POST", f"/{self._entity(kind).lower()}", params={"operation": "delete"},
                   json={"Id": entry["Id"], "SyncToken": entry["SyncToken"]})

    def copy(self, entity_id: str, reference: str) -> str:
        journal = self.entry("journal", entity_id)
        lines = [{k: v for k, v in line.items() if k not in ("Id", "LineNum")} for line in journal["Line"]]
        body = {"TxnDate": journal["TxnDate"], "DocNumber": reference, "PrivateNote": "entered by hand",
                "Line": lines, **({"CurrencyRef": journal["CurrencyRef"]} if "CurrencyRef" in journal else {})}
        created = self._call("POST", "/journalentry", params={"include": "allowduplicatedocnum"}, json=body)
        return str(created["JournalEntry"]["Id"])


class XeroPerson:
    """Xero: manual journals are edited and voided, bills voided (Xero deletes no POSTED or AUTHORISED entry).

    Xero's refresh tokens rotate and a used one has no second successor: the person authorises first and the
    connector is then given the successor (`connector_refresh_token`), as two apps of one organisation would."""

    def __init__(self, server: SandboxServer) -> None:
        creds = server.config.credentials
        token = _ok(requests.post(server.url("xero-identity") + "/connect/token", timeout=TIMEOUT,
                                  auth=(creds.xero_client_id, creds.xero_client_secret),
                                  data={"grant_type": "refresh_token", "refresh_token": creds.xero_refresh_token}))
        self.connector_refresh_token = token["refresh_token"]
        self.api = server.url("xero") + "/api.xro/2.0"
        self.session = requests.Session()
        self.session.headers.update({"Authorization": f"Bearer {token['access_token']}",
                                     "xero-tenant-id": creds.xero_tenant_id, "Accept": "application/json"})

    @staticmethod
    def _endpoint(kind: str) -> str:
        return "ManualJournals" if kind == "journal" else "Invoices"

    def entry(self, kind: str, entity_id: str) -> dict:
        endpoint = self._endpoint(kind)
        return _ok(self.session.get(f"{self.api}/{endpoint}/{entity_id}", timeout=TIMEOUT))[endpoint][0]

    def _save(self, kind: str, entity_id: str, changes: dict) -> None:
        endpoint = self._endpoint(kind)
        _ok(self.session.post(f"{self.api}/{endpoint}/{entity_id}", json={endpoint: [changes]}, timeout=TIMEOUT))

    @staticmethod
    def _lines(journal: dict) -> list[dict]:
        return [{"LineAmount": line["LineAmount"], "AccountCode": line["AccountCode"], "TaxType": line["TaxType"],
                 "Description": line["Description"],
                 "Tracking": [{"Name": t["Name"], "Option": t["Option"]} for t in line.get("Tracking", [])]}
                for line in journal["JournalLines"]]

    @staticmethod
    def _debit(lines: list[dict]) -> dict:
        return next(line for line in lines if Decimal(str(line["LineAmount"])) > 0)

    def add_to_amounts(self, entity_id: str) -> None:
        lines = self._lines(self.entry("journal", entity_id))
        for line in lines:
            amount = Decimal(str(line["LineAmount"]))
            line["LineAmount"] = str(amount + MORE if amount > 0 else amount - MORE)
        self._save("journal", entity_id, {"JournalLines": lines})

    def take_account(self, entity_id: str, from_id: str) -> None:
        lines = self._lines(self.entry("journal", entity_id))
        self._debit(lines)["AccountCode"] = self._debit(self._lines(self.entry("journal", from_id)))["AccountCode"]
        self._save("journal", entity_id, {"JournalLines": lines})

    def take_dimensions(self, entity_id: str, from_id: str) -> None:
        lines = self._lines(self.entry("journal", entity_id))
        self._debit(lines)["Tracking"] = self._debit(self._lines(self.entry("journal", from_id)))["Tracking"]
        self._save("journal", entity_id, {"JournalLines": lines})

    def void(self, kind: str, entity_id: str) -> None:
        self._save(kind, entity_id, {"Status": "VOIDED"})

    def delete(self, kind: str, entity_id: str) -> None:
        raise AssertionError("Xero deletes no posted manual journal or authorised bill: void it instead")

    def copy(self, entity_id: str, reference: str) -> str:
        journal = self.entry("journal", entity_id)
        body = {"Narration": f"{reference} entered by hand", "Date": _iso_day(journal["Date"]), "Status": "POSTED",
                "LineAmountTypes": journal["LineAmountTypes"], "JournalLines": self._lines(journal)}
        created = _ok(self.session.put(f"{self.api}/ManualJournals", json={"ManualJournals": [body]}, timeout=TIMEOUT))
        return str(created["ManualJournals"][0]["ManualJournalID"])


def _iso_day(ms_date: str) -> str:
    """Xero's `/Date(1793404800000+0000)/` as the YYYY-MM-DD its app shows."""
    millis = int(re.search(r"\((-?\d+)", ms_date).group(1))
    return datetime.fromtimestamp(millis / 1000, UTC).date().isoformat()


PEOPLE = {"zoho_books": ZohoPerson, "quickbooks": QuickBooksPerson, "xero": XeroPerson}
