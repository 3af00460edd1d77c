"""The one error the ingest code raises: what is wrong, and where (row, column) when it is known."""

from __future__ import annotations

from typing import Any


class IngestError(Exception):
    """A file we cannot read as labeled text. ``row`` counts the file's rows from 1 (a header is row 1)."""

    def __init__(self, code: str, message: str, *, row: int | None = None, column: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.row = row
        self.column = column

    def as_dict(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message, "row": self.row, "column": self.column}


def unreadable_csv(message: str, row: int, *, field_limit: int) -> IngestError:
    """The ``csv`` module's complaint about ``row``, as an error a person can act on."""
    if "field larger than field limit" in message:
        return IngestError("field_too_large", f"Row {row} has a field over {field_limit:,} characters.", row=row)
    if "unexpected end of data" in message or "EOF" in message:
        return IngestError(
            "unterminated_quote",
            f"A quoted field that starts in row {row} is never closed: the file ends inside it. Check that "
            f"quote for a missing closing '\"'.",
            row=row,
        )
    if "new-line character seen in unquoted field" in message:
        return IngestError(
            "line_break_in_field",
            f"Row {row} has a line break (a lone carriage return) inside a field that is not quoted. Put that "
            "field in double quotes, or save the file with ordinary line endings.",
            row=row,
        )
    return IngestError("malformed_csv", f"Row {row} cannot be read: {message}.", row=row)
