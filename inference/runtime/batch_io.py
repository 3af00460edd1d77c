"""Batch prediction files: read a customer's rows as they stream in, write the results CSV as they go.

No Django here. The input is sniffed and read by the datasets' reader (``projects.ingest``: CSV/TSV
with a header, JSON Lines, encodings, delimiters, row numbers), leniently: a byte the encoding cannot
decode or a stray quote does not stop the file. What is batch prediction's own is here: which column
holds the text (one column alone is fine), and the results. Every input row comes out, in order, with
its input columns and the prediction, or an ``error`` saying why that row has none (empty text, ragged
row, bad JSON line), so nothing is lost. Every cell written is made formula-safe: a results file
opened in a spreadsheet never runs a cell.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO, Any, BinaryIO

import numpy as np

from projects import ingest


class BatchInputError(ValueError):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code, self.message = code, message


@dataclass(frozen=True)
class InputRow:
    row: int  # 1-based line of the file, header included (as the data check counts)
    cells: list[str]  # the input columns' values, in the layout's column order
    text: str | None  # None: nothing to predict, ``error`` says why
    error: str = ""


def sniff_batch(stream: BinaryIO, format_hint: ingest.Format | None = None) -> ingest.Layout:
    """The file's layout, as for a dataset, except that one column alone (just the texts) is fine here."""
    try:
        return ingest.sniff_stream(stream, format_hint=format_hint)
    except ingest.IngestError as error:
        if error.code != "one_column" or format_hint is not None:
            raise
        return ingest.sniff_stream(stream, format_hint=ingest.Format.CSV)


def resolve_text_column(layout: ingest.Layout, text_column: str | None) -> str:
    columns = list(layout.columns)
    listed = ", ".join(repr(c) for c in columns)
    if text_column:
        if text_column not in columns:
            raise BatchInputError("missing_column", f"There is no column {text_column!r}; the columns are: {listed}.")
        return text_column
    if layout.text_column:
        return layout.text_column
    if len(columns) == 1:
        return columns[0]
    raise BatchInputError("missing_column", f"Which column holds the text? Name it in text_column; columns: {listed}.")


def read_rows(stream: BinaryIO, layout: ingest.Layout, text_column: str) -> Iterator[InputRow]:
    """Every row of the file after its header, with the text to predict or why there is none."""
    if layout.format == ingest.Format.JSONL:
        return _jsonl_rows(ingest.json_rows(stream, layout, lenient=True), layout, text_column)
    return _delimited_rows(ingest.delimited_rows(stream, layout, lenient=True), layout, text_column)


def _delimited_rows(
    rows: Iterator[tuple[int, list[str]]], layout: ingest.Layout, text_column: str
) -> Iterator[InputRow]:
    width = len(layout.columns)
    index = layout.columns.index(text_column)
    for row, cells in rows:
        if len(cells) != width:
            fitted = (cells + [""] * width)[:width]
            yield InputRow(row, fitted, None, f"has {len(cells)} fields where the header has {width}")
            continue
        text = cells[index].lstrip("\ufeff")
        yield InputRow(row, cells, text, "") if text.strip() else InputRow(row, cells, None, "the text is empty")


def _jsonl_rows(
    objects: Iterator[tuple[int, dict[str, Any]] | ingest.BadRow], layout: ingest.Layout, text_column: str
) -> Iterator[InputRow]:
    columns = layout.columns
    for item in objects:
        if isinstance(item, ingest.BadRow):  # not a JSON object
            yield InputRow(item.row, [""] * len(columns), None, item.message)
            continue
        row, obj = item
        cells = [ingest.cell_text(obj.get(c)) for c in columns]
        text = obj.get(text_column)
        if isinstance(text, str) and text.strip():
            yield InputRow(row, cells, text)
        else:
            yield InputRow(row, cells, None, f"has no text in {text_column!r}")


class ResultsWriter:
    """The results CSV: input columns, then the prediction columns, then ``error``."""

    def __init__(self, out: IO[str], columns: list[str], *, multi_label: bool, top_k: int = 3) -> None:
        self.multi_label, self.top_k = multi_label, top_k
        self.writer = csv.writer(out)
        predicted = ["predicted_labels"] if multi_label else ["predicted_label", "score", "needs_human"]
        self._write([*columns, *predicted, "top_labels", "error"])

    def _write(self, cells: list[str]) -> None:
        self.writer.writerow([ingest.formula_safe(cell) for cell in cells])

    def write(
        self,
        rows: list[InputRow],
        scores: np.ndarray,
        label_names: list[str],
        thresholds: np.ndarray,
        confidence_threshold: float,
    ) -> None:
        """``scores`` has one row per row of ``rows`` that has a text, in order."""
        blank = ["", ""] if self.multi_label else ["", "", "", ""]
        it = iter(scores)
        for row in rows:
            if row.text is None:
                self._write([*row.cells, *blank, row.error])
                continue
            score = next(it)
            order = np.argsort(-score, kind="stable")[: self.top_k]
            top = "|".join(f"{label_names[i]}:{score[i]:.4f}" for i in order)
            if self.multi_label:
                chosen = "|".join(
                    label_names[i] for i in np.argsort(-score, kind="stable") if score[i] >= thresholds[i]
                )
                self._write([*row.cells, chosen, top, ""])
            else:
                best = int(order[0])
                needs_human = "true" if score[best] < confidence_threshold else "false"
                self._write([*row.cells, label_names[best], f"{score[best]:.4f}", needs_human, top, ""])
