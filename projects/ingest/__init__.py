"""Reading customers' labeled files and checking them before any training time is spent.

No Django here: the upload view, the Celery task, the tests and ``bench/ingest.py`` call it alike, and
batch prediction reads its input files with the same sniffing and row readers.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import BinaryIO

from projects.ingest.check import DEFAULT_LIMITS, CheckLimits, CheckResult, SplitSizes, check_records
from projects.ingest.errors import IngestError
from projects.ingest.fixes import formula_safe, write_fixed
from projects.ingest.records import (
    BadRow,
    Record,
    counting,
    delimited_rows,
    json_rows,
    parse_labels,
    read_records,
)
from projects.ingest.sniff import (
    MAX_SAMPLE_BYTES,
    SAMPLE_BYTES,
    Format,
    Layout,
    SampleTooShort,
    cell_text,
    sniff,
    whole_lines,
)

__all__ = [
    "BadRow",
    "CheckLimits",
    "CheckResult",
    "Format",
    "IngestError",
    "Layout",
    "Record",
    "SampleTooShort",
    "SplitSizes",
    "cell_text",
    "check_stream",
    "counting",
    "delimited_rows",
    "formula_safe",
    "json_rows",
    "parse_labels",
    "read_records",
    "resolve_columns",
    "sniff",
    "sniff_stream",
    "whole_lines",
    "write_fixed",
]


def sniff_stream(stream: BinaryIO, *, format_hint: Format | None = None, partial: bool = False) -> Layout:
    """The layout of a seekable binary stream, from its first bytes; the stream is rewound.

    A first data row longer than the sample (one long text) is read whole by sniffing a longer sample,
    up to ``MAX_SAMPLE_BYTES``. ``partial``: the stream is only the beginning of a file (a preview), so
    its end is never the file's end.
    """
    size = SAMPLE_BYTES
    while True:
        stream.seek(0)
        head = stream.read(size + 1)
        stream.seek(0)
        more = len(head) > size
        try:
            return sniff(head[:size], whole_file=not more and not partial, format_hint=format_hint)
        except SampleTooShort:
            if not more or size >= MAX_SAMPLE_BYTES:
                raise
            size = min(4 * size, MAX_SAMPLE_BYTES)


def resolve_columns(layout: Layout, text_column: str | None, label_column: str | None) -> tuple[str, str]:
    """The columns to read: the ones asked for, else the guesses; a clear error when neither exists."""
    text = text_column or layout.text_column
    label = label_column or layout.label_column
    listed = ", ".join(repr(c) for c in layout.columns)
    if not text:
        raise IngestError(
            "missing_column", f"Which column holds the text? None is named like one; choose from: {listed}.", row=1
        )
    if not label:
        raise IngestError(
            "missing_column", f"Which column holds the label? None is named like one; choose from: {listed}.", row=1
        )
    if text == label:
        raise IngestError("same_column", f"The text and the label cannot both be column {text!r}.", row=1, column=text)
    return text, label


def check_stream(
    stream: BinaryIO,
    *,
    text_column: str | None = None,
    label_column: str | None = None,
    multi_label: bool | None = None,
    format_hint: Format | None = None,
    limits: CheckLimits = DEFAULT_LIMITS,
    count_tokens: Callable[[list[str]], list[int]] | None = None,
    split_sizes: SplitSizes | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> tuple[Layout, CheckResult]:
    """Sniff, map the columns and check a whole file in one streaming pass."""
    layout = sniff_stream(stream, format_hint=format_hint)
    text, label = resolve_columns(layout, text_column, label_column)
    multi = layout.multi_label if multi_label is None else multi_label
    counter = counting(stream)
    records = read_records(stream, layout, text_column=text, label_column=label, multi_label=multi, on_bytes=counter)
    on_rows = (lambda rows: progress(rows, counter.bytes_read)) if progress is not None else None
    result = check_records(
        records,
        layout=layout,
        text_column=text,
        label_column=label,
        multi_label=multi,
        limits=limits,
        count_tokens=count_tokens,
        split_sizes=split_sizes,
        progress=on_rows,
    )
    return layout, result
