"""Files a customer might upload that cannot become a dataset, with the error each must get."""

from __future__ import annotations

import codecs
import gzip
import io
import zipfile
from dataclasses import dataclass, field

GOOD_LINES = [f"message number {i} about cards,{'card' if i % 2 else 'refund'}" for i in range(20)]


def rows(*lines: str, header: str = "text,label") -> bytes:
    return ("\n".join([header, *lines]) + "\n").encode()


def _xlsx() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("xl/workbook.xml", "<workbook/>")
    return buffer.getvalue()


def _mixed_encoding() -> bytes:
    head = rows(*GOOD_LINES) + b"".join(f"filler text row {i},card\n".encode() for i in range(4000))
    return head + "caf\xe9 in cp1252,refund\n".encode("cp1252")


@dataclass(frozen=True)
class Refused:
    name: str
    data: bytes
    code: str
    status: int = 400
    row: int | None = None
    fields: dict[str, str] = field(default_factory=dict)


REFUSED = [
    Refused("empty", b"", "empty_file"),
    Refused("only whitespace", b"  \n\r\n\t ", "empty_file"),
    Refused("only a BOM", codecs.BOM_UTF8, "empty_file"),
    Refused("header only", b"text,label\n", "header_only", row=1),
    Refused("one column", b"text\nhello there\nsecond line\n", "one_column"),
    Refused("missing named column", rows(*GOOD_LINES), "missing_column", row=1, fields={"text_column": "utterance"}),
    Refused("columns not guessable", rows("hi,a", "bye,b", header="foo,bar"), "missing_column", row=1),
    Refused(
        "same column twice",
        rows(*GOOD_LINES),
        "same_column",
        row=1,
        fields={"text_column": "text", "label_column": "text"},
    ),
    Refused("duplicate header", rows("a,b,c", "d,e,f", header="text,text,label"), "duplicate_header", row=1),
    Refused(
        "unterminated quote", rows(*GOOD_LINES[:3], '"never closed,card', *GOOD_LINES[3:6]), "unterminated_quote", row=5
    ),
    Refused("NUL bytes", b"text,label\nhello\x00\x01\x02,card\n" + bytes(range(256)) * 4, "not_text"),
    Refused("PDF renamed .csv", b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n", "not_text"),
    Refused("gzip", gzip.compress(rows(*GOOD_LINES)), "not_text"),
    Refused("xlsx workbook", _xlsx(), "not_text"),
    Refused("PNG renamed .csv", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "not_text"),
    Refused("old Excel", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 100, "not_text"),
    Refused("encoding changes mid-file", _mixed_encoding(), "invalid_encoding", row=4022),
    Refused(
        "field over 2 MiB", rows(*GOOD_LINES[:2], "x" * (2 * 1024 * 1024 + 10) + ",card"), "field_too_large", row=4
    ),
    Refused("JSON Lines without objects", b"[1, 2]\n[3]\n", "invalid_json"),
]
