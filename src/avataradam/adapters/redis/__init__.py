"""Redis adapters: rate limiting, cache and other shared state."""
