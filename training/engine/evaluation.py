"""Evaluation reports for a trained classifier: what a customer reads before deploying a version.

Pure functions over label indices, probabilities and label names; no torch, no Django. Every report is a
JSON-ready dict whose headline keys are the same for both tasks (``accuracy``, ``macro_f1``,
``micro_f1``) so the dashboard can compare versions without knowing the task.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from sklearn.metrics import accuracy_score, classification_report, confusion_matrix, f1_score

from training.engine import calibration

DEFAULT_THRESHOLD = 0.5


def macro_f1(y_true: Sequence[int], y_pred: Sequence[int]) -> float:
    """Macro-F1 over the labels present in truth or prediction (what early stopping watches).

    A label absent from both (too rare to reach validation) is left out rather than counted as 0.
    """
    return float(f1_score(list(y_true), list(y_pred), average="macro", zero_division=0))


def single_label_report(
    y_true: Sequence[int],
    y_pred: Sequence[int],
    label_names: Sequence[str],
    texts: Sequence[str] | None = None,
    *,
    top_pairs: int = 10,
    examples_per_pair: int = 3,
) -> dict[str, Any]:
    """Per-class precision/recall/F1/support, macro/micro F1, accuracy, confusion matrix, most-confused pairs."""
    true = np.asarray(y_true, dtype=np.int64)
    pred = np.asarray(y_pred, dtype=np.int64)
    indices = list(range(len(label_names)))
    per_class = classification_report(
        true, pred, labels=indices, target_names=list(label_names), output_dict=True, zero_division=0
    )
    matrix = confusion_matrix(true, pred, labels=indices)
    return {
        "task": "single_label",
        "n_examples": len(true),
        "accuracy": float(accuracy_score(true, pred)) if len(true) else 0.0,
        # Averages over the labels seen in truth or prediction: one too rare to reach the held-out split
        # says nothing about the model and must not count as an F1 of 0.
        "macro_f1": float(f1_score(true, pred, average="macro", zero_division=0)) if len(true) else 0.0,
        "micro_f1": float(f1_score(true, pred, average="micro", zero_division=0)) if len(true) else 0.0,
        "weighted_f1": float(f1_score(true, pred, average="weighted", zero_division=0)) if len(true) else 0.0,
        "per_class": {name: _plain(per_class[name]) for name in label_names},
        "confusion_matrix": {"labels": list(label_names), "matrix": matrix.astype(int).tolist()},
        "most_confused": most_confused_pairs(
            true, pred, label_names, texts, top_pairs=top_pairs, examples_per_pair=examples_per_pair
        ),
    }


def most_confused_pairs(
    y_true: np.ndarray,
    y_pred: np.ndarray,
    label_names: Sequence[str],
    texts: Sequence[str] | None,
    *,
    top_pairs: int = 10,
    examples_per_pair: int = 3,
) -> list[dict[str, Any]]:
    """The (true, predicted) pairs with the most errors, most first, each with a few example texts."""
    wrong = np.flatnonzero(y_true != y_pred)
    counts: dict[tuple[int, int], list[int]] = {}
    for i in wrong:
        counts.setdefault((int(y_true[i]), int(y_pred[i])), []).append(int(i))
    ordered = sorted(counts.items(), key=lambda item: (-len(item[1]), item[0]))[:top_pairs]
    return [
        {
            "true": label_names[t],
            "predicted": label_names[p],
            "count": len(rows),
            "examples": [texts[i] for i in rows[:examples_per_pair]] if texts is not None else [],
        }
        for (t, p), rows in ordered
    ]


def tune_thresholds(y_true: np.ndarray, probabilities: np.ndarray) -> list[float]:
    """Per label, the probability threshold that maximises that label's F1 on (validation) data.

    A label with no positive example keeps the default 0.5: there is nothing to tune it on. Ties go to
    the highest threshold (fewer false alarms for the same F1).
    """
    truth = np.asarray(y_true, dtype=bool)
    probs = np.asarray(probabilities, dtype=np.float64)
    thresholds: list[float] = []
    for j in range(truth.shape[1]):
        positives = int(truth[:, j].sum())
        if positives == 0:
            thresholds.append(DEFAULT_THRESHOLD)
            continue
        order = np.argsort(-probs[:, j], kind="stable")
        sorted_probs = probs[order, j]
        hits = np.cumsum(truth[order, j])
        predicted = np.arange(1, len(order) + 1)
        f1 = 2 * hits / (predicted + positives)
        # Only cut where the next probability differs, so a threshold never splits equal scores.
        valid = np.append(sorted_probs[:-1] > sorted_probs[1:], True)
        f1 = np.where(valid, f1, -1.0)
        best = int(np.flatnonzero(f1 == f1.max())[0])
        below = sorted_probs[best + 1] if best + 1 < len(sorted_probs) else 0.0
        thresholds.append(float((sorted_probs[best] + below) / 2))
    return thresholds


def apply_thresholds(probabilities: np.ndarray, thresholds: Sequence[float]) -> np.ndarray:
    return (np.asarray(probabilities) >= np.asarray(thresholds, dtype=np.float64)[None, :]).astype(np.int64)


def multi_label_report(
    y_true: np.ndarray,
    probabilities: np.ndarray,
    thresholds: Sequence[float],
    label_names: Sequence[str],
) -> dict[str, Any]:
    """Per-label P/R/F1/support at each label's tuned threshold, micro/macro F1, subset accuracy."""
    truth = np.asarray(y_true, dtype=np.int64)
    pred = apply_thresholds(probabilities, thresholds)
    per_class = classification_report(truth, pred, target_names=list(label_names), output_dict=True, zero_division=0)
    subset = float((truth == pred).all(axis=1).mean()) if len(truth) else 0.0
    report_per_class = {}
    for j, name in enumerate(label_names):
        row = _plain(per_class[name])
        row["threshold"] = float(thresholds[j])
        report_per_class[name] = row
    return {
        "task": "multi_label",
        "n_examples": len(truth),
        "accuracy": subset,
        "subset_accuracy": subset,
        "macro_f1": float(f1_score(truth, pred, average="macro", zero_division=0)),
        "micro_f1": float(f1_score(truth, pred, average="micro", zero_division=0)),
        "weighted_f1": float(f1_score(truth, pred, average="weighted", zero_division=0)),
        "per_class": report_per_class,
        "thresholds": {name: float(t) for name, t in zip(label_names, thresholds, strict=True)},
    }


def _plain(row: dict[str, Any]) -> dict[str, Any]:
    return {key: (int(value) if key == "support" else float(value)) for key, value in row.items()}


# --- from logits: what the training loop scores each epoch and reports at its end ---------------------


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def epoch_score(logits: np.ndarray, targets: np.ndarray, multi_label: bool) -> tuple[float, float, list[float] | None]:
    """Validation macro-F1, accuracy and (multi-label) the thresholds tuned on it."""
    if multi_label:
        probs = _sigmoid(logits)
        thresholds = tune_thresholds(targets, probs)
        predicted = apply_thresholds(probs, thresholds)
        truth = targets.astype(np.int64)
        macro = float(f1_score(truth, predicted, average="macro", zero_division=0))
        return macro, float((truth == predicted).all(axis=1).mean()), thresholds
    predicted_idx = logits.argmax(axis=1)
    accuracy = float((predicted_idx == targets).mean())
    return macro_f1(targets.tolist(), predicted_idx.tolist()), accuracy, None


def final_report(
    logits: np.ndarray,
    targets: np.ndarray,
    texts: Sequence[str],
    label_names: list[str],
    multi_label: bool,
    *,
    held_out: bool = True,
) -> tuple[list[float], dict[str, Any]]:
    """The thresholds to serve with and the report of the best epoch's weights on the validation rows.

    The report's ``calibration`` (``training.engine.calibration``) holds the temperature serving divides
    the logits by, and the confidence thresholds a project can adopt; ``held_out`` false (the rows are
    the training rows) leaves the scores uncalibrated.
    """
    report: dict[str, Any]
    if multi_label:
        probs = _sigmoid(logits)
        thresholds = tune_thresholds(targets, probs)
        report = multi_label_report(targets, probs, thresholds, label_names)
    else:
        predicted = logits.argmax(axis=1)
        report = single_label_report(targets.tolist(), predicted.tolist(), label_names, texts)
        # Single-label prediction is an argmax; a threshold would only hide answers. 0 means "always shown".
        thresholds = [0.0] * len(label_names)
    report["calibration"] = calibration.calibrate(logits, targets, multi_label=multi_label, held_out=held_out)
    return thresholds, report
