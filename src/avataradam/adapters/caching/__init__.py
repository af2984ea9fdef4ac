"""Caching decorators over the shared `Cache` port (Redis, or its in-memory twin).

- `retrieval`: `CachingRetriever` around a `Retriever`, with an in-process LRU (`local`).
- `embeddings`: `CachingEmbedder`, query embeddings read through the shared cache.
- `answers`: `SharedAnswerCache`, the `AnswerCache` port.
- `single_flight`: a missing key computed once across every instance (msgpack values).

The domain owns the keys (`domain.retrieval`, `domain.answers`); these adapters own how
values are encoded, locked, kept locally and expired.
"""
