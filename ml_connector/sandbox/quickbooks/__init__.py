"""The QuickBooks Online sandbox: Intuit's OAuth 2.0 token server and the Accounting API v3.

Mounted by the sandbox server at `/quickbooks-oauth` (token endpoint `POST /oauth2/v1/tokens/bearer`) and
`/quickbooks` (API paths `/v3/company/{realmId}/...`). Built from Intuit's XSDs, recorded real exchanges
and the notes in `reference/quickbooks/` and `reference/notes/quickbooks.md`; where those are silent the
stricter behaviour is chosen and marked UNCONFIRMED in the module that implements it:

- `oauth`        token server: rotating refresh tokens, authorization codes, revoke
- `api`          the gate (auth, realm, limits, minorversion, requestid) and the routes
- `transactions` create / update / delete / void of JournalEntry and Bill (`journals`, `bills`, `tax`)
- `names`        Vendor, Account, Class, Department
- `attachments`  upload and note attachables
- `query`, `search`  the query language and its execution
- `schema`       the XSD-declared request keys (2010 for anything else)
- `errors`       both fault envelopes and every code and text
- `limits`, `idempotency`, `reference` (the "us" / "uk" company), `records`, `store`, `control`
"""

from ml_connector.sandbox.quickbooks.sandbox import QuickBooksSandbox

__all__ = ["QuickBooksSandbox"]
