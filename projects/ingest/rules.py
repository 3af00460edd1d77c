"""The data check's rules: each reads what the pass over the file counted and adds its findings.

``RULES`` runs them in order; that order is the order of the report's findings within a severity (the
report sorts them by severity, stably). Each finding names its rows: the first ``ROWS_SHOWN`` and a count.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from projects.ingest.duplicates import Duplicates
from projects.ingest.records import BadRow

ROWS_SHOWN = 10
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
class RowList:
    """The first few row numbers of a problem, and how many there are in all."""

    rows: list[int] = field(default_factory=list)
    count: int = 0

    def add(self, row: int) -> None:
        self.count += 1
        if len(self.rows) < ROWS_SHOWN:
            self.rows.append(row)

    @classmethod
    def of(cls, rows: np.ndarray) -> RowList:
        return cls(rows=[int(r) for r in rows[:ROWS_SHOWN]], count=len(rows))


def where(rows: RowList) -> str:
    shown = ", ".join(map(str, rows.rows))
    more = f" and {rows.count - len(rows.rows):,} more" if rows.count > len(rows.rows) else ""
    return f"row{'s' if rows.count > 1 else ''} {shown}{more}"


LABEL_SHOWN = 60  # characters of a label quoted in a message: a "label" may be a whole text (wrong column)


def quoted(label: str) -> str:
    """A label for a message: quoted, and cut (its length noted) when it is long."""
    if len(label) <= LABEL_SHOWN:
        return repr(label)
    return f"{label[: LABEL_SHOWN - 1] + '…'!r} ({len(label):,} characters)"


def variant_key(label: str) -> str:
    return " ".join(label.split()).casefold()


def label_merges(labels: Counter[str]) -> dict[str, str]:
    """Labels that differ only in case or spaces, each mapped to its group's most common spelling."""
    groups: dict[str, Counter[str]] = {}
    for label, n in labels.items():
        groups.setdefault(variant_key(label), Counter())[label] = n
    merges: dict[str, str] = {}
    for variants in groups.values():
        if len(variants) > 1:
            canonical = variants.most_common(1)[0][0]
            merges.update({v: canonical for v in variants if v != canonical})
    return merges


@dataclass
class Context:
    """What the rules read (the pass's totals and figures derived from them) and the findings they add."""

    limits: CheckLimits
    text_column: str
    label_column: str
    usable: int
    labels: Counter[str]
    bad: dict[str, tuple[BadRow, RowList]]  # per code: its first row, and where
    too_long: RowList
    duplicates: Duplicates
    imbalance: float | None  # most common label's count over the rarest's
    merges: dict[str, str]
    truncated_share: float | None  # of the sampled texts, None when no tokenizer was given
    findings: list[Finding] = field(default_factory=list)

    def add(
        self,
        severity: str,
        code: str,
        message: str,
        *,
        column: str | None = None,
        rows: RowList | None = None,
        count: int = 0,
    ) -> None:
        if rows is not None:
            self.findings.append(Finding(severity, code, message, column, rows.rows, rows.count))
        else:
            self.findings.append(Finding(severity, code, message, column, [], count))


def rows_left_out(ctx: Context) -> None:
    for code, (first, at) in sorted(ctx.bad.items()):
        message = f"{at.count:,} row(s) left out: {first.message} ({where(at)})."
        ctx.add(WARNING, code, message, column=first.column, rows=at)


def no_usable_rows(ctx: Context) -> None:
    if ctx.usable == 0:
        ctx.add(ERROR, "no_usable_rows", "No row has both a text and a label.")


def one_label(ctx: Context) -> None:
    if ctx.usable and len(ctx.labels) < 2:
        only = next(iter(ctx.labels), "")
        message = f"Every row has the label {quoted(only)}: a classifier needs at least two different labels."
        ctx.add(ERROR, "one_label", message, column=ctx.label_column, count=ctx.usable)


def label_too_rare(ctx: Context) -> None:
    limit = ctx.limits.min_examples
    rare = sorted((n, label) for label, n in ctx.labels.items() if n < limit)
    if rare and len(ctx.labels) >= 2:
        message = (
            f"{len(rare)} label(s) have fewer than {limit} examples, too few to train and validate: "
            f"{_counted(rare)}. Add examples or remove those rows."
        )
        ctx.add(ERROR, "label_too_rare", message, column=ctx.label_column, count=len(rare))


def label_few_examples(ctx: Context) -> None:
    limits = ctx.limits
    few = sorted((n, label) for label, n in ctx.labels.items() if limits.min_examples <= n < limits.few_examples)
    if few:
        message = (
            f"{len(few)} label(s) have fewer than {limits.few_examples} examples and may be learned poorly: "
            f"{_counted(few)}."
        )
        ctx.add(WARNING, "label_few_examples", message, column=ctx.label_column, count=len(few))


def _counted(labels: Sequence[tuple[int, str]]) -> str:
    return ", ".join(f"{quoted(label)} ({n})" for n, label in labels[:ROWS_SHOWN])


def imbalanced(ctx: Context) -> None:
    if ctx.imbalance is not None and ctx.imbalance >= ctx.limits.imbalance_warning:
        message = (
            f"The most common label has {ctx.imbalance:g}x the examples of the rarest; "
            "training weights classes to compensate."
        )
        ctx.add(WARNING, "imbalanced", message, column=ctx.label_column)


def label_variants(ctx: Context) -> None:
    if ctx.merges:
        listed = "; ".join(f"{quoted(v)} → {quoted(c)}" for v, c in sorted(ctx.merges.items())[:ROWS_SHOWN])
        message = (
            f"{len(ctx.merges)} label(s) differ from another only in case or spaces "
            f"and look like the same label: {listed}."
        )
        ctx.add(WARNING, "label_variants", message, column=ctx.label_column, count=len(ctx.merges))


def text_too_long(ctx: Context) -> None:
    at = ctx.too_long
    if at.count:
        message = (
            f"{at.count:,} text(s) are longer than {ctx.limits.max_text_chars:,} characters ({where(at)}); "
            "only their beginning is used."
        )
        ctx.add(WARNING, "text_too_long", message, column=ctx.text_column, rows=at)


def duplicate_text(ctx: Context) -> None:
    if len(ctx.duplicates.exact_rows):
        at = RowList.of(ctx.duplicates.exact_rows)
        message = f"{at.count:,} row(s) repeat an earlier row's text and labels ({where(at)})."
        ctx.add(WARNING, "duplicate_text", message, column=ctx.text_column, rows=at)


def conflicting_duplicate(ctx: Context) -> None:
    if len(ctx.duplicates.conflicting_rows):
        at = RowList.of(ctx.duplicates.conflicting_rows)
        message = f"{at.count:,} row(s) share a text with another row but not its labels ({where(at)})."
        ctx.add(WARNING, "conflicting_duplicate", message, column=ctx.text_column, rows=at)


def texts_truncated(ctx: Context) -> None:
    share = ctx.truncated_share
    if share is not None and share >= ctx.limits.truncation_warning:
        message = (
            f"About {share:.0%} of texts are longer than the token limit of {ctx.limits.token_limit} "
            "and would be cut; raise max_length if their ends matter."
        )
        ctx.add(WARNING, "texts_truncated", message, column=ctx.text_column)


RULES: tuple[Callable[[Context], None], ...] = (
    rows_left_out,
    no_usable_rows,
    one_label,
    label_too_rare,
    label_few_examples,
    imbalanced,
    label_variants,
    text_too_long,
    duplicate_text,
    conflicting_duplicate,
    texts_truncated,
)
