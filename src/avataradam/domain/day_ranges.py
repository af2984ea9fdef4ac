"""The `from`/`to` day ranges of reports (usage, analytics, knowledge gaps)."""

from __future__ import annotations

from datetime import date

from avataradam.domain.errors import InvalidInput


def require_day_range(start: date, end: date, *, max_days: int, per: str = "report") -> None:
    """Refuses a range of UTC days, both ends included, that runs backwards or spans more
    than `max_days` days: InvalidInput on `from`, respectively `to` ("at most N days per
    `per`")."""
    if start > end:
        raise InvalidInput("from must not be after to", field="from")
    if (end - start).days + 1 > max_days:
        raise InvalidInput(f"at most {max_days} days per {per}", field="to")
