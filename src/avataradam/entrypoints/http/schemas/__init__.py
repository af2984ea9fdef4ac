"""Request and response bodies of the public API (v1), one module per resource:
`identity` (tokens, users), `dealerships`, `documents`, `search`, `conversations`,
`feedback`, `webhooks`, `usage`, `scenarios`; `common` holds what several share."""
