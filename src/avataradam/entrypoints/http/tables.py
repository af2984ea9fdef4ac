"""Lists of a JSON body as CSV (RFC 4180, CRLF line ends, a header row).

A cell is the JSON value of the same field: numbers and strings as JSON writes them
(dates and times ISO 8601, ids as text), `true`/`false`, and an empty cell for null;
so `csv.DictReader` rows compare field by field with the JSON items.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence

import msgspec

CSV = "text/csv"
CSV_MEDIA_TYPE = f"{CSV}; header=present"
"""RFC 4180's `header` parameter; Litestar adds `charset=utf-8` to every text/* type
itself (naming it here too sent it twice)."""


def _cell(value: object) -> object:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return value


def csv_table(rows: Iterable[object], columns: Sequence[str]) -> str:
    """`columns` (encoded field names, or keys) of each row (a struct or a dict), in order."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(columns)
    for row in rows:
        values: dict[str, object] = msgspec.to_builtins(row)
        writer.writerow([_cell(values.get(column)) for column in columns])
    return buffer.getvalue()


def columns_of(struct: type[msgspec.Struct]) -> tuple[str, ...]:
    """The encoded field names of `struct`, in declaration order."""
    return tuple(field.encode_name for field in msgspec.structs.fields(struct))
