"""The Xero sandbox: Xero's identity (OAuth2) server and the Accounting API 2.0, built from
`reference/xero/` (xero_accounting.yaml, xero-identity.yaml, the recordings) and `reference/notes/xero.md`.

Mounted by the sandbox server at `/xero-identity` (token URL `{sandbox}/xero-identity/connect/token`) and `/xero`
(`GET {sandbox}/xero/connections`, `{sandbox}/xero/api.xro/2.0/...`, control routes `{sandbox}/xero/_sandbox/...`).
One tenant, `config.credentials.xero_tenant_id`, whose organisation follows `config.org` ("us" or "uk", see
`reference`). Where the notes mark something unconfirmed the sandbox does the stricter thing and says so in the
module that does it:

- identity       refresh grant, 30-minute access tokens, rotating refresh tokens (old one refused)
- api            routing and the gate: auth 401, tenant 403, limits 429, latency, Idempotency-Key
- handlers       one handler per route; batch writes and summarizeErrors
- errors         every error body, with its source
- limits         per-tenant minute / in-flight / day and app-wide minute limits, the sandbox day
- idempotency    replay window and the same-key-different-request answer
- where          the `where` / `order` language; queries: paging, If-Modified-Since, list parameters
- journals       ManualJournals; invoices: ACCPAY bills; contacts; settings: accounts, tracking, currencies
- validation     line and lock-date rules shared by journals and bills; tax: tax rates and totals
- attachments    files on bills and journals, size and count limits
- reference      the organisation profiles; records: wire shapes; wire: dates, envelope, JSON
- store          state, indexes, persistence; control: the `/_sandbox/...` routes; sandbox: `XeroSandbox`

`config.limit_overrides` keys: xero.access_token_ttl, xero.refresh_grace_seconds, xero.refresh_token_ttl,
xero.per_minute, xero.concurrency, xero.daily, xero.app_per_minute, xero.day_seconds, xero.idempotency_seconds,
xero.attachment_max_bytes, xero.attachments_per_record.

Deliberate simplifications: only ACCPAY invoices (bills); no payments, credit notes, bank transactions,
history, PDFs or webhooks; DELETE routes (accounts, tracking) are not served (404); one tenant per sandbox.
"""

from ml_connector.sandbox.xero.sandbox import XeroSandbox

__all__ = ["XeroSandbox"]
