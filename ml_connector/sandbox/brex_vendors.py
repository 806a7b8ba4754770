"""Brex vendors (payments.yaml): list with a name filter, create with a required Idempotency-Key, get by id.

Vendors have no external id at Brex, and `company_name` "must be unique", so a connector matches by
name. A repeated Idempotency-Key returns the first response unchanged, whatever the new body says
(Brex: a duplicate is "identified as a duplicate and ignored"). Only successful creates are remembered,
so a request that failed validation can be fixed and sent again under the same key.
"""

from __future__ import annotations

from ml_connector.sandbox.brex_params import ApiError, bad_request
from ml_connector.sandbox.catalog import Company, stable_id

SEEDED_VENDOR_COUNT = 3  # a few vendors exist before any client creates one, as in a real account


class BrexVendors:
    def __init__(self, company: Company) -> None:
        self.company = company
        self.vendors: dict[str, dict] = {}
        self.idempotent: dict[str, dict] = {}  # Idempotency-Key -> the first response body
        for merchant in company.merchants[:SEEDED_VENDOR_COUNT]:
            self._add({"company_name": merchant.name, "email": None, "phone": None})

    def _add(self, body: dict) -> dict:
        vendor_id = stable_id("pdcont_", self.company.seed, "vendor", len(self.vendors))
        vendor = {"id": vendor_id, "company_name": body["company_name"], "email": body.get("email"),
                  "phone": body.get("phone"), "payment_accounts": []}
        self.vendors[vendor_id] = vendor
        return vendor

    def matching(self, name: str | None) -> list[dict]:
        if not name:
            return list(self.vendors.values())
        wanted = name.strip().casefold()
        return [v for v in self.vendors.values() if (v["company_name"] or "").strip().casefold() == wanted]

    def get(self, vendor_id: str) -> dict:
        if vendor_id not in self.vendors:
            raise ApiError(404, {"type": "NOT_FOUND", "message": "Not Found", "code": "VENDOR_NOT_FOUND"})
        return self.vendors[vendor_id]

    def create(self, idempotency_key: str | None, body: object) -> dict:
        if not idempotency_key:
            raise bad_request("Idempotency-Key header is required for POST /v1/vendors")
        if idempotency_key in self.idempotent:
            return self.idempotent[idempotency_key]
        if not isinstance(body, dict):
            raise bad_request("request body must be a JSON object with company_name")
        name = body.get("company_name")
        if not isinstance(name, str) or not name.strip():
            raise bad_request("company_name is required")
        if not name.isascii():
            raise bad_request("company_name is invalid")  # Brex: "[Field name] is invalid" for non-ASCII
        for optional in ("email", "phone"):
            if body.get(optional) is not None and not isinstance(body[optional], str):
                raise bad_request(f"{optional} must be a string")
        if self.matching(name):
            raise bad_request(f"company_name must be unique: a vendor named {name.strip()!r} already exists")
        if body.get("payment_accounts"):
            raise bad_request("payment_accounts are not supported by the sandbox; create the vendor without them")
        vendor = self._add({**body, "company_name": name.strip()})
        self.idempotent[idempotency_key] = vendor
        return vendor

    def dump(self) -> dict:
        return {"vendors": list(self.vendors.values()), "idempotent": self.idempotent}

    def load(self, data: dict) -> None:
        if "vendors" in data:
            self.vendors = {v["id"]: v for v in data["vendors"]}
        self.idempotent = dict(data.get("idempotent", {}))
