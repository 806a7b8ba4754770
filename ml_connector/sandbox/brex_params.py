"""Request parsing shared by the Brex sandbox routes: cursors, limits, date-times, and the error they raise.

The cursor is what Brex's own example shows once decoded: base64 of `{"limit":2,"offset":2}`.
"""

from __future__ import annotations

import base64
import binascii
import json
from datetime import UTC, date, datetime


class ApiError(Exception):
    """A response the sandbox gives instead of the normal one: status, JSON body, extra headers."""

    def __init__(self, status: int, body: dict | list | None, headers: dict[str, str] | None = None) -> None:
        super().__init__(f"{status}: {body}")
        self.status = status
        self.body = body
        self.headers = headers or {}


def bad_request(message: str) -> ApiError:
    # Brex's generic error body (`type`, `message`); the exact wording of validation messages is ours.
    return ApiError(400, {"type": "BAD_REQUEST", "message": message})


def encode_cursor(offset: int, limit: int) -> str:
    return base64.b64encode(json.dumps({"limit": limit, "offset": offset}, separators=(",", ":")).encode()).decode()


def decode_cursor(cursor: str | None) -> int:
    """The offset a cursor points at; 0 without one."""
    if not cursor:
        return 0
    try:
        data = json.loads(base64.b64decode(cursor.encode(), validate=True))
        offset = int(data["offset"])
    except (binascii.Error, ValueError, KeyError, TypeError) as error:
        raise bad_request("cursor is invalid; pass the next_cursor of the previous page unchanged") from error
    if offset < 0:
        raise bad_request("cursor is invalid; pass the next_cursor of the previous page unchanged")
    return offset


def parse_limit(raw: str | None, default: int, maximum: int) -> int:
    if raw is None or raw == "":
        return default
    try:
        limit = int(float(raw))
    except ValueError as error:
        raise bad_request(f"limit must be an integer between 1 and {maximum}, not {raw!r}") from error
    if limit < 1 or limit > maximum:
        raise bad_request(f"limit must be an integer between 1 and {maximum}, not {limit}")
    return limit


def parse_datetime(name: str, raw: str | None, end_of_day: bool = False) -> datetime | None:
    """RFC 3339 date-time; Brex's examples omit the offset, which we read as UTC. A bare date is accepted."""
    if raw is None or raw == "":
        return None
    try:
        if len(raw) == 10:
            day = date.fromisoformat(raw)
            value = datetime(day.year, day.month, day.day, tzinfo=UTC)
            if end_of_day:
                value = value.replace(hour=23, minute=59, second=59, microsecond=999_999)
        else:
            value = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError as error:
        raise bad_request(f"{name} must be an RFC 3339 date-time such as 2026-10-01T00:00:00Z, "
                          f"not {raw!r}") from error
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value


def page_body(items: list, offset: int, limit: int, total: int) -> dict:
    """Brex's page envelope: `next_cursor` is null on the last page."""
    end = offset + len(items)
    return {"next_cursor": encode_cursor(end, limit) if end < total else None, "items": items}
