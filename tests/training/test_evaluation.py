"""Evaluation reports and data preparation on hand-made inputs, with the numbers worked out by hand."""

from __future__ import annotations

import numpy as np
import pytest

from training.engine import data, evaluation

NAMES = ["a", "b", "c"]
# truth a a b b c c / predicted a b b b c a
TRUE = [0, 0, 1, 1, 2, 2]
PRED = [0, 1, 1, 1, 2, 0]
TEXTS = ["t0", "t1", "t2", "t3", "t4", "t5"]


def test_single_label_report_scores() -> None:
    report = evaluation.single_label_report(TRUE, PRED, NAMES, TEXTS)
    assert report["accuracy"] == pytest.approx(4 / 6)
    assert report["per_class"]["a"]["precision"] == pytest.approx(0.5)
    assert report["per_class"]["a"]["recall"] == pytest.approx(0.5)
    assert report["per_class"]["b"]["precision"] == pytest.approx(2 / 3)
    assert report["per_class"]["b"]["f1-score"] == pytest.approx(0.8)
    assert report["per_class"]["c"]["f1-score"] == pytest.approx(2 / 3)
    assert report["per_class"]["c"]["support"] == 2
    assert report["macro_f1"] == pytest.approx((0.5 + 0.8 + 2 / 3) / 3)
    assert report["micro_f1"] == pytest.approx(4 / 6)


def test_single_label_report_confusion_matrix_in_label_order() -> None:
    report = evaluation.single_label_report(TRUE, PRED, NAMES, TEXTS)
    assert report["confusion_matrix"] == {"labels": NAMES, "matrix": [[1, 1, 0], [0, 2, 0], [1, 0, 1]]}


def test_most_confused_pairs_come_with_example_texts() -> None:
    report = evaluation.single_label_report([0, 0, 0, 0, 1, 2], [1, 1, 1, 1, 1, 0], NAMES, TEXTS)
    first, second = report["most_confused"]
    assert first == {"true": "a", "predicted": "b", "count": 4, "examples": ["t0", "t1", "t2"]}
    assert second == {"true": "c", "predicted": "a", "count": 1, "examples": ["t5"]}


def test_labels_absent_from_validation_do_not_count_in_macro_f1() -> None:
    report = evaluation.single_label_report([0, 1], [0, 1], NAMES)
    assert report["macro_f1"] == pytest.approx(1.0)
    assert report["per_class"]["c"]["support"] == 0


def test_threshold_maximises_each_labels_f1() -> None:
    truth = np.array([[1, 1, 0], [1, 1, 0], [0, 0, 0], [0, 0, 0]])
    probs = np.array([[0.9, 0.9, 0.2], [0.6, 0.3, 0.7], [0.4, 0.4, 0.1], [0.1, 0.1, 0.3]])
    thresholds = evaluation.tune_thresholds(truth, probs)
    # label 0: cut between 0.6 and 0.4 (F1 1). label 1: the negative 0.4 outranks the positive 0.3;
    # taking 0.9, 0.4 and 0.3 gives F1 0.8, the best, so the cut falls between 0.3 and 0.1. label 2 has
    # no positive example: the default.
    assert thresholds == pytest.approx([0.5, 0.2, 0.5])


def test_multi_label_report_scores() -> None:
    truth = np.array([[1, 0], [0, 1], [1, 1]])
    probs = np.array([[0.9, 0.2], [0.4, 0.8], [0.7, 0.3]])
    report = evaluation.multi_label_report(truth, probs, [0.5, 0.5], ["x", "y"])
    assert report["subset_accuracy"] == pytest.approx(2 / 3)
    assert report["per_class"]["x"]["f1-score"] == pytest.approx(1.0)
    assert report["per_class"]["y"]["recall"] == pytest.approx(0.5)
    assert report["per_class"]["y"]["threshold"] == 0.5
    assert report["macro_f1"] == pytest.approx((1 + 2 / 3) / 2)
    assert report["micro_f1"] == pytest.approx(6 / 7)


def test_stratified_split_keeps_rare_labels_in_training() -> None:
    labels = [("common",)] * 20 + [("rare",)]
    train, validation = data.stratified_split(labels, 0.25, seed=0)
    assert 20 in train
    assert len(validation) == 5
    assert all(labels[i] == ("common",) for i in validation)
    assert sorted(train + validation) == list(range(21))


def test_stratified_split_is_the_same_for_the_same_seed() -> None:
    labels = [(str(i % 4),) for i in range(40)]
    assert data.stratified_split(labels, 0.2, 7) == data.stratified_split(labels, 0.2, 7)


def test_bucketed_batches_cover_every_row_once_with_similar_lengths() -> None:
    lengths = np.random.default_rng(0).integers(3, 60, size=1000)
    batches = data.bucketed_batches(lengths, 32, seed=1)
    rows = np.concatenate(batches)
    assert sorted(rows.tolist()) == list(range(1000))
    spread = np.mean([lengths[b].max() - lengths[b].min() for b in batches])
    assert spread < 5  # random batches would spread over ~50 tokens


def test_collate_pads_to_the_longest_text_in_the_batch() -> None:
    encoded = data.Encoded([[1, 5, 2], [1, 2], [1, 7, 7, 7, 2]], np.array([0, 1, 0]))
    input_ids, mask, targets = data.collate(encoded, np.array([0, 1]), pad_id=0)
    assert input_ids.tolist() == [[1, 5, 2], [1, 2, 0]]
    assert mask.tolist() == [[1, 1, 1], [1, 1, 0]]
    assert targets.tolist() == [0, 1]
