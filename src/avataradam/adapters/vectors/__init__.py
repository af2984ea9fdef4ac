"""Vector index adapters (PostgreSQL, Pinecone) and what they share.

Only the shared error is exported here, so importing it pulls in no vendor driver.
"""

from avataradam.adapters.vectors.errors import VectorDimensionMismatch

__all__ = ["VectorDimensionMismatch"]
