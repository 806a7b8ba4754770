"""Business locations of the sandbox organisation: `GET /locations`, and `location_id` on bills and journals.

The Locations API is not in the saved references (bills.yml only says location_id "Can be fetched from
the Locations API. Required for organizations with multiple locations."). Its shape here follows a public
copy of Zoho's Locations page (zoho.com/books/api/v3/locations): `GET /locations` ->
`{"code": 0, "message": "success", "locations": [{location_id, location_name, type, email, phone,
address{...}, status, is_primary, parent_location_id, associated_series_ids, auto_number_generation_id,
is_all_users_selected, associated_users}]}`, no page_context. UNCONFIRMED beyond that page.

- "us": the locations feature is off. `GET /locations` answers an empty list (UNCONFIRMED: Zoho may
  answer an error for an organisation without the feature) and location fields are ignored, as before.
- "uk": London (primary), Manchester and Edinburgh, all active. Bills and journals need a header
  `location_id` (bills.yml: required with several locations; journals.yml is silent, and the sandbox takes
  the stricter reading for journals too). A line may name its own `location_id`, else it takes the
  header's. Missing -> 400 code 2 "location_id is required ..."; unknown -> 400 code 1002 "Location does
  not exist." (codes and texts UNCONFIRMED). Saved records echo `location_id`/`location_name` on the
  header and every line (bills.yml and journals.yml response keys), and bill list rows carry them too.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from ml_connector.sandbox.catalog import OrgProfile, numeric_id
from ml_connector.sandbox.zoho_records import ZohoError, not_found_in_body

_ADDRESSES = {
    "London": ("1 Finsbury Avenue", "London", "England", "EC2M 2PF"),
    "Manchester": ("3 Hardman Street", "Manchester", "England", "M3 3HF"),
    "Edinburgh": ("10 George Street", "Edinburgh", "Scotland", "EH2 2PF"),
}


@dataclass(frozen=True)
class ZohoLocation:
    location_id: str
    name: str
    is_primary: bool
    status: str = "active"


def build_locations(seed: int, profile: OrgProfile) -> dict[str, ZohoLocation]:
    return {location_id: ZohoLocation(location_id, name, index == 0)
            for index, name in enumerate(profile.business_locations)
            for location_id in (numeric_id(seed, "location", profile.key, name),)}


def location_row(location: ZohoLocation, email: str) -> dict:
    street, city, state, _postcode = _ADDRESSES.get(location.name, ("", location.name, "", ""))
    return {
        "location_id": location.location_id, "location_name": location.name, "type": "general",
        "email": email, "phone": "", "status": location.status, "is_primary": location.is_primary,
        "address": {"city": city, "state": state, "country": "U.K", "attention": "", "state_code": "",
                    "street_address1": street, "street_address2": ""},
        "parent_location_id": "", "associated_series_ids": [], "auto_number_generation_id": "",
        "is_all_users_selected": True, "associated_users": [],
    }


def entry_location(locations: Mapping[str, ZohoLocation], raw: object, where: str,
                   default: ZohoLocation | None = None) -> ZohoLocation | None:
    """The location an entry (or one of its lines) names; required on the entry when locations are on."""
    location_id = str(raw or "").strip()
    if not locations:
        return None  # the feature is off: location fields are ignored
    if not location_id:
        if default is not None:
            return default
        raise ZohoError(400, 2, f"location_id is required for {where}: this organization has several "
                                "business locations. Send the location_id of one from GET /locations.")
    location = locations.get(location_id)
    if location is None or location.status != "active":
        raise not_found_in_body("Location")
    return location


def location_fields(location: ZohoLocation | None) -> dict:
    if location is None:
        return {"location_id": "", "location_name": ""}
    return {"location_id": location.location_id, "location_name": location.name}
