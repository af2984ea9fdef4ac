"""Use cases: small classes taking their ports in __init__, one `__call__` each."""
