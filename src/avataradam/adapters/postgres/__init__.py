"""PostgreSQL adapters (asyncpg) and the schema's migrations (yoyo)."""
