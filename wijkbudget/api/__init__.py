"""The open data API: read-only JSON under /api/v1, described by an OpenAPI 3 document."""
