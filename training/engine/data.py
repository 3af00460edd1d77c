"""Data preparation for training: label maps, the stratified split, tokenising once, and batching.

On a CPU the cost of a step grows with the padded length of its batch, so batches are padded only to
their longest text (dynamic padding) and texts of similar length are grouped (length bucketing: sort
by length inside shuffled chunks, then shuffle the order of the batches so epochs stay random).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import torch

# How many batches' worth of examples one length-sorted chunk holds: bigger groups lengths better,
# smaller keeps batches more random.
BUCKET_CHUNK_BATCHES = 50


def label_names_of(labels: Sequence[Sequence[str]]) -> list[str]:
    """Label names in index order: sorted, so the same data always gives the same head layout."""
    return sorted({name for row in labels for name in row})


def encode_single(labels: Sequence[Sequence[str]], names: Sequence[str]) -> np.ndarray:
    index = {name: i for i, name in enumerate(names)}
    return np.asarray([index[row[0]] for row in labels], dtype=np.int64)


def encode_multi(labels: Sequence[Sequence[str]], names: Sequence[str]) -> np.ndarray:
    index = {name: i for i, name in enumerate(names)}
    matrix = np.zeros((len(labels), len(names)), dtype=np.float32)
    for i, row in enumerate(labels):
        for name in row:
            matrix[i, index[name]] = 1.0
    return matrix


def auto_validation_fraction(n_examples: int) -> float:
    """Enough held-out rows to compare epochs, without starving training on small data."""
    if n_examples < 200:
        return 0.2
    if n_examples < 2000:
        return 0.15
    # ~800 rows judge an epoch well enough; more only takes rows from training.
    return max(0.05, min(0.1, 800 / n_examples))


def held_out_of(count: int, fraction: float) -> int:
    """How many of one label's ``count`` rows go to validation: ``round(fraction * count)``, but always at
    least one stays in training (a label with a single example is trained on rather than only tested on)."""
    return max(0, min(round(fraction * count), count - 1))


def split_sizes(first_label_counts: Iterable[int], fraction: float | None = None) -> tuple[int, int]:
    """The train and validation sizes :func:`stratified_split` gives rows whose first labels have these
    counts; ``fraction`` None: :func:`auto_validation_fraction`'s. The one rule for the split's size: the
    data check states it (training registers it with the check) and training uses it."""
    counts = list(first_label_counts)
    total = sum(counts)
    if fraction is None:
        fraction = auto_validation_fraction(total)
    validation = sum(held_out_of(count, fraction) for count in counts)
    return total - validation, validation


def stratified_split(labels: Sequence[Sequence[str]], fraction: float, seed: int) -> tuple[list[int], list[int]]:
    """Train and validation indices, stratified on each row's first label.

    Per label, :func:`held_out_of` its rows go to validation. (sklearn's ``train_test_split(stratify=...)``
    refuses classes with one member, which customer data has.) Multi-label rows are stratified on their
    first label, which keeps every label's primary rows spread.
    """
    rng = np.random.default_rng(seed)
    by_label: dict[str, list[int]] = {}
    for i, row in enumerate(labels):
        by_label.setdefault(row[0] if row else "", []).append(i)
    train: list[int] = []
    validation: list[int] = []
    for name in sorted(by_label):
        rows = np.asarray(by_label[name])
        rng.shuffle(rows)
        take = held_out_of(len(rows), fraction)
        validation.extend(int(i) for i in rows[:take])
        train.extend(int(i) for i in rows[take:])
    return sorted(train), sorted(validation)


@dataclass
class Encoded:
    """Token ids per text (truncated, unpadded) with the label targets."""

    input_ids: list[list[int]]
    targets: np.ndarray  # (n,) int64 class indices or (n, k) float32 multi-hot

    def __len__(self) -> int:
        return len(self.input_ids)

    @property
    def lengths(self) -> np.ndarray:
        return np.asarray([len(ids) for ids in self.input_ids], dtype=np.int64)


def tokenize(tokenizer: object, texts: Sequence[str], max_length: int) -> list[list[int]]:
    """Token ids (special tokens included, cut at max_length), once for the whole run."""
    encoded = tokenizer(list(texts), truncation=True, max_length=max_length, padding=False)  # type: ignore[operator]
    return [list(ids) for ids in encoded["input_ids"]]


def bucketed_batches(lengths: np.ndarray, batch_size: int, seed: int) -> list[np.ndarray]:
    """One epoch's batches: shuffled, then length-sorted within chunks, batch order shuffled again."""
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(lengths))
    chunk = batch_size * BUCKET_CHUNK_BATCHES
    batches: list[np.ndarray] = []
    for start in range(0, len(order), chunk):
        part = order[start : start + chunk]
        part = part[np.argsort(-lengths[part], kind="stable")]
        batches.extend(part[i : i + batch_size] for i in range(0, len(part), batch_size))
    rng.shuffle(batches)
    return batches


def sorted_batches(lengths: np.ndarray, batch_size: int) -> list[np.ndarray]:
    """For prediction: longest first, so the padding is least and memory peaks at once."""
    order = np.argsort(-lengths, kind="stable")
    return [order[i : i + batch_size] for i in range(0, len(order), batch_size)]


def collate(data: Encoded, rows: np.ndarray, pad_id: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Input ids and attention mask padded to the batch's longest text, and the targets."""
    sequences = [data.input_ids[i] for i in rows]
    width = max(len(ids) for ids in sequences)
    input_ids = torch.full((len(sequences), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(sequences), width), dtype=torch.long)
    for r, ids in enumerate(sequences):
        input_ids[r, : len(ids)] = torch.tensor(ids, dtype=torch.long)
        mask[r, : len(ids)] = 1
    return input_ids, mask, torch.from_numpy(data.targets[rows])


def iterate(data: Encoded, batches: Sequence[np.ndarray], pad_id: int) -> Iterator[tuple[torch.Tensor, ...]]:
    for rows in batches:
        yield collate(data, rows, pad_id)
