"""Scores to the API's prediction shape (DESIGN §6). No Django here.

Every prediction has ``labels``: the ``top_k`` best labels, ranked, each with ``above_threshold``.
Single-label projects add ``label`` and ``score`` (the best one) and ``needs_human``: true when that
score is below the project's confidence threshold, so a support desk routes the text to an agent.
Multi-label projects mark each label against its own threshold, tuned on validation at training.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

DEFAULT_TOP_K = 5


def shape_predictions(
    scores: np.ndarray,
    *,
    label_names: Sequence[str],
    thresholds: np.ndarray,
    multi_label: bool,
    confidence_threshold: float,
    top_k: int | None = None,
) -> list[dict[str, Any]]:
    k = min(top_k or DEFAULT_TOP_K, len(label_names))
    # For single-label models the per-label thresholds are 0: the project's confidence threshold decides.
    bars = thresholds if multi_label else np.full(len(label_names), confidence_threshold, dtype=np.float32)
    ranked = np.argsort(-scores, axis=1, kind="stable")[:, :k]
    out: list[dict[str, Any]] = []
    for row, order in zip(scores, ranked, strict=True):
        labels = [
            {
                "name": label_names[i],
                "score": round(float(row[i]), 6),
                "above_threshold": bool(row[i] >= bars[i]),
            }
            for i in order
        ]
        prediction: dict[str, Any] = {}
        if not multi_label:
            best = int(order[0])
            prediction["label"] = label_names[best]
            prediction["score"] = round(float(row[best]), 6)
            prediction["needs_human"] = bool(row[best] < confidence_threshold)
        prediction["labels"] = labels
        out.append(prediction)
    return out
