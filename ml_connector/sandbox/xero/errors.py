"""Every error answer the Xero sandbox gives, in one place, with where each body comes from.

- 400 ValidationException (OAS `Error`/`Element`/`ValidationError`, notes §5): `{"ErrorNumber": 10, "Type":
  "ValidationException", "Message": "A validation exception occurred", "Elements": [{<the submitted object>,
  "ValidationErrors": [{"Message": "..."}]}]}`.
- 400 QueryParseException for a `where`/`order` the parser refuses: `{"ErrorNumber": 16, "Type":
  "QueryParseException", "Message": "..."}` (real body, XeroAPI/xero-php-oauth2#307, xeroizer #164).
- 400 PostDataInvalidException for a body that is not JSON or a value of the wrong type: `{"ErrorNumber": 14,
  "Type": "PostDataInvalidException", "Message": "JSON for post data was invalid,..."}` (UNCONFIRMED: number,
  type and wording chosen in Xero's style).
- 401 `{"title": "Unauthorized", "status": 401, "detail": "AuthenticationUnsuccessful", "instance": <id>}` with
  `WWW-Authenticate: Bearer error="invalid_token"` (real curl capture, notes §3).
- 403 `{"Type": null, "Title": "Forbidden", "Status": 403, "Detail": "AuthenticationUnsuccessful", "Instance":
  <id>, "Extensions": {}}` for a missing or unknown `xero-tenant-id` (real bodies, XeroAPI/xero-node#432,
  dcblogdev/laravel-xero#40).
- 404 plain text "The resource you're looking for cannot be found" for an unknown id or route (real,
  XeroAPI/Xero-OpenAPI#163: "the API doesn't return usable JSON data").
- 429 with an empty body (notes §6: the body is unconfirmed; simulate empty), see `limits`.
"""

from __future__ import annotations

NOT_FOUND_TEXT = "The resource you're looking for cannot be found"


class XeroError(Exception):
    """An error answer: status, a JSON body (dict) or text, and extra headers."""

    def __init__(self, status: int, body: dict | str, headers: dict[str, str] | None = None) -> None:
        super().__init__(body if isinstance(body, str) else body.get("Message", body.get("detail", "")))
        self.status = status
        self.body = body
        self.headers = headers or {}


class Invalid(Exception):
    """One submitted object failed validation: Xero's messages for it, collected before anything is stored."""

    def __init__(self, *messages: str) -> None:
        super().__init__("; ".join(messages))
        self.messages = list(messages)


def validation_body(elements: list[dict]) -> dict:
    return {"ErrorNumber": 10, "Type": "ValidationException", "Message": "A validation exception occurred",
            "Elements": elements}


def validation_failed(elements: list[dict]) -> XeroError:
    return XeroError(400, validation_body(elements))


def invalid_request(message: str, echo: dict | None = None) -> XeroError:
    """A ValidationException for the request as a whole (a parameter, a header, an attachment)."""
    return validation_failed([{**(echo or {}), "ValidationErrors": [{"Message": message}]}])


def query_parse_error(message: str) -> XeroError:
    return XeroError(400, {"ErrorNumber": 16, "Type": "QueryParseException", "Message": message})


def post_data_invalid(message: str) -> XeroError:
    return XeroError(400, {"ErrorNumber": 14, "Type": "PostDataInvalidException", "Message": message})


def not_found() -> XeroError:
    return XeroError(404, NOT_FOUND_TEXT)


def unauthorized(instance: str) -> XeroError:
    return XeroError(401, {"title": "Unauthorized", "status": 401, "detail": "AuthenticationUnsuccessful",
                           "instance": instance},
                     {"WWW-Authenticate": 'Bearer error="invalid_token"'})


def forbidden(instance: str) -> XeroError:
    return XeroError(403, {"Type": None, "Title": "Forbidden", "Status": 403, "Detail": "AuthenticationUnsuccessful",
                           "Instance": instance, "Extensions": {}})
