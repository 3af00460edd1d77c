"""Stream a file's rows as (row number, text, labels), never holding the file in memory.

Rows that cannot be used are yielded as ``BadRow`` with the reason, so that the data check can report
them with their row numbers; only a file that cannot be read on at all raises ``IngestError``.
"""

from __future__ import annotations

import codecs
import csv
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO, cast

from projects.ingest.errors import IngestError
from projects.ingest.sniff import Format, Layout

# A single cell above this is not a text anyone meant to classify: stop rather than read on.
MAX_FIELD_CHARS = 2 * 1024 * 1024


class _Undecodable:
    """A codec error handler that lets decoding go on (as surrogateescape does) but counts its uses.

    Text is decoded in large chunks ahead of the row being parsed, so a strict decoder fails rows
    before the bad one. Instead the reader notices that the count moved and from then on looks for
    the escaped bytes in each row, so that the error names the exact row.
    """

    hits = 0

    @classmethod
    def handle(cls, error: UnicodeError) -> tuple[str, int]:
        cls.hits += 1
        replacement, position = codecs.lookup_error("surrogateescape")(error)
        return str(replacement), position


codecs.register_error("tunebase_undecodable", _Undecodable.handle)


def _undecodable(*cells: str) -> bool:
    try:
        for cell in cells:
            cell.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


@dataclass(slots=True)
class Record:
    row: int
    text: str
    labels: tuple[str, ...]


@dataclass(slots=True)
class BadRow:
    row: int
    code: str
    message: str
    column: str | None


def parse_labels(cell: str, multi_label: bool) -> tuple[str, ...]:
    """One label, or for multi-label data a ``|``-separated list or a JSON list of strings."""
    cell = cell.strip()
    if not multi_label:
        return (cell,) if cell else ()
    if cell.startswith("["):
        try:
            values = json.loads(cell)
        except json.JSONDecodeError:
            values = None
        if isinstance(values, list):
            return tuple(dict.fromkeys(str(v).strip() for v in values if str(v).strip()))
    return tuple(dict.fromkeys(part.strip() for part in cell.split("|") if part.strip()))


def _column_index(layout: Layout, column: str, role: str) -> int:
    matches = [i for i, name in enumerate(layout.columns) if name == column]
    if not matches:
        raise IngestError(
            "missing_column",
            f"There is no {role} column named {column!r}. The file's columns are: "
            f"{', '.join(repr(c) for c in layout.columns)}.",
            row=1,
            column=column,
        )
    if len(matches) > 1:
        positions = " and ".join(str(i + 1) for i in matches)
        raise IngestError(
            "duplicate_header",
            f"The header names {column!r} twice (columns {positions}): rename one so it is clear which holds "
            f"the {role}.",
            row=1,
            column=column,
        )
    return matches[0]


class _Counting(io.RawIOBase):
    """Counts bytes read, for progress on large files."""

    def __init__(self, stream: BinaryIO) -> None:
        self.stream = stream
        self.bytes_read = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        data = self.stream.read(len(buffer))
        n = len(data)
        buffer[:n] = data
        self.bytes_read += n
        return n


def read_records(
    stream: BinaryIO,
    layout: Layout,
    *,
    text_column: str,
    label_column: str,
    multi_label: bool,
    on_bytes: _Counting | None = None,
) -> Iterator[Record | BadRow]:
    raw = cast(io.RawIOBase, stream if on_bytes is None else on_bytes)
    text_stream = io.TextIOWrapper(
        io.BufferedReader(raw, 1 << 20),
        encoding=layout.encoding,
        newline="",
        errors="tunebase_undecodable",
    )
    try:
        if layout.format == Format.JSONL:
            yield from _jsonl(text_stream, layout, text_column, label_column, multi_label)
        else:
            yield from _delimited(text_stream, layout, text_column, label_column, multi_label)
    finally:
        text_stream.detach()


def counting(stream: BinaryIO) -> _Counting:
    return _Counting(stream)


def _delimited(
    text_stream: io.TextIOWrapper, layout: Layout, text_column: str, label_column: str, multi_label: bool
) -> Iterator[Record | BadRow]:
    text_index = _column_index(layout, text_column, "text")
    label_index = _column_index(layout, label_column, "label")
    width = len(layout.columns)
    needed = max(text_index, label_index) + 1
    csv.field_size_limit(MAX_FIELD_CHARS)
    reader = csv.reader(text_stream, delimiter=layout.delimiter, strict=True)
    hits = _Undecodable.hits
    row = 0
    try:
        if layout.has_header:
            next(reader, None)
            row = 1
        for cells in reader:
            row += 1
            if not cells:
                continue
            if _Undecodable.hits != hits and _undecodable(*cells):
                raise _bad_encoding(layout, row)
            if len(cells) != width and (len(cells) < needed or layout.format != Format.COMPREHEND):
                yield BadRow(row, "ragged_row", f"has {len(cells)} fields where the header has {width}", None)
                continue
            text = cells[text_index]
            if not text.strip():
                yield BadRow(row, "empty_text", "the text is empty", text_column)
                continue
            if "\x00" in text:
                yield BadRow(row, "control_characters", "the text contains NUL characters", text_column)
                continue
            labels = parse_labels(cells[label_index], multi_label)
            if not labels:
                yield BadRow(row, "empty_label", "the label is empty", label_column)
                continue
            yield Record(row, text, labels)
    except csv.Error as error:
        message = str(error)
        if "field larger than field limit" in message:
            raise IngestError(
                "field_too_large", f"Row {row + 1} has a field over {MAX_FIELD_CHARS:,} characters.", row=row + 1
            ) from None
        if "unexpected end of data" in message or "EOF" in message:
            raise IngestError(
                "unterminated_quote",
                f"A quoted field that starts in row {row + 1} is never closed: the file ends inside it. Check that "
                f"quote for a missing closing '\"'.",
                row=row + 1,
            ) from None
        raise IngestError("malformed_csv", f"Row {row + 1} cannot be read: {message}.", row=row + 1) from None


def _bad_encoding(layout: Layout, row: int) -> IngestError:
    return IngestError(
        "invalid_encoding",
        f"Row {row} is not valid {layout.encoding_label} although the rows before it are: the file mixes "
        "encodings. Save it again with one encoding (UTF-8).",
        row=row,
    )


def _jsonl(
    text_stream: io.TextIOWrapper, layout: Layout, text_column: str, label_column: str, multi_label: bool
) -> Iterator[Record | BadRow]:
    hits = _Undecodable.hits
    row = 0
    for line in text_stream:
        row += 1
        if not line.strip():
            continue
        if _Undecodable.hits != hits and _undecodable(line):
            raise _bad_encoding(layout, row)
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as error:
            yield BadRow(row, "invalid_json", f"is not valid JSON ({error.msg})", None)
            continue
        if not isinstance(obj, dict):
            yield BadRow(row, "invalid_json", "is not a JSON object", None)
            continue
        text = obj.get(text_column)
        if not isinstance(text, str) or not text.strip():
            yield BadRow(row, "empty_text", f"has no text in {text_column!r}", text_column)
            continue
        value = obj.get(label_column)
        if isinstance(value, list):
            labels = tuple(dict.fromkeys(str(v).strip() for v in value if str(v).strip()))
        elif value is None:
            labels = ()
        else:
            labels = parse_labels(str(value), multi_label)
        if not labels:
            yield BadRow(row, "empty_label", f"has no label in {label_column!r}", label_column)
            continue
        yield Record(row, text, labels)
