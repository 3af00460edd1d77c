"""Parity of the fast path: does a version served in bf16 answer like fp32 on its validation texts?

No Django here. ``inference.loading`` runs the check when a run has trained a version, which is then
served in bf16 only where it passed.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from inference.runtime.classifier import BF16, FP32, load

PARITY_TEXTS = "parity_texts.json"
# Parity bar: the fast path must pick the same label as fp32 this often, and its scores stay this close
# on 99 % of the texts (one text in a few hundred near a decision boundary may move more; its label is
# held by the agreement bar).
MIN_AGREEMENT = 0.995
MAX_SCORE_DIFF = 0.05


@dataclass(frozen=True)
class ParityReport:
    precision: str  # the path that was checked against fp32
    texts: int
    agreement: float  # share of texts whose top label matches fp32's (multi-label: same label set)
    max_score_diff: float
    p99_score_diff: float
    passed: bool

    def as_dict(self) -> dict[str, Any]:
        return {
            "precision": self.precision,
            "texts": self.texts,
            "agreement": self.agreement,
            "max_score_diff": self.max_score_diff,
            "p99_score_diff": self.p99_score_diff,
            "passed": self.passed,
        }


def parity_texts(artifact_dir: Path | str) -> list[str]:
    """The validation texts saved with the artifact for this check (empty for older artifacts)."""
    path = Path(artifact_dir) / PARITY_TEXTS
    return [str(t) for t in json.loads(path.read_text())] if path.is_file() else []


def parity_check(
    artifact_dir: Path | str,
    texts: Sequence[str] | None = None,
    *,
    precision: str = BF16,
    base_model_path: Path | str | None = None,
) -> ParityReport:
    """Does ``precision`` answer like fp32 on the version's validation texts? (>= 99.5 % the same label, and
    scores within MAX_SCORE_DIFF on 99 % of them)."""
    sample = list(texts) if texts is not None else parity_texts(artifact_dir)
    if not sample:
        return ParityReport(precision, 0, 0.0, 1.0, 1.0, False)
    reference = load(artifact_dir, precision=FP32, base_model_path=base_model_path)
    candidate = load(artifact_dir, precision=precision, base_model_path=base_model_path)
    return compare_scores(
        reference.predict_proba(sample),
        candidate.predict_proba(sample),
        precision=precision,
        thresholds=reference.thresholds if reference.multi_label else None,
    )


def compare_scores(
    expected: np.ndarray, got: np.ndarray, *, precision: str, thresholds: np.ndarray | None = None
) -> ParityReport:
    """The parity verdict for fp32 scores ``expected`` against the fast path's ``got`` (one row per text);
    ``thresholds`` for multi-label models, whose label sets must then match."""
    if thresholds is not None:
        same = ((expected >= thresholds) == (got >= thresholds)).all(axis=1)
    else:
        same = expected.argmax(axis=1) == got.argmax(axis=1)
    agreement = float(same.mean())
    per_text = np.abs(expected - got).max(axis=1)
    p99 = float(np.percentile(per_text, 99))
    passed = agreement >= MIN_AGREEMENT and p99 <= MAX_SCORE_DIFF
    return ParityReport(precision, len(expected), agreement, float(per_text.max()), p99, passed)
