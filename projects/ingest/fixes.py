"""The one-click fix, and CSV writing that is safe to open in a spreadsheet."""

from __future__ import annotations

import csv
from collections.abc import Iterable
from typing import TextIO

import numpy as np

from projects.ingest.check import CheckResult
from projects.ingest.records import BadRow, Record

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def formula_safe(cell: str) -> str:
    """A cell a spreadsheet will show as text rather than run as a formula (OWASP's CSV injection advice)."""
    return "'" + cell if cell.startswith(_FORMULA_START) else cell


def write_fixed(records: Iterable[Record | BadRow], result: CheckResult, out: TextIO, *, multi_label: bool) -> int:
    """Write the usable rows as ``text,label`` CSV, minus duplicates, with label variants merged.

    Keeps the first of rows that repeat a text with the same labels; drops every row of a text that
    appears with different labels (which label is right is the customer's call, not ours). Returns the
    number of rows written. Texts are written verbatim: this file is our training input, not an export.
    """
    drop = np.union1d(result.duplicates.exact_rows, result.duplicates.conflicting_rows)
    merges = result.label_merges
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["text", "labels" if multi_label else "label"])
    written = 0
    for item in records:
        if type(item) is not Record:
            continue
        at = int(np.searchsorted(drop, item.row))
        if at < len(drop) and int(drop[at]) == item.row:
            continue
        labels = tuple(dict.fromkeys(merges.get(label, label) for label in item.labels))
        writer.writerow([item.text, "|".join(labels)])
        written += 1
    return written
