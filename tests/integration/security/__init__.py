"""Security tests: tenant isolation, roles, tokens, hostile uploads, SSRF."""
