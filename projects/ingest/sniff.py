"""Work out how a file is laid out from its first bytes: format, encoding, delimiter, header, columns.

Pure Python, no Django: the upload view, the Celery task, the tests and ``bench/ingest.py`` all call it.
"""

from __future__ import annotations

import codecs
import csv
import io
import json
from collections import Counter
from dataclasses import dataclass, field
from enum import StrEnum

from projects.ingest.errors import IngestError, unreadable_csv

SAMPLE_BYTES = 64 * 1024
# A sample that holds no complete row after the header (one long first text) is read again, four times
# as long each time, up to this: the most a row of ``records.MAX_FIELD_CHARS`` characters can take.
MAX_SAMPLE_BYTES = 8 * 1024 * 1024
PREVIEW_ROWS = 5
# Common names, in order of preference, for guessing which column is which.
TEXT_NAMES = (
    "text",
    "sentence",
    "utterance",
    "review",
    "body",
    "content",
    "message",
    "comment",
    "document",
    "query",
    "question",
    "description",
)
LABEL_NAMES = (
    "label",
    "labels",
    "category",
    "categories",
    "intent",
    "sentiment",
    "class",
    "tag",
    "tags",
    "topic",
    "emotion",
    "emotions",
    "target",
)
DELIMITERS = (",", "\t", ";", "|")

# First bytes of formats customers upload by mistake, and what to tell them.
_MAGIC = (
    (b"%PDF-", "a PDF document"),
    (b"PK\x03\x04", "a ZIP archive (an .xlsx workbook is one)"),
    (b"\x1f\x8b", "gzip-compressed"),
    (b"\xd0\xcf\x11\xe0", "an old Excel or Word document"),
    (b"\x89PNG", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"BZh", "bzip2-compressed"),
    (b"\xfd7zXZ", "xz-compressed"),
    (b"7z\xbc\xaf", "a 7-Zip archive"),
    (b"Rar!", "a RAR archive"),
    (b"SQLite format 3", "an SQLite database"),
)
_SAVE_AS = "Save or export it as CSV (UTF-8), TSV or JSON Lines and upload that."


class SampleTooShort(IngestError):
    """The first part of a file ends before its first complete data row: read a longer part and sniff again.

    Raised only for a sample that is not the whole file; once the sample is as long as it may be, it is
    the error to show (an ``IngestError`` like any other).
    """


class Format(StrEnum):
    CSV = "csv"
    TSV = "tsv"
    JSONL = "jsonl"
    COMPREHEND = "comprehend"  # AWS Comprehend custom classification: no header, label first


@dataclass(frozen=True)
class Layout:
    format: Format
    encoding: str
    delimiter: str
    has_header: bool
    columns: tuple[str, ...]
    preview: tuple[tuple[str, ...], ...]
    text_column: str | None
    label_column: str | None
    multi_label: bool
    notes: tuple[str, ...] = field(default=())

    @property
    def encoding_label(self) -> str:
        return _ENCODING_LABELS.get(self.encoding, self.encoding)


_ENCODING_LABELS = {
    "utf-8": "UTF-8",
    "utf-8-sig": "UTF-8 with BOM",
    "utf-16": "UTF-16",
    "utf-16-le": "UTF-16 LE (no BOM)",
    "utf-16-be": "UTF-16 BE (no BOM)",
    "cp1252": "Windows-1252",
    "latin-1": "Latin-1",
}


def detect_encoding(head: bytes) -> str:
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    if b"\x00" in head:
        return _utf16_without_bom(head)
    return _utf8_or_legacy(head)


def _utf16_without_bom(head: bytes) -> str:
    """UTF-16 told by where its NUL bytes fall (mostly ASCII text: every other byte); any other NULs: binary."""
    pairs = len(head) // 2 or 1
    nul_even, nul_odd = head[0::2].count(0), head[1::2].count(0)
    if nul_odd > 0.3 * pairs and nul_even < 0.02 * pairs:
        return "utf-16-le"
    if nul_even > 0.3 * pairs and nul_odd < 0.02 * pairs:
        return "utf-16-be"
    raise IngestError("not_text", f"The file contains NUL bytes: it is binary, not text. {_SAVE_AS}")


def _utf8_or_legacy(head: bytes) -> str:
    """UTF-8 when the head decodes as it (a character cut at its end is fine), else Windows-1252, else Latin-1."""
    try:
        codecs.getincrementaldecoder("utf-8")().decode(head, final=False)
    except UnicodeDecodeError:
        try:
            head.decode("cp1252")
        except UnicodeDecodeError:
            return "latin-1"
        return "cp1252"
    return "utf-8"


_NEWLINES = {"utf-16-le": b"\n\x00", "utf-16-be": b"\x00\n"}


def whole_lines(head: bytes, encoding: str) -> bytes:
    """The first bytes of a file up to its last line end, in that encoding (all of them when none)."""
    if encoding == "utf-16":
        encoding = "utf-16-le" if head.startswith(codecs.BOM_UTF16_LE) else "utf-16-be"
    newline = _NEWLINES.get(encoding, b"\n")
    cut = head.rfind(newline)
    while cut > 0 and cut % len(newline):  # a UTF-16 line end starts at an even byte
        cut = head.rfind(newline, 0, cut)
    return head[: cut + len(newline)] if cut >= 0 else head


def refuse_binary(head: bytes) -> None:
    for magic, what in _MAGIC:
        if head.startswith(magic):
            raise IngestError("not_text", f"The file is {what}, not text. {_SAVE_AS}")


def _decode_sample(head: bytes, encoding: str, whole_file: bool) -> str:
    decoder = codecs.getincrementaldecoder(encoding)()
    try:
        text = decoder.decode(head, final=whole_file)
    except UnicodeDecodeError as error:
        raise IngestError(
            "invalid_encoding", f"The file is not valid {encoding}: {error.reason} at byte {error.start}."
        ) from None
    if not whole_file:
        # The sample may end mid-row: keep whole lines only.
        cut = text.rfind("\n")
        if cut <= 0:
            raise SampleTooShort(
                "row_too_long",
                f"The first {len(head):,} bytes of the file hold no line end: a row that long is not a text "
                "anyone meant to classify. Check the file's line endings.",
                row=1,
            )
        text = text[: cut + 1]
    return text


def _guess(names: tuple[str, ...], columns: tuple[str, ...], taken: str | None = None) -> str | None:
    normal = {c.strip().lower(): c for c in columns if c != taken}
    for name in names:
        if name in normal:
            return normal[name]
    for name in names:
        for lowered, original in normal.items():
            if name in lowered:
                return original
    return None


def _looks_multi_label(values: list[str]) -> bool:
    return any("|" in v or v.strip().startswith("[") for v in values)


def _best_delimiter(sample: str) -> tuple[str, list[list[str]]]:
    best: tuple[float, int, str, list[list[str]]] | None = None
    unreadable: IngestError | None = None
    for delimiter in DELIMITERS:
        try:
            rows = _rows_of(sample, delimiter)
        except IngestError as error:
            unreadable = unreadable or error
            continue
        if not rows:
            continue
        counts = Counter(len(row) for row in rows)
        width, hits = counts.most_common(1)[0]
        if width < 2:
            continue
        score = (hits / len(rows), -DELIMITERS.index(delimiter))
        if best is None or score > (best[0], -DELIMITERS.index(best[2])):
            best = (score[0], width, delimiter, rows)
    if best is None and unreadable is not None:
        raise unreadable  # not one column: a row no delimiter could read
    if best is None:
        raise IngestError(
            "one_column",
            "Found a single column. A dataset needs a text column and a label column, separated by commas, tabs, "
            "semicolons or |, e.g. 'text,label'.",
        )
    return best[2], best[3]


def _is_header(row: list[str]) -> bool:
    names = {cell.strip().lower() for cell in row}
    known = set(TEXT_NAMES) | set(LABEL_NAMES)
    return bool(names & known) or any(k in n for n in names for k in ("text", "label"))


def _looks_comprehend(rows: list[list[str]]) -> bool:
    """No header, two columns, the first short label-like values, the second longer text."""
    two = [r for r in rows if len(r) == 2]
    if len(two) < max(1, len(rows) // 2):
        return False
    first = [r[0].strip() for r in two]
    second = [r[1].strip() for r in two]
    label_like = sum(1 for v in first if v and len(v) <= 60 and v.count(" ") <= 2) / len(two)
    return label_like > 0.9 and sum(map(len, second)) > 2 * sum(map(len, first))


def _sniff_jsonl(sample: str, encoding: str, whole_file: bool) -> Layout:
    keys: dict[str, None] = {}
    preview: list[dict[str, object]] = []
    for line in sample.splitlines():
        try:
            obj = json.loads(line)
        except json.JSONDecodeError:
            continue  # the data check reports bad lines with their numbers
        if not isinstance(obj, dict):
            continue
        keys.update(dict.fromkeys(obj))
        if len(preview) < PREVIEW_ROWS:
            preview.append(obj)
    if not keys:
        raise (IngestError if whole_file else SampleTooShort)(
            "invalid_json",
            "No line of the first part of the file is a JSON object: JSON Lines "
            'files have one object per line, e.g. {"text": "...", "label": "..."}.',
        )
    columns = tuple(keys)
    text_column = _guess(TEXT_NAMES, columns)
    label_column = _guess(LABEL_NAMES, columns, taken=text_column)
    rows = tuple(tuple(cell_text(obj.get(c)) for c in columns) for obj in preview)
    multi = any(isinstance(obj.get(label_column or ""), list) for obj in preview)
    return Layout(Format.JSONL, encoding, "", True, columns, rows, text_column, label_column, multi)


def cell_text(value: object) -> str:
    """A JSON value as the text of a cell: strings as they are, null as empty, the rest as JSON."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False)


def sniff(head: bytes, *, whole_file: bool, format_hint: Format | None = None) -> Layout:
    """The layout of a file whose first bytes are ``head`` (all of it when ``whole_file``)."""
    encoding, sample = _text_sample(head, whole_file)
    notes = []
    if encoding in ("cp1252", "latin-1"):
        notes.append(f"The file is not valid UTF-8; it was read as {_ENCODING_LABELS[encoding]}.")
    if format_hint is None and sample.lstrip().startswith("["):
        raise IngestError(
            "invalid_json",
            'This is a JSON array, not JSON Lines: write one object per line, e.g. {"text": "...", "label": "..."}.',
        )
    if format_hint == Format.JSONL or (format_hint is None and sample.lstrip().startswith("{")):
        layout = _sniff_jsonl(sample, encoding, whole_file)
        return Layout(**{**layout.__dict__, "notes": tuple(notes)})
    return _sniff_delimited(sample, encoding, format_hint, tuple(notes), whole_file)


def _text_sample(head: bytes, whole_file: bool) -> tuple[str, str]:
    """The encoding and the decoded sample (whole lines only, BOM dropped); refuses empty and binary files."""
    if not head.strip(b" \t\r\n\x00\xef\xbb\xbf\xff\xfe"):
        raise IngestError("empty_file", "The file is empty.")
    refuse_binary(head)
    encoding = detect_encoding(head)
    sample = _decode_sample(head, encoding, whole_file).lstrip("\ufeff")
    if not sample.strip():
        raise IngestError("empty_file", "The file is empty.")
    return encoding, sample


def _rows_of(sample: str, delimiter: str) -> list[list[str]]:
    """The sample's non-empty rows; a row the ``csv`` module cannot read is an ``IngestError`` naming it."""
    reader = csv.reader(io.StringIO(sample), delimiter=delimiter)
    try:
        return [r for r in reader if r]
    except csv.Error as error:
        raise unreadable_csv(str(error), reader.line_num, field_limit=csv.field_size_limit()) from None


def _delimited_rows(sample: str, format_hint: Format | None) -> tuple[str, list[list[str]]]:
    """The delimiter the format names (without a hint, the one that fits best) and the sample's non-empty rows."""
    if format_hint == Format.COMPREHEND:
        return ",", _rows_of(sample, ",")
    if format_hint == Format.TSV:
        return "\t", _rows_of(sample, "\t")
    if format_hint == Format.CSV:
        return ",", _rows_of(sample, ",")
    return _best_delimiter(sample)


def _sniff_delimited(
    sample: str, encoding: str, format_hint: Format | None, notes: tuple[str, ...], whole_file: bool
) -> Layout:
    """CSV, TSV (a header row, columns guessed by name) or Comprehend (no header: label, then text)."""
    delimiter, rows = _delimited_rows(sample, format_hint)
    comprehend = format_hint == Format.COMPREHEND or (
        format_hint is None and delimiter == "," and not _is_header(rows[0]) and _looks_comprehend(rows)
    )
    text_column: str | None
    label_column: str | None
    if comprehend:
        columns: tuple[str, ...] = ("label", "text")
        data = rows
        fmt = Format.COMPREHEND
        text_column, label_column = "text", "label"
    else:
        columns = tuple(cell.strip() for cell in rows[0])
        data = rows[1:]
        fmt = Format.TSV if delimiter == "\t" else Format.CSV
        text_column = _guess(TEXT_NAMES, columns)
        label_column = _guess(LABEL_NAMES, columns, taken=text_column)
        if not data:
            # Of a sample, the first data row may only be longer than it: a longer sample will tell.
            raise (IngestError if whole_file else SampleTooShort)(
                "header_only", "The file has a header row but no data rows.", row=1
            )
    preview = tuple(tuple(row) for row in data[:PREVIEW_ROWS])
    multi = False
    if label_column is not None and label_column in columns:
        index = columns.index(label_column)
        multi = _looks_multi_label([row[index] for row in data[:200] if len(row) > index])
    return Layout(fmt, encoding, delimiter, not comprehend, columns, preview, text_column, label_column, multi, notes)
