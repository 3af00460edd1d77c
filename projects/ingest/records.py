"""Stream a file's rows as (row number, text, labels), never holding the file in memory.

Rows that cannot be used are yielded as ``BadRow`` with the reason, so that the data check can report
them with their row numbers; only a file that cannot be read on at all raises ``IngestError``.

``delimited_rows`` and ``json_rows`` read the rows before any column is looked at (decoding, the
delimiter, the header, row numbers); ``read_records`` builds on them, and so does batch prediction
(``inference.runtime.batch_io``), which reads them leniently.
"""

from __future__ import annotations

import codecs
import csv
import io
import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, BinaryIO, cast

from projects.ingest.errors import IngestError, unreadable_csv
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

    @property
    def closed(self) -> bool:
        """Closed with the stream it counts: a reader dropped after its caller closed the stream must see
        that, not try to flush into it."""
        return super().closed or bool(getattr(self.stream, "closed", False))

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        data = self.stream.read(len(buffer))
        n = len(data)
        buffer[:n] = data
        self.bytes_read += n
        return n


def counting(stream: BinaryIO) -> _Counting:
    return _Counting(stream)


@contextmanager
def _decoded(stream: BinaryIO, layout: Layout, lenient: bool, on_bytes: _Counting | None) -> Iterator[io.TextIOWrapper]:
    """The file as text in the layout's encoding, read ahead in large blocks.

    Both wrappers are detached at the end, so that the caller's stream is left open (dropping a wrapper
    closes what it wraps); unless the caller closed it first (a reader dropped half-way).
    """
    raw = cast(io.RawIOBase, stream if on_bytes is None else on_bytes)
    buffered = io.BufferedReader(raw, 1 << 20)
    text_stream = io.TextIOWrapper(
        buffered, encoding=layout.encoding, newline="", errors="replace" if lenient else "tunebase_undecodable"
    )
    try:
        yield text_stream
    finally:
        if not text_stream.closed and not getattr(stream, "closed", False):
            text_stream.detach()
            buffered.detach()


def delimited_rows(
    stream: BinaryIO, layout: Layout, *, lenient: bool = False, on_bytes: _Counting | None = None
) -> Iterator[tuple[int, list[str]]]:
    """A CSV/TSV/Comprehend file's rows after its header, as (row number, fields); empty rows skipped.

    Strict (a dataset): a quote left open or followed by more text, or a row in another encoding than
    the rows before it, stops the file with an ``IngestError`` that names the row. Lenient (a batch
    prediction, which answers every row it can): quotes are read as the ``csv`` module's default
    dialect reads them and bytes the encoding cannot decode become U+FFFD. Either way a field over
    ``MAX_FIELD_CHARS`` stops the file.
    """
    csv.field_size_limit(MAX_FIELD_CHARS)
    row = 0
    with _decoded(stream, layout, lenient, on_bytes) as text_stream:
        reader = csv.reader(text_stream, delimiter=layout.delimiter, strict=not lenient)
        hits = _Undecodable.hits
        try:
            if layout.has_header:
                next(reader, None)
                row = 1
            for cells in reader:
                row += 1
                if not cells:
                    continue
                if _Undecodable.hits != hits and not lenient and _undecodable(*cells):
                    raise _bad_encoding(layout, row)
                yield row, cells
        except csv.Error as error:
            raise _unreadable(str(error), row + 1) from None


def json_rows(
    stream: BinaryIO, layout: Layout, *, lenient: bool = False, on_bytes: _Counting | None = None
) -> Iterator[tuple[int, dict[str, Any]] | BadRow]:
    """A JSON Lines file's objects, as (row number, object); blank lines skipped, and a line that is not
    a JSON object yielded as a ``BadRow``. Strict and lenient decoding as for ``delimited_rows``."""
    row = 0
    with _decoded(stream, layout, lenient, on_bytes) as text_stream:
        hits = _Undecodable.hits
        for line in text_stream:
            row += 1
            if not line.strip():
                continue
            if _Undecodable.hits != hits and not lenient and _undecodable(line):
                raise _bad_encoding(layout, row)
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as error:
                yield BadRow(row, "invalid_json", f"is not valid JSON ({error.msg})", None)
                continue
            if not isinstance(obj, dict):
                yield BadRow(row, "invalid_json", "is not a JSON object", None)
                continue
            yield row, obj


def _unreadable(message: str, row: int) -> IngestError:
    return unreadable_csv(message, row, field_limit=MAX_FIELD_CHARS)


def _bad_encoding(layout: Layout, row: int) -> IngestError:
    return IngestError(
        "invalid_encoding",
        f"Row {row} is not valid {layout.encoding_label} although the rows before it are: the file mixes "
        "encodings. Save it again with one encoding (UTF-8).",
        row=row,
    )


def read_records(
    stream: BinaryIO,
    layout: Layout,
    *,
    text_column: str,
    label_column: str,
    multi_label: bool,
    on_bytes: _Counting | None = None,
) -> Iterator[Record | BadRow]:
    """The file's rows as ``Record`` (text and labels) or ``BadRow`` (why the row cannot be used)."""
    if layout.format == Format.JSONL:
        objects = json_rows(stream, layout, on_bytes=on_bytes)
        return _json_records(objects, text_column, label_column, multi_label)
    rows = delimited_rows(stream, layout, on_bytes=on_bytes)
    return _delimited_records(rows, layout, text_column, label_column, multi_label)


def _delimited_records(
    rows: Iterator[tuple[int, list[str]]], layout: Layout, text_column: str, label_column: str, multi_label: bool
) -> Iterator[Record | BadRow]:
    text_index = _column_index(layout, text_column, "text")
    label_index = _column_index(layout, label_column, "label")
    width = len(layout.columns)
    needed = max(text_index, label_index) + 1
    for row, cells in rows:
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


def _json_records(
    objects: Iterator[tuple[int, dict[str, Any]] | BadRow], text_column: str, label_column: str, multi_label: bool
) -> Iterator[Record | BadRow]:
    for item in objects:
        if isinstance(item, BadRow):
            yield item
            continue
        row, obj = item
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
