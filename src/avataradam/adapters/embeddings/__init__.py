"""Embedding adapters of the `Embedder` port: `hashing`, `local`, `openai`.

Nothing is imported here, so a process pays for a vendor SDK (openai, torch) only when
its settings choose that adapter.
"""
