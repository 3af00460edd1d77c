"""The training engine on a tiny random BERT: learning, multi-label thresholds, early stop, cancel, resume.

The tiny model knows no language, so tasks here are separable by vocabulary alone: each label has its
own words. Runs stay small so the module stays quick on a CPU.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from pathlib import Path

import pytest
from safetensors import safe_open

from tests.factories import NAMES, config, make_tiny_bert, multi_labelled, separable
from training import engine


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_tiny_bert(tmp_path_factory.mktemp("tiny-bert"))


@pytest.fixture(scope="module")
def full_run(tiny: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[engine.TrainResult, list[engine.Progress]]:
    events: list[engine.Progress] = []
    texts, labels = separable(240)
    result = engine.fine_tune(
        texts, labels, config(), tiny, tmp_path_factory.mktemp("full"), progress=events.append, resume=False
    )
    return result, events


def test_full_fine_tuning_learns_a_separable_task(full_run: tuple[engine.TrainResult, list[engine.Progress]]) -> None:
    result, _ = full_run
    assert result.metrics["accuracy"] > 0.9
    assert result.metrics["macro_f1"] > 0.9
    assert result.history[-1]["train_loss"] < result.history[0]["train_loss"]
    assert result.label_names == NAMES
    assert result.epochs_run == 4


def test_report_has_per_class_scores_and_confusion_matrix(
    full_run: tuple[engine.TrainResult, list[engine.Progress]],
) -> None:
    metrics = full_run[0].metrics
    assert set(metrics["per_class"]) == set(NAMES)
    assert metrics["confusion_matrix"]["labels"] == NAMES
    assert sum(map(sum, metrics["confusion_matrix"]["matrix"])) == metrics["n_validation"] > 0
    assert metrics["evaluated_on"] == "validation"


def test_full_artifact_has_safetensors_tokenizer_and_manifest(
    full_run: tuple[engine.TrainResult, list[engine.Progress]],
) -> None:
    result = full_run[0]
    directory = result.artifact_dir
    assert (directory / "model.safetensors").is_file()
    assert (directory / "tokenizer.json").is_file()
    manifest = json.loads((directory / "tunebase.json").read_text())
    assert manifest["label_names"] == NAMES
    assert manifest["method"] == "full"
    assert manifest["multi_label"] is False
    assert manifest["max_length"] == 128
    assert set(manifest["thresholds"]) == set(NAMES)
    assert json.loads((directory / "report.json").read_text())["accuracy"] == result.metrics["accuracy"]


def test_progress_steps_increase_and_eta_is_finite(
    full_run: tuple[engine.TrainResult, list[engine.Progress]],
) -> None:
    events = full_run[1]
    training = [e for e in events if e.phase == "training"]
    steps = [e.step for e in training]
    assert steps == sorted(steps) and steps[-1] == training[-1].total_steps
    assert all(e.eta_s is not None and math.isfinite(e.eta_s) and e.eta_s >= 0 for e in training)
    assert training[-1].eta_s == 0
    epoch_ends = [e for e in training if e.macro_f1 is not None]
    assert [e.epoch for e in epoch_ends] == [1, 2, 3, 4]
    assert all(e.accuracy is not None for e in epoch_ends)
    assert next(e.phase for e in events) == "preparing" and events[-1].phase == "saving"


def test_progress_is_throttled(tiny: Path, tmp_path: Path) -> None:
    events: list[engine.Progress] = []
    texts, labels = separable(120)
    engine.fine_tune(texts, labels, config(epochs=2, progress_interval_s=60.0), tiny, tmp_path, progress=events.append)
    # Only the forced ones: preparing, evaluating and epoch end twice, saving. Every step comes within
    # 60 s of the event before it, so no step's own event gets through.
    assert [e.phase for e in events] == ["preparing", "evaluating", "training", "evaluating", "training", "saving"]
    assert all(e.macro_f1 is not None for e in events if e.phase == "training")


def test_multi_label_thresholds_are_tuned_and_saved_per_label(tiny: Path, tmp_path: Path) -> None:
    texts, labels = multi_labelled(300)
    result = engine.fine_tune(texts, labels, config(epochs=6, multi_label=True), tiny, tmp_path, resume=False)
    assert set(result.thresholds) == set(NAMES)
    assert all(0.0 < t < 1.0 for t in result.thresholds.values())
    assert result.metrics["task"] == "multi_label"
    assert result.metrics["micro_f1"] > 0.8
    saved = json.loads((result.artifact_dir / "tunebase.json").read_text())
    assert saved["multi_label"] is True
    assert saved["thresholds"] == result.thresholds
    assert {name: row["threshold"] for name, row in result.metrics["per_class"].items()} == result.thresholds


def test_early_stopping_ends_before_max_epochs_and_keeps_the_best_epoch(tiny: Path, tmp_path: Path) -> None:
    texts, labels = separable(120)
    # A learning rate too small to change any prediction: validation macro-F1 never improves.
    result = engine.fine_tune(
        texts, labels, config(epochs=10, learning_rate=1e-9, early_stopping_patience=2), tiny, tmp_path
    )
    assert result.epochs_run == 3
    assert result.best_epoch == 1
    assert len(result.history) == 3


def test_should_stop_cancels_within_a_step(tiny: Path, tmp_path: Path) -> None:
    texts, labels = separable(240)
    polls = 0

    def should_stop() -> bool:
        nonlocal polls
        polls += 1
        return polls > 3

    events: list[engine.Progress] = []
    with pytest.raises(engine.TrainingCancelled):
        engine.fine_tune(texts, labels, config(), tiny, tmp_path, progress=events.append, should_stop=should_stop)
    assert max(e.step for e in events) <= 3
    assert not (tmp_path / "model").exists()


def stop_after_step(step: int) -> Callable[[], bool]:
    calls = 0

    def should_stop() -> bool:
        nonlocal calls
        calls += 1
        return calls > step

    return should_stop


def test_resume_continues_at_the_next_epoch_and_matches_an_uninterrupted_run(tiny: Path, tmp_path: Path) -> None:
    texts, labels = separable(150)
    settings = config(epochs=3, learning_rate=1e-3)
    straight = engine.fine_tune(texts, labels, settings, tiny, tmp_path / "straight")

    steps_per_epoch = math.ceil(len(engine.data.stratified_split(labels, 0.2, settings.seed)[0]) / settings.batch_size)
    interrupted = tmp_path / "interrupted"
    with pytest.raises(engine.TrainingCancelled):  # dies part-way through epoch 2
        engine.fine_tune(texts, labels, settings, tiny, interrupted, should_stop=stop_after_step(steps_per_epoch + 2))
    assert (interrupted / "checkpoints" / "latest" / "state.json").is_file()

    events: list[engine.Progress] = []
    resumed = engine.fine_tune(texts, labels, settings, tiny, interrupted, progress=events.append, resume=True)
    first_training = next(e for e in events if e.phase == "training")
    assert first_training.epoch == 2
    assert first_training.step == steps_per_epoch + 1
    assert [h["epoch"] for h in resumed.history] == [1, 2, 3]
    for a, b in zip(resumed.history, straight.history, strict=True):
        assert a["train_loss"] == pytest.approx(b["train_loss"], rel=1e-4)
        assert a["val_macro_f1"] == pytest.approx(b["val_macro_f1"])
    assert resumed.metrics["accuracy"] == pytest.approx(straight.metrics["accuracy"])


def test_resume_false_starts_over(tiny: Path, tmp_path: Path) -> None:
    texts, labels = separable(90)
    engine.fine_tune(texts, labels, config(epochs=1), tiny, tmp_path)
    events: list[engine.Progress] = []
    result = engine.fine_tune(texts, labels, config(epochs=2), tiny, tmp_path, progress=events.append, resume=False)
    assert next(e for e in events if e.phase == "training").epoch == 1
    assert result.epochs_run == 2


def test_lora_artifact_is_an_adapter_and_head_of_a_few_kilobytes(tiny: Path, tmp_path: Path) -> None:
    texts, labels = separable(90)
    result = engine.fine_tune(texts, labels, config(method="lora", epochs=1, learning_rate=1e-2), tiny, tmp_path)
    directory = result.artifact_dir
    assert not (directory / "model.safetensors").exists()
    weights = [directory / "adapter_model.safetensors", directory / "head.safetensors"]
    assert all(p.is_file() for p in weights)
    full_size = (tiny / "model.safetensors").stat().st_size
    assert sum(p.stat().st_size for p in weights) < full_size / 20
    assert json.loads((directory / "tunebase.json").read_text())["method"] == "lora"
    with safe_open(str(directory / "head.safetensors"), "pt") as head:  # keys as in the plain model
        assert {"classifier.weight", "classifier.bias"} <= set(head.keys())
    model = engine.load_artifact_model(directory)
    assert model.config.id2label == dict(enumerate(NAMES))


def test_adalora_trains_and_saves_an_adapter(tiny: Path, tmp_path: Path) -> None:
    texts, labels = separable(90)
    result = engine.fine_tune(texts, labels, config(method="adalora", epochs=1, learning_rate=1e-2), tiny, tmp_path)
    assert (result.artifact_dir / "adapter_model.safetensors").is_file()
    assert result.epochs_run == 1


def test_an_adalora_artifact_loads_with_its_kept_ranks_and_no_warning(tiny: Path, tmp_path: Path) -> None:
    import warnings

    texts, labels = separable(90)
    result = engine.fine_tune(texts, labels, config(method="adalora", epochs=1, learning_rate=1e-2), tiny, tmp_path)
    kept = json.loads((result.artifact_dir / "adapter_config.json").read_text())["rank_pattern"]
    assert kept  # AdaLoRA saved the ranks it kept

    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)  # peft said these rank_pattern keys were "ignored"
        model = engine.load_artifact_model(result.artifact_dir)

    parameters = dict(model.named_parameters())
    for key, mask in kept.items():
        loaded = next(p for name, p in parameters.items() if name.endswith(key.replace(".lora_E", ".lora_E.default")))
        assert loaded.shape[0] == sum(mask)  # the pattern was applied, not ignored


def test_given_validation_replaces_the_split(tiny: Path, tmp_path: Path) -> None:
    texts, labels = separable(90)
    val_texts, val_labels = separable(30, seed=1)
    result = engine.fine_tune(texts, labels, config(epochs=1), tiny, tmp_path, validation=(val_texts, val_labels))
    assert result.metrics["n_train"] == 90
    assert result.metrics["n_validation"] == 30
    assert result.metrics["validation_source"] == "given"


def test_a_single_label_class_cannot_be_trained(tiny: Path, tmp_path: Path) -> None:
    with pytest.raises(engine.TrainingDataError):
        engine.fine_tune(["a", "b", "c"], [("x",)] * 3, config(), tiny, tmp_path)


def test_defaults_scale_with_dataset_size_and_method() -> None:
    small, large = engine.defaults_for(200, 5, "full"), engine.defaults_for(10_000, 77, "full")
    assert small.epochs > large.epochs
    assert large.learning_rate == pytest.approx(1e-4)
    assert engine.defaults_for(10_000, 77, "lora").learning_rate > large.learning_rate
    assert engine.defaults_for(100, 50, "full").class_weighting is False
