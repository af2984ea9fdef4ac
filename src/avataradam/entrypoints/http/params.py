"""Query and header parameters shared by list and write endpoints."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from litestar.params import HeaderParameter, QueryParameter

Limit = Annotated[
    int | None, QueryParameter(ge=1, le=200, description="Page size (default 50, at most 200).")
]
CursorParam = Annotated[
    str | None,
    QueryParameter(max_length=200, description="`next_cursor` of the previous page."),
]
ListOrder = Literal["oldest", "newest"]
OrderParam = Annotated[
    ListOrder,
    QueryParameter(
        description=(
            "`oldest` first (the default) or `newest` first, by creation. A `cursor` keeps "
            "the order of the page it came from."
        )
    ),
]
IdempotencyKey = Annotated[
    str | None,
    HeaderParameter(
        name="Idempotency-Key",
        max_length=200,
        required=False,
        description=(
            "Repeat a creating request safely: a new random key (a UUID) per request, the "
            "same key on every retry of it; repeats within 24 h replay the first answer "
            "(`Idempotent-Replayed: true`) instead of creating again."
        ),
    ),
]
FirstDay = Annotated[
    date | None, QueryParameter(name="from", description="First UTC day, YYYY-MM-DD.")
]
"""`?from=`: a report's first UTC day (inclusive)."""
LastDay = Annotated[date | None, QueryParameter(name="to", description="Last UTC day, YYYY-MM-DD.")]
"""`?to=`: a report's last UTC day (inclusive)."""
