"""Honest scores: temperature scaling, its calibration error, and confidence thresholds to adopt.

A fine-tuned classifier's softmax is over-confident (0.998 for "it was okay i guess"), so a project's
confidence threshold flags almost nothing. Temperature scaling (Guo et al. 2017) divides the logits by
one number ``T`` fitted on the validation rows (minimising their negative log-likelihood): the ranking
and the argmax stay, the scores come to mean what they say. Serving divides by the same ``T``.

``suggest_thresholds`` turns the calibrated validation scores into thresholds a project can adopt, each
with what it promises on data like the validation rows: the share of predictions flagged
``needs_human`` and the accuracy of the rest.

Single-label only: a multi-label version marks each label against its own threshold, tuned on the same
validation scores at training, and has no ``needs_human`` to route on, so ``calibrate`` skips it and says
why. No torch and no Django here: numpy over the logits ``training.engine.loop`` computes.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

BINS = 15
# The temperatures searched: fits of over-confident fine-tunes land around 1-4, of an under-confident
# (early-stopped, class-weighted) one a little under 1; bounded so a validation set with one or two
# errors cannot sharpen the scores without limit (the NLL falls as T -> 0 while every answer is right).
MIN_TEMPERATURE = 0.25
MAX_TEMPERATURE = 50.0
# Fewer validation rows than this cannot say how sure the model should be: T stays 1.
MIN_ROWS = 20
PRECISION_TARGETS = (0.90, 0.95, 0.99)
COVERAGE_TARGETS = (0.05, 0.10, 0.20)  # shares of predictions flagged needs_human


# A precision suggestion is made only from kept rows among which this many errors are expected at its
# target (n * (1 - p)): enough that the measured accuracy says something about the next texts.
MIN_EXPECTED_ERRORS = 5


def softmax(logits: np.ndarray, temperature: float = 1.0) -> np.ndarray:
    z = np.asarray(logits, dtype=np.float64) / temperature
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def nll(logits: np.ndarray, targets: np.ndarray, temperature: float = 1.0) -> float:
    """Mean negative log-likelihood of the true labels under ``softmax(logits / T)``."""
    z = np.asarray(logits, dtype=np.float64) / temperature
    z = z - z.max(axis=1, keepdims=True)
    log_norm = np.log(np.exp(z).sum(axis=1))
    picked = z[np.arange(len(z)), np.asarray(targets, dtype=np.int64)]
    return float(np.mean(log_norm - picked))


def fit_temperature(logits: np.ndarray, targets: np.ndarray, *, iterations: int = 80) -> float:
    """The ``T`` in [MIN_TEMPERATURE, MAX_TEMPERATURE] minimising the NLL of ``softmax(logits / T)``.

    The NLL is convex in 1/T, so it has one minimum along log T: a golden-section search finds it to a
    relative precision of ~1e-9 in 80 steps (each one pass over the logits).
    """
    if len(logits) == 0:
        return 1.0
    low, high = math.log(MIN_TEMPERATURE), math.log(MAX_TEMPERATURE)
    ratio = (math.sqrt(5) - 1) / 2
    a, b = high - ratio * (high - low), low + ratio * (high - low)
    fa, fb = nll(logits, targets, math.exp(a)), nll(logits, targets, math.exp(b))
    for _ in range(iterations):
        if fa <= fb:
            high, b, fb = b, a, fa
            a = high - ratio * (high - low)
            fa = nll(logits, targets, math.exp(a))
        else:
            low, a, fa = a, b, fb
            b = low + ratio * (high - low)
            fb = nll(logits, targets, math.exp(b))
    return float(math.exp((low + high) / 2))


def expected_calibration_error(probabilities: np.ndarray, targets: np.ndarray, bins: int = BINS) -> float:
    """Top-label ECE: over ``bins`` equal-width confidence bins, |accuracy - mean confidence| weighted by
    the bin's share of rows (bin i holds confidences in (i/bins, (i+1)/bins])."""
    confidence, correct = _top(probabilities, targets)
    if len(confidence) == 0:
        return 0.0
    index = np.clip(np.ceil(confidence * bins).astype(np.int64) - 1, 0, bins - 1)
    total = 0.0
    for b in range(bins):
        in_bin = index == b
        if in_bin.any():
            total += in_bin.mean() * abs(correct[in_bin].mean() - confidence[in_bin].mean())
    return float(total)


def _top(probabilities: np.ndarray, targets: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    probs = np.asarray(probabilities, dtype=np.float64)
    return probs.max(axis=1), (probs.argmax(axis=1) == np.asarray(targets)).astype(np.float64)


def flagged_and_accuracy(confidence: np.ndarray, correct: np.ndarray, threshold: float) -> tuple[float, float | None]:
    """What a threshold does, as serving applies it (``needs_human`` when score < threshold): the share
    flagged and the accuracy of the rest (None when everything is flagged)."""
    kept = confidence >= threshold
    flagged = float((len(kept) - int(kept.sum())) / len(kept)) if len(kept) else 0.0
    return flagged, (float(correct[kept].mean()) if kept.any() else None)


def suggest_thresholds(
    probabilities: np.ndarray,
    targets: np.ndarray,
    *,
    precisions: Sequence[float] = PRECISION_TARGETS,
    coverages: Sequence[float] = COVERAGE_TARGETS,
) -> list[dict[str, Any]]:
    """Thresholds for the project's confidence threshold, each with its promise measured on these rows.

    ``precision_<p>``: the lowest threshold whose kept (not flagged) predictions are at least ``p``
    accurate, i.e. the fewest flagged for that accuracy; left out when no threshold reaches it with
    enough kept rows to measure it (``MIN_EXPECTED_ERRORS`` errors expected among them at ``1 - p``: a
    99 % promise needs 500 kept rows; from fewer, "100 % right" is luck, and held-out data broke it).
    ``coverage_<f>``: the threshold flagging the least confident share ``f`` (ties move the share a
    little; the promise is the share actually flagged). A threshold sits halfway between two scores, so
    a score equal to a validation score falls on the same side as it did.
    """
    confidence, correct = _top(probabilities, targets)
    n = len(confidence)
    if n == 0:
        return []
    order = np.argsort(-confidence, kind="stable")
    scores, hits = confidence[order], correct[order]
    # cuts[k]: keeping the top k+1 rows is possible only where the next score is lower (no tie split).
    cuts = np.append(scores[:-1] > scores[1:], True)
    running_accuracy = np.cumsum(hits) / np.arange(1, n + 1)

    def threshold_keeping(k: int) -> float:
        """The threshold that keeps exactly the top ``k`` rows (k at a cut, or 0 / n)."""
        if k >= n:
            return 0.0
        if k <= 0:
            return float(min(1.0, math.nextafter(float(scores[0]), math.inf)))
        return float((scores[k - 1] + scores[k]) / 2)

    suggestions: list[dict[str, Any]] = []
    for target in precisions:
        enough = np.arange(1, n + 1) * (1 - target) >= MIN_EXPECTED_ERRORS - 1e-9
        reaching = np.flatnonzero(cuts & enough & (running_accuracy >= target - 1e-12))
        if len(reaching) == 0:
            continue
        suggestions.append(
            _suggestion("precision", target, threshold_keeping(int(reaching[-1]) + 1), confidence, correct)
        )
    for share in coverages:
        keep = n - round(share * n)
        # the cut nearest to keeping ``keep`` rows (ties in the scores can prevent the exact count)
        kept_counts = np.append(0, np.flatnonzero(cuts) + 1)
        k = int(kept_counts[np.argmin(np.abs(kept_counts - keep))])
        suggestions.append(_suggestion("coverage", share, threshold_keeping(k), confidence, correct))
    return suggestions


def _suggestion(
    kind: str, target: float, threshold: float, confidence: np.ndarray, correct: np.ndarray
) -> dict[str, Any]:
    flagged, accuracy = flagged_and_accuracy(confidence, correct, threshold)
    return {
        "key": f"{kind}_{round(target * 100)}",
        "kind": kind,
        "target": float(target),
        "threshold": threshold,
        "flagged_share": flagged,
        "accuracy_of_rest": accuracy,
    }


def calibrate(logits: np.ndarray, targets: np.ndarray, *, multi_label: bool, held_out: bool) -> dict[str, Any]:
    """The evaluation's ``calibration`` entry (``temperature`` is what serving divides the logits by).

    ``method`` is "temperature" when fitted, "none" (with ``reason``, and ``temperature`` 1) when not.
    """
    n = len(logits)
    skipped: dict[str, Any] = {"method": "none", "temperature": 1.0, "bins": BINS, "validation_size": n}
    if multi_label:
        return {
            **skipped,
            "reason": "Multi-label versions mark each label against its own threshold, tuned on the validation "
            "scores; there is no needs_human to route on, so their scores are served as trained.",
        }
    if not held_out:
        return {**skipped, "reason": "No rows could be held out for validation, so there is nothing honest to fit on."}
    if n < MIN_ROWS:
        return {**skipped, "reason": f"Only {n} validation rows; calibration needs at least {MIN_ROWS}."}
    targets = np.asarray(targets, dtype=np.int64)
    if bool((np.asarray(logits).argmax(axis=1) == targets).all()):
        return {
            **skipped,
            "reason": f"The model got all {n} validation texts right, so they cannot say how sure it should be; "
            "its scores are served as trained.",
        }
    temperature = fit_temperature(logits, targets)
    before, after = softmax(logits), softmax(logits, temperature)
    return {
        "method": "temperature",
        "temperature": temperature,
        "ece_before": expected_calibration_error(before, targets),
        "ece_after": expected_calibration_error(after, targets),
        "nll_before": nll(logits, targets),
        "nll_after": nll(logits, targets, temperature),
        "bins": BINS,
        "validation_size": n,
        "suggestions": suggest_thresholds(after, targets),
    }


__all__ = [
    "BINS",
    "calibrate",
    "expected_calibration_error",
    "fit_temperature",
    "flagged_and_accuracy",
    "nll",
    "softmax",
    "suggest_thresholds",
]
