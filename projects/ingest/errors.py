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
