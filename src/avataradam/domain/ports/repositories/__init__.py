"""Persistence ports. Repositories live inside a UnitOfWork, which owns the transaction.

Listings use keyset pagination: `list_page(cursor=..., limit=n)` returns at most `n`
rows ordered by `(created_at, id)` ascending, strictly after the cursor. A caller that
wants to know whether a next page exists asks for `limit + 1` rows and drops the last.

Adapters raise a specific `Conflict` for a uniqueness violation (`EmailTaken`, ...),
`NotFound` when an update or a reference targets a missing row, `ConcurrentUpdate` when
another transaction won a race, and `DependencyUnavailable` when the store cannot be
reached.
"""
