"""One rule for the split: what the data check says training will hold out is what training holds out."""

from __future__ import annotations

import random
from types import SimpleNamespace

import pytest

from projects import services
from projects.models import Dataset
from tests.factories import named_csv
from training import engine
from training.engine.data import split_sizes
from training.runner import _load


def unbalanced_csv(counts: dict[str, int], seed: int = 0) -> bytes:
    lines = [f"text {i} of {label},{label}" for label, n in counts.items() for i in range(n)]
    random.Random(seed).shuffle(lines)
    return ("text,label\n" + "\n".join(lines) + "\n").encode()


@pytest.mark.parametrize(
    "counts",
    [
        {"card": 1000, "refund": 1000},  # 2,000 rows: the check said 1,700/300 where training made 1,800/200
        {"card": 150, "refund": 40, "rare": 1, "two": 2},
        {"a": 7_000, "b": 3_000, "c": 333},
    ],
    ids=["2000-even", "small-with-rare-labels", "10k-unbalanced"],
)
def test_the_checks_split_is_the_one_training_makes(tenant, project, counts):
    data = unbalanced_csv(counts)
    dataset, _ = services.dataset_upload(
        tenant=tenant, project=project, stream=named_csv(data, "d.csv"), name="d.csv", size=len(data)
    )
    stated = Dataset.objects.for_tenant(tenant).get(pk=dataset.pk).report["suggested_split"]

    texts, labels = _load(SimpleNamespace(dataset=dataset))  # the rows training loads, as it loads them
    train, _, validation, _ = engine.examples.split(texts, labels, None, engine.TrainConfig())

    assert (stated["train_rows"], stated["validation_rows"]) == (len(train), len(validation))


def test_a_multi_label_split_counts_rows_by_their_first_label(tenant, project):
    lines = [f"text {i},{'a|b' if i % 3 else 'b|a'}" for i in range(300)] + [f"more {i},c" for i in range(50)]
    data = ("text,labels\n" + "\n".join(lines) + "\n").encode()
    dataset, _ = services.dataset_upload(
        tenant=tenant,
        project=project,
        stream=named_csv(data, "m.csv"),
        name="m.csv",
        size=len(data),
        mapping=services.Mapping(multi_label=True),
    )

    texts, labels = _load(SimpleNamespace(dataset=dataset))
    train, _, validation, _ = engine.examples.split(texts, labels, None, engine.TrainConfig(multi_label=True))

    split = dataset.report["suggested_split"]
    assert (split["train_rows"], split["validation_rows"]) == (len(train), len(validation))


def test_split_sizes_is_what_stratified_split_makes():
    labels = [("a",)] * 1234 + [("b",)] * 7 + [("c",)]
    fraction = engine.data.auto_validation_fraction(len(labels))

    train, validation = engine.data.stratified_split(labels, fraction, seed=3)

    assert split_sizes([1234, 7, 1]) == (len(train), len(validation))
