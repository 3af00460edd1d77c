"""The data check: one streaming pass over a file's records, a report whose every problem names rows.

Memory stays flat in the number of rows except for three 8-byte integers a row (a text hash, a
label-set id and the row number, in typed arrays) used to find duplicate texts at the end, with numpy,
in one sort. The pass only counts; the rules (``projects.ingest.rules``) then judge the totals.
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

from projects.ingest.duplicates import Duplicates, find_duplicates
from projects.ingest.errors import IngestError
from projects.ingest.records import BadRow, Record
from projects.ingest.rules import (
    DEFAULT_LIMITS,
    ERROR,
    INFO,
    RULES,
    WARNING,
    CheckLimits,
    Context,
    Finding,
    RowList,
    label_merges,
)
from projects.ingest.sniff import Layout

__all__ = [
    "DEFAULT_LIMITS",
    "FIXABLE",
    "CheckLimits",
    "CheckResult",
    "Duplicates",
    "Finding",
    "SplitSizes",
    "check_records",
    "find_duplicates",
    "suggested_split",
]

TOKEN_SAMPLE = 1000
PROGRESS_EVERY = 50_000  # usable rows between progress calls


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


SplitSizes = Callable[[list[int]], tuple[int, int]]
"""Training's rule for the size of its split: the rows per first label -> (train rows, validation rows)."""


def suggested_split(first_label_counts: list[int], split_sizes: SplitSizes | None) -> dict[str, Any] | None:
    """The split training will make of these rows, by training's own rule (None when none was given)."""
    if split_sizes is None:
        return None
    train, validation = split_sizes(first_label_counts)
    usable = train + validation
    return {
        "validation_fraction": round(validation / usable, 4) if usable else 0.0,
        "train_rows": train,
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


@dataclass
class _Tally:
    """What the pass keeps: counts, each problem's first rows, and per-row arrays for the duplicate search."""

    bad: dict[str, tuple[BadRow, RowList]] = field(default_factory=dict)
    too_long: RowList = field(default_factory=RowList)
    label_sets: dict[tuple[str, ...], int] = field(default_factory=dict)  # sorted label set -> its id
    firsts: Counter[str] = field(default_factory=Counter)  # the first label of rows with several, as written
    hashes: array[int] = field(default_factory=lambda: array("q"))
    label_ids: array[int] = field(default_factory=lambda: array("q"))
    rows: array[int] = field(default_factory=lambda: array("q"))
    sample: _Reservoir = field(default_factory=lambda: _Reservoir(TOKEN_SAMPLE))
    rows_read: int = 0
    usable: int = 0
    chars: int = 0

    def add_bad(self, item: BadRow) -> None:
        entry = self.bad.get(item.code)
        if entry is None:
            entry = self.bad[item.code] = (item, RowList())
        entry[1].add(item.row)

    def _per_set(self) -> np.ndarray:
        return np.bincount(np.frombuffer(self.label_ids, dtype=np.int64), minlength=len(self.label_sets))

    def label_counts(self) -> Counter[str]:
        """Rows per label, through the label-set ids (one numpy pass instead of a Counter per row)."""
        labels: Counter[str] = Counter()
        if self.usable:
            per_set = self._per_set()
            for key, set_id in self.label_sets.items():
                for label in key:
                    labels[label] += int(per_set[set_id])
        return labels

    def first_label_counts(self) -> list[int]:
        """Rows per first label (as written), the label training's split stratifies on."""
        firsts = Counter(self.firsts)
        if self.usable:
            per_set = self._per_set()
            for key, set_id in self.label_sets.items():
                if len(key) == 1:
                    firsts[key[0]] += int(per_set[set_id])
        return [n for _, n in sorted(firsts.items())]


def _read(records: Iterable[Record | BadRow], limits: CheckLimits, progress: Callable[[int], None] | None) -> _Tally:
    """The pass itself: per row a few counts and three appends, with the tally's parts in locals."""
    tally = _Tally()
    label_sets, sample, firsts = tally.label_sets, tally.sample, tally.firsts
    hashes, label_ids, rows = tally.hashes, tally.label_ids, tally.rows
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
            tally.add_bad(item)
            continue
        assert type(item) is Record
        usable += 1
        text = item.text
        length = len(text)
        chars += length
        if length > limits.max_text_chars:
            tally.too_long.add(item.row)
        key = item.labels
        if len(key) > 1:
            firsts[key[0]] += 1
            key = tuple(sorted(key))
        label_id = label_sets.get(key)
        if label_id is None:
            label_id = label_sets[key] = len(label_sets)
        hashes.append(hash(text.strip()))
        label_ids.append(label_id)
        rows.append(item.row)
        if usable >= sample.next_at:
            sample.offer(text, usable)
        if progress is not None and usable % PROGRESS_EVERY == 0:
            progress(rows_read)
    tally.rows_read, tally.usable, tally.chars = rows_read, usable, chars
    return tally


def check_records(
    records: Iterable[Record | BadRow],
    *,
    layout: Layout,
    text_column: str,
    label_column: str,
    multi_label: bool,
    limits: CheckLimits = DEFAULT_LIMITS,
    count_tokens: Callable[[list[str]], list[int]] | None = None,
    split_sizes: SplitSizes | None = None,
    progress: Callable[[int], None] | None = None,
) -> CheckResult:
    tally = _read(records, limits, progress)
    labels = tally.label_counts()
    counts = sorted(labels.values())
    context = Context(
        limits=limits,
        text_column=text_column,
        label_column=label_column,
        usable=tally.usable,
        labels=labels,
        bad=tally.bad,
        too_long=tally.too_long,
        duplicates=find_duplicates(tally.hashes, tally.label_ids, tally.rows),
        imbalance=round(counts[-1] / counts[0], 2) if counts else None,
        merges=label_merges(labels),
        truncated_share=_truncated_share(tally.sample.items, count_tokens, limits.token_limit),
    )
    for rule in RULES:
        rule(context)
    report = _report(context, tally, layout=layout, multi_label=multi_label)
    report["suggested_split"] = suggested_split(tally.first_label_counts(), split_sizes)
    return CheckResult(report, context.duplicates, context.merges)


def _truncated_share(
    sample: list[str], count_tokens: Callable[[list[str]], list[int]] | None, token_limit: int
) -> float | None:
    if count_tokens is None or not sample:
        return None
    lengths = count_tokens(sample)
    return round(sum(1 for n in lengths if n > token_limit) / len(lengths), 4)


def _report(context: Context, tally: _Tally, *, layout: Layout, multi_label: bool) -> dict[str, Any]:
    severity_order = {ERROR: 0, WARNING: 1, INFO: 2}
    findings = sorted(context.findings, key=lambda f: severity_order[f.severity])
    notes = [Finding(INFO, "encoding", note) for note in layout.notes]
    usable, labels = tally.usable, context.labels
    return {
        "status": "invalid" if any(f.severity == ERROR for f in findings) else "ready",
        "format": str(layout.format),
        "encoding": layout.encoding,
        "encoding_label": layout.encoding_label,
        "delimiter": layout.delimiter,
        "text_column": context.text_column,
        "label_column": context.label_column,
        "multi_label": multi_label,
        "rows_read": tally.rows_read,
        "rows_usable": usable,
        "labels": [{"name": name, "count": n} for name, n in labels.most_common()],
        "label_count": len(labels),
        "imbalance_ratio": context.imbalance,
        "mean_text_chars": round(tally.chars / usable, 1) if usable else 0,
        "token_limit": context.limits.token_limit,
        "truncated_share": context.truncated_share,
        "findings": [f.as_dict() for f in findings + notes],
        "errors": sum(1 for f in findings if f.severity == ERROR),
        "warnings": sum(1 for f in findings if f.severity == WARNING),
        "fixable": any(f.code in FIXABLE for f in findings),
    }


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
