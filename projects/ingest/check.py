"""The data check: one streaming pass over a file's records, a report whose every problem names rows.

Memory stays flat in the number of rows except for 20 bytes a row (a text hash, a label-set id and
the row number, in typed arrays) used to find duplicate texts at the end, with numpy, in one sort.
"""

from __future__ import annotations

import math
import random
from array import array
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from projects.ingest.errors import IngestError
from projects.ingest.records import BadRow, Record
from projects.ingest.sniff import Layout

ROWS_SHOWN = 10
TOKEN_SAMPLE = 1000
ERROR, WARNING, INFO = "error", "warning", "info"


@dataclass(frozen=True)
class CheckLimits:
    min_examples: int = 2  # below this a label cannot be trained at all (it needs one example each side)
    few_examples: int = 10  # below this a label trains poorly
    max_text_chars: int = 20_000
    token_limit: int = 128
    imbalance_warning: float = 20.0
    truncation_warning: float = 0.05
    max_rows: int = 2_000_000


DEFAULT_LIMITS = CheckLimits()


@dataclass
class Finding:
    severity: str
    code: str
    message: str
    column: str | None = None
    rows: list[int] = field(default_factory=list)
    count: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "severity": self.severity,
            "code": self.code,
            "message": self.message,
            "column": self.column,
            "rows": self.rows,
            "count": self.count,
        }


@dataclass
class _RowList:
    """The first few row numbers of a problem, and how many there are in all."""

    rows: list[int] = field(default_factory=list)
    count: int = 0

    def add(self, row: int) -> None:
        self.count += 1
        if len(self.rows) < ROWS_SHOWN:
            self.rows.append(row)


def _where(rows: _RowList) -> str:
    shown = ", ".join(map(str, rows.rows))
    more = f" and {rows.count - len(rows.rows):,} more" if rows.count > len(rows.rows) else ""
    return f"row{'s' if rows.count > 1 else ''} {shown}{more}"


def variant_key(label: str) -> str:
    return " ".join(label.split()).casefold()


class _Reservoir:
    """A uniform sample of a stream (Li's algorithm L): the random draws happen only at the items kept,
    so the per-row cost is one comparison."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.items: list[str] = []
        self.rng = random.Random(0)
        self.weight = 1.0
        self.next_at = 1

    def _skip(self) -> None:
        self.weight *= math.exp(math.log(self.rng.random() or 1e-300) / self.size)
        gap = math.floor(math.log(self.rng.random() or 1e-300) / math.log(1 - self.weight)) if self.weight < 1 else 0
        self.next_at += gap + 1

    def offer(self, item: str, position: int) -> None:
        if len(self.items) < self.size:
            self.items.append(item)
            self.next_at = position + 1
            if len(self.items) == self.size:
                self.next_at = position
                self._skip()
            return
        self.items[self.rng.randrange(self.size)] = item
        self._skip()


@dataclass
class Duplicates:
    exact_rows: np.ndarray  # later copies of a text already seen with the same labels
    conflicting_rows: np.ndarray  # every row of a text that appears with different labels


def find_duplicates(hashes: array[int], label_ids: array[int], rows: array[int]) -> Duplicates:
    if not rows:
        empty = np.empty(0, dtype=np.int64)
        return Duplicates(empty, empty)
    h = np.frombuffer(hashes, dtype=np.int64)
    order = np.argsort(h, kind="stable")  # stable: within a text, rows stay in file order
    hs = h[order]
    ls = np.frombuffer(label_ids, dtype=np.int64)[order]
    rs = np.frombuffer(rows, dtype=np.int64)[order]
    starts = np.empty(len(hs), dtype=bool)
    starts[0] = True
    starts[1:] = hs[1:] != hs[:-1]
    group = np.cumsum(starts) - 1
    size = np.bincount(group)
    first_label = ls[np.flatnonzero(starts)]
    differs = ls != first_label[group]
    conflicting_group = np.bincount(group, weights=differs) > 0
    in_duplicate = size[group] > 1
    conflicting = in_duplicate & conflicting_group[group]
    exact = in_duplicate & ~conflicting_group[group] & ~starts
    return Duplicates(np.sort(rs[exact]), np.sort(rs[conflicting]))


def _row_list(rows: np.ndarray) -> _RowList:
    return _RowList(rows=[int(r) for r in rows[:ROWS_SHOWN]], count=len(rows))


def suggested_split(usable: int, label_count: int) -> dict[str, Any]:
    fraction = 0.2 if usable < 1_000 else 0.15 if usable < 10_000 else 0.1
    validation = min(round(usable * fraction), 20_000)
    validation = max(validation, min(label_count, usable // 2))
    return {
        "validation_fraction": round(validation / usable, 4) if usable else 0.0,
        "train_rows": usable - validation,
        "validation_rows": validation,
        "stratified": True,
    }


@dataclass
class CheckResult:
    report: dict[str, Any]
    duplicates: Duplicates
    label_merges: dict[str, str]

    @property
    def ok(self) -> bool:
        return self.report["status"] == "ready"


def check_records(
    records: Iterable[Record | BadRow],
    *,
    layout: Layout,
    text_column: str,
    label_column: str,
    multi_label: bool,
    limits: CheckLimits = DEFAULT_LIMITS,
    count_tokens: Callable[[list[str]], list[int]] | None = None,
    progress: Callable[[int], None] | None = None,
) -> CheckResult:
    bad: dict[str, tuple[BadRow, _RowList]] = {}
    too_long = _RowList()
    labels: Counter[str] = Counter()
    label_sets: dict[tuple[str, ...], int] = {}
    hashes, label_ids, rows = array("q"), array("q"), array("q")
    sample = _Reservoir(TOKEN_SAMPLE)
    rows_read = usable = chars = 0

    for item in records:
        rows_read += 1
        if rows_read > limits.max_rows:
            raise IngestError(
                "too_many_rows",
                f"The file has more than {limits.max_rows:,} rows, the most one dataset may have.",
                row=item.row,
            )
        if type(item) is BadRow:
            entry = bad.get(item.code)
            if entry is None:
                entry = bad[item.code] = (item, _RowList())
            entry[1].add(item.row)
            continue
        assert type(item) is Record
        usable += 1
        text = item.text
        length = len(text)
        chars += length
        if length > limits.max_text_chars:
            too_long.add(item.row)
        key = item.labels if len(item.labels) == 1 else tuple(sorted(item.labels))
        label_id = label_sets.get(key)
        if label_id is None:
            label_id = label_sets[key] = len(label_sets)
        hashes.append(hash(text.strip()))
        label_ids.append(label_id)
        rows.append(item.row)
        if usable >= sample.next_at:
            sample.offer(text, usable)
        if progress is not None and usable % 50_000 == 0:
            progress(rows_read)

    # Label counts: per row, through the label-set ids (one numpy pass instead of a Counter per row).
    if usable:
        per_set = np.bincount(np.frombuffer(label_ids, dtype=np.int64), minlength=len(label_sets))
        for key, set_id in label_sets.items():
            for label in key:
                labels[label] += int(per_set[set_id])

    findings: list[Finding] = []
    for code, (first, where) in sorted(bad.items()):
        findings.append(
            Finding(
                WARNING,
                code,
                f"{where.count:,} row(s) left out: {first.message} ({_where(where)}).",
                first.column,
                where.rows,
                where.count,
            )
        )

    if usable == 0:
        findings.insert(0, Finding(ERROR, "no_usable_rows", "No row has both a text and a label.", None, [], 0))
    elif len(labels) < 2:
        only = next(iter(labels), "")
        findings.append(
            Finding(
                ERROR,
                "one_label",
                f"Every row has the label {only!r}: a classifier needs at least two different labels.",
                label_column,
                [],
                usable,
            )
        )

    rare = sorted((n, label) for label, n in labels.items() if n < limits.min_examples)
    if rare and len(labels) >= 2:
        names = ", ".join(f"{label!r} ({n})" for n, label in rare[:ROWS_SHOWN])
        findings.append(
            Finding(
                ERROR,
                "label_too_rare",
                f"{len(rare)} label(s) have fewer than {limits.min_examples} "
                f"examples, too few to train and validate: {names}. Add examples or remove those "
                "rows.",
                label_column,
                [],
                len(rare),
            )
        )
    few = sorted((n, label) for label, n in labels.items() if limits.min_examples <= n < limits.few_examples)
    if few:
        names = ", ".join(f"{label!r} ({n})" for n, label in few[:ROWS_SHOWN])
        findings.append(
            Finding(
                WARNING,
                "label_few_examples",
                f"{len(few)} label(s) have fewer than "
                f"{limits.few_examples} examples and may be learned poorly: {names}.",
                label_column,
                [],
                len(few),
            )
        )

    counts = sorted(labels.values())
    imbalance = round(counts[-1] / counts[0], 2) if counts else None
    if imbalance is not None and imbalance >= limits.imbalance_warning:
        findings.append(
            Finding(
                WARNING,
                "imbalanced",
                f"The most common label has {imbalance:g}x the examples of the "
                "rarest; training weights classes to compensate.",
                label_column,
                [],
                0,
            )
        )

    groups: dict[str, Counter[str]] = {}
    for label, n in labels.items():
        groups.setdefault(variant_key(label), Counter())[label] = n
    merges: dict[str, str] = {}
    for variants in groups.values():
        if len(variants) > 1:
            canonical = variants.most_common(1)[0][0]
            merges.update({v: canonical for v in variants if v != canonical})
    if merges:
        listed = "; ".join(f"{v!r} → {c!r}" for v, c in sorted(merges.items())[:ROWS_SHOWN])
        findings.append(
            Finding(
                WARNING,
                "label_variants",
                f"{len(merges)} label(s) differ from another only in case "
                f"or spaces and look like the same label: {listed}.",
                label_column,
                [],
                len(merges),
            )
        )

    if too_long.count:
        findings.append(
            Finding(
                WARNING,
                "text_too_long",
                f"{too_long.count:,} text(s) are longer than "
                f"{limits.max_text_chars:,} characters ({_where(too_long)}); only their beginning is "
                "used.",
                text_column,
                too_long.rows,
                too_long.count,
            )
        )

    duplicates = find_duplicates(hashes, label_ids, rows)
    if len(duplicates.exact_rows):
        where = _row_list(duplicates.exact_rows)
        findings.append(
            Finding(
                WARNING,
                "duplicate_text",
                f"{where.count:,} row(s) repeat an earlier row's text and labels ({_where(where)}).",
                text_column,
                where.rows,
                where.count,
            )
        )
    if len(duplicates.conflicting_rows):
        where = _row_list(duplicates.conflicting_rows)
        findings.append(
            Finding(
                WARNING,
                "conflicting_duplicate",
                f"{where.count:,} row(s) share a text with another row but not its labels ({_where(where)}).",
                text_column,
                where.rows,
                where.count,
            )
        )

    truncated_share = None
    if count_tokens is not None and sample.items:
        lengths = count_tokens(sample.items)
        truncated_share = round(sum(1 for n in lengths if n > limits.token_limit) / len(lengths), 4)
        if truncated_share >= limits.truncation_warning:
            findings.append(
                Finding(
                    WARNING,
                    "texts_truncated",
                    f"About {truncated_share:.0%} of texts are longer than "
                    f"the token limit of {limits.token_limit} and would be cut; raise max_length if "
                    "their ends matter.",
                    text_column,
                    [],
                    0,
                )
            )

    severity_order = {ERROR: 0, WARNING: 1, INFO: 2}
    findings.sort(key=lambda f: severity_order[f.severity])
    notes = [Finding(INFO, "encoding", note) for note in layout.notes]
    status = "invalid" if any(f.severity == ERROR for f in findings) else "ready"
    report = {
        "status": status,
        "format": str(layout.format),
        "encoding": layout.encoding,
        "encoding_label": layout.encoding_label,
        "delimiter": layout.delimiter,
        "text_column": text_column,
        "label_column": label_column,
        "multi_label": multi_label,
        "rows_read": rows_read,
        "rows_usable": usable,
        "labels": [{"name": name, "count": n} for name, n in labels.most_common()],
        "label_count": len(labels),
        "imbalance_ratio": imbalance,
        "mean_text_chars": round(chars / usable, 1) if usable else 0,
        "token_limit": limits.token_limit,
        "truncated_share": truncated_share,
        "suggested_split": suggested_split(usable, len(labels)),
        "findings": [f.as_dict() for f in findings + notes],
        "errors": sum(1 for f in findings if f.severity == ERROR),
        "warnings": sum(1 for f in findings if f.severity == WARNING),
        "fixable": any(f.code in FIXABLE for f in findings),
    }
    return CheckResult(report, duplicates, merges)


# Problems the one-click fix removes (it writes a new dataset version; the original stays).
FIXABLE = frozenset(
    {
        "label_variants",
        "duplicate_text",
        "conflicting_duplicate",
        "empty_text",
        "empty_label",
        "ragged_row",
        "invalid_json",
        "control_characters",
    }
)
