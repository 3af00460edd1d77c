"""The run's examples: the data check, the validation split, tokenizing each text once, and the class weights."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from training.engine import data
from training.engine.train_config import TrainConfig


class TrainingDataError(ValueError):
    """The texts and labels cannot be trained on (too few, mismatched, one class only)."""


@dataclass
class Examples:
    """The run's examples, tokenized once, and what the final report says about them."""

    tokenizer: Any
    pad_id: int
    label_names: list[str]
    train: data.Encoded
    val: data.Encoded  # the training rows themselves when nothing could be held out
    val_texts: list[str]
    held_out: bool
    validation_given: bool


def check_data(texts: Sequence[str], labels: Sequence[Sequence[str]], multi_label: bool, minimum: int = 2) -> None:
    if len(texts) != len(labels):
        raise TrainingDataError(f"{len(texts)} texts but {len(labels)} label rows.")
    if len(texts) < minimum:
        raise TrainingDataError(f"At least {minimum} examples are needed to train, not {len(texts)}.")
    for i, row in enumerate(labels):
        if not row and not multi_label:
            raise TrainingDataError(f"Example {i} has no label.")


def split(
    texts: Sequence[str],
    labels: Sequence[tuple[str, ...]],
    validation: tuple[Sequence[str], Sequence[tuple[str, ...]]] | None,
    config: TrainConfig,
) -> tuple[list[str], list[tuple[str, ...]], list[str], list[tuple[str, ...]]]:
    """Training texts and labels, then validation ones: those given, else a stratified split."""
    if validation is not None:
        val_texts, val_labels = list(validation[0]), list(validation[1])
        check_data(val_texts, val_labels, config.multi_label, minimum=0)
        return list(texts), list(labels), val_texts, val_labels
    fraction = config.validation_fraction
    if fraction is None:
        fraction = data.auto_validation_fraction(len(texts))
    train_rows, val_rows = data.stratified_split(labels, fraction, config.seed)
    return (
        [texts[i] for i in train_rows],
        [labels[i] for i in train_rows],
        [texts[i] for i in val_rows],
        [labels[i] for i in val_rows],
    )


def prepare_examples(
    texts: Sequence[str],
    labels: Sequence[tuple[str, ...]],
    validation: tuple[Sequence[str], Sequence[tuple[str, ...]]] | None,
    config: TrainConfig,
    base: Path,
) -> Examples:
    train_texts, train_labels, val_texts, val_labels = split(texts, labels, validation, config)
    label_names = data.label_names_of([*train_labels, *val_labels])
    if not config.multi_label and len(label_names) < 2:
        raise TrainingDataError("A classifier needs at least two different labels.")

    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(base))
    pad_id = int(tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0)
    encode = data.encode_multi if config.multi_label else data.encode_single
    train = data.Encoded(data.tokenize(tokenizer, train_texts, config.max_length), encode(train_labels, label_names))
    held_out = bool(val_texts)
    # Nothing could be held out (every label too rare): evaluate on the training rows and say so.
    val = (
        data.Encoded(data.tokenize(tokenizer, val_texts, config.max_length), encode(val_labels, label_names))
        if held_out
        else train
    )
    return Examples(
        tokenizer=tokenizer,
        pad_id=pad_id,
        label_names=label_names,
        train=train,
        val=val,
        val_texts=val_texts if held_out else train_texts,
        held_out=held_out,
        validation_given=validation is not None,
    )


def class_weights(train: data.Encoded, n_labels: int, multi_label: bool) -> torch.Tensor:
    """Inverse-frequency weights, square-rooted so rare labels count more without swamping the rest.

    Single-label: a weight per class (normalised so an average example weighs 1). Multi-label: BCE's
    ``pos_weight`` per label (negatives / positives, square-rooted, capped at 10).
    """
    if multi_label:
        positives = train.targets.sum(axis=0)
        negatives = len(train) - positives
        ratio = np.sqrt(negatives / np.maximum(positives, 1.0))
        return torch.tensor(np.clip(ratio, 1.0, 10.0), dtype=torch.float32)
    counts = np.bincount(train.targets, minlength=n_labels).astype(np.float64)
    weights = np.where(counts > 0, np.sqrt(len(train) / (n_labels * np.maximum(counts, 1.0))), 0.0)
    mean = float((weights * counts).sum() / max(counts.sum(), 1.0))
    return torch.tensor(weights / mean, dtype=torch.float32)
