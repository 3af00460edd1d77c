"""The training engine: texts and labels in, a fine-tuned classifier artifact and its evaluation out.

No Django here: the Celery side (``training.runner``) passes plain data, a progress callback and a stop
check. What makes it fast on a CPU without a GPU: bf16 autocast where the CPU has bf16 kernels (AMX /
AVX-512-BF16), padding each batch only to its longest text, and batching texts of similar length.
On CUDA it trains under autocast (bf16 where supported, else fp16 with a gradient scaler).

A run is resumable: each epoch ends with a checkpoint under ``output_dir/checkpoints/`` and a new
call with ``resume=True`` continues after the last finished epoch, with the same data order and RNG
state, so a run whose worker was killed ends where an uninterrupted one would.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

# Models load only from local directories; never let transformers or peft try the hub.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

import numpy as np
import torch
import torch.nn.functional as F

from training.engine import artifacts, data, evaluation, modeling
from training.engine.modeling import (
    Precision,
    build_model,
    choose_precision,
    linear_schedule,
    load_artifact_model,
    predict_logits,
    seed_everything,
)

logger = logging.getLogger(__name__)

METHODS = ("full", "lora", "adalora")
DEVICES = ("auto", "cpu", "cuda")
ARTIFACT_DIR = "model"


class TrainingCancelled(Exception):
    """``should_stop()`` said stop; raised within one training step of it."""


class TrainingDataError(ValueError):
    """The texts and labels cannot be trained on (too few, mismatched, one class only)."""


@dataclass
class TrainConfig:
    method: str = "full"
    epochs: int = 5
    learning_rate: float = 1e-4
    batch_size: int = 32
    max_length: int = 128
    seed: int = 42
    validation_fraction: float | None = None  # None: chosen from the dataset's size
    early_stopping_patience: int = 2  # epochs without a better validation macro-F1; 0 disables
    class_weighting: bool = True
    multi_label: bool = False
    device: str = "auto"
    warmup_ratio: float = 0.06
    weight_decay: float = 0.01
    max_grad_norm: float = 1.0
    head_lr_scale: float = 1.0  # the new classification head's learning rate, as a multiple
    lora_r: int = 8
    lora_alpha: int = 16
    lora_dropout: float = 0.1
    eval_batch_size: int = 128
    progress_interval_s: float = 2.0

    def validate(self) -> None:
        if self.method not in METHODS:
            raise ValueError(f"method must be one of {', '.join(METHODS)}, not {self.method!r}")
        if self.device not in DEVICES:
            raise ValueError(f"device must be one of {', '.join(DEVICES)}, not {self.device!r}")
        if self.epochs < 1 or self.batch_size < 1 or self.max_length < 8:
            raise ValueError("epochs and batch_size must be at least 1, max_length at least 8")
        if not 0 < self.learning_rate < 1:
            raise ValueError("learning_rate must be between 0 and 1")
        if self.validation_fraction is not None and not 0 <= self.validation_fraction < 1:
            raise ValueError("validation_fraction must be in [0, 1)")
        if not 0 < self.head_lr_scale <= 100:
            raise ValueError("head_lr_scale must be in (0, 100]")
        if not 0 <= self.warmup_ratio < 1:
            raise ValueError("warmup_ratio must be in [0, 1)")


def defaults_for(n_examples: int, n_labels: int, method: str = "full") -> TrainConfig:
    """Hyperparameters for a dataset of this size, to be overridden by what the customer set.

    On MiniLM, bf16, dynamic padding and length-bucketed batches at lr 1e-4 with linear warm-up and
    decay fit banking77 well in 5 epochs (``bench/train_quality.py`` measures it). Smaller datasets
    get more epochs (too few optimizer steps otherwise) and smaller batches (more steps per epoch).
    LoRA trains only ~1 % of the weights and needs a ~5x higher learning rate to learn at all.
    """
    if n_examples < 300:
        epochs, batch_size, patience = 15, 16, 4
    elif n_examples < 1500:
        epochs, batch_size, patience = 10, 16, 3
    elif n_examples < 5000:
        epochs, batch_size, patience = 7, 32, 2
    else:
        epochs, batch_size, patience = 5, 32, 2
    if method == "full":
        learning_rate = 1e-4
    elif method == "lora":
        learning_rate = 5e-4
    else:
        learning_rate = 1e-3  # AdaLoRA starts at a higher rank and prunes: it tolerates a higher rate
    return TrainConfig(
        method=method,
        epochs=epochs,
        learning_rate=learning_rate,
        # Full fine-tuning: the random head at 10x the encoder's rate (at the encoder's rate for all
        # weights the head fits banking77 too slowly: higher loss early, lower accuracy at the end).
        # LoRA's rate is already high.
        head_lr_scale=10.0 if method == "full" else 1.0,
        batch_size=batch_size,
        early_stopping_patience=patience,
        # Many labels over few rows: each label's weight is estimated from a handful of examples and
        # would be noise; plain loss is safer there.
        class_weighting=n_examples >= 5 * max(n_labels, 1),
    )


@dataclass
class Progress:
    phase: str  # "preparing" | "training" | "evaluating" | "saving"
    epoch: int
    epochs: int
    step: int
    total_steps: int
    loss: float | None = None
    learning_rate: float | None = None
    samples_per_s: float | None = None
    eta_s: float | None = None
    macro_f1: float | None = None
    accuracy: float | None = None
    history: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class TrainResult:
    artifact_dir: Path
    metrics: dict[str, Any]
    label_names: list[str]
    thresholds: dict[str, float]
    best_epoch: int
    epochs_run: int
    history: list[dict[str, Any]]
    samples_per_s: float


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


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def _score(logits: np.ndarray, validation: data.Encoded, multi_label: bool) -> tuple[float, float, list[float] | None]:
    """Validation macro-F1, accuracy and (multi-label) the thresholds tuned on it."""
    if multi_label:
        probs = _sigmoid(logits)
        thresholds = evaluation.tune_thresholds(validation.targets, probs)
        predicted = evaluation.apply_thresholds(probs, thresholds)
        truth = validation.targets.astype(np.int64)
        from sklearn.metrics import f1_score

        macro = float(f1_score(truth, predicted, average="macro", zero_division=0))
        return macro, float((truth == predicted).all(axis=1).mean()), thresholds
    predicted_idx = logits.argmax(axis=1)
    accuracy = float((predicted_idx == validation.targets).mean())
    return evaluation.macro_f1(validation.targets.tolist(), predicted_idx.tolist()), accuracy, None


# --- the run ---------------------------------------------------------------------------------------


def _fingerprint(
    texts: Sequence[str], labels: Sequence[Sequence[str]], validation_rows: int, config: TrainConfig, base: Path
) -> str:
    """What a checkpoint must match to be resumed: same data, same settings, same base model."""
    digest = hashlib.sha256()
    for text, row in zip(texts, labels, strict=True):
        digest.update(text.encode())
        digest.update(b"\x00" + "\x1f".join(row).encode() + b"\x01")
    settings = {k: v for k, v in asdict(config).items() if k not in ("device", "progress_interval_s", "epochs")}
    digest.update(json.dumps([settings, validation_rows, str(base)], sort_keys=True).encode())
    return digest.hexdigest()


class _Reporter:
    """Builds progress events and sends at most one per interval; forced ones (phase and epoch ends) always go.

    The event is built only when it is sent: a throttled step costs one clock read here.
    """

    def __init__(self, callback: Callable[[Progress], None] | None, interval: float, epochs: int) -> None:
        self.callback, self.interval, self.epochs = callback, interval, epochs
        self.last = -math.inf

    def __call__(
        self,
        phase: str,
        *,
        epoch: int,
        step: int,
        total_steps: int,
        history: Sequence[dict[str, Any]] = (),
        force: bool = False,
        loss: float | None = None,
        learning_rate: float | None = None,
        samples_per_s: float | None = None,
        eta_s: float | None = None,
        macro_f1: float | None = None,
        accuracy: float | None = None,
    ) -> None:
        if self.callback is None:
            return
        now = time.monotonic()
        if not force and now - self.last < self.interval:
            return
        self.last = now
        self.callback(
            Progress(
                phase=phase,
                epoch=epoch,
                epochs=self.epochs,
                step=step,
                total_steps=total_steps,
                loss=loss,
                learning_rate=learning_rate,
                samples_per_s=samples_per_s,
                eta_s=eta_s,
                macro_f1=macro_f1,
                accuracy=accuracy,
                history=list(history),
            )
        )


@dataclass
class _Examples:
    """The run's examples, tokenized once, and what the final report says about them."""

    tokenizer: Any
    pad_id: int
    label_names: list[str]
    train: data.Encoded
    val: data.Encoded  # the training rows themselves when nothing could be held out
    val_texts: list[str]
    held_out: bool
    validation_given: bool


@dataclass
class _Run:
    """What the loop trains with: built once per call, never checkpointed."""

    config: TrainConfig
    output: Path
    examples: _Examples
    precision: Precision
    model: torch.nn.Module
    optimizer: torch.optim.Optimizer
    scheduler: torch.optim.lr_scheduler.LambdaLR
    weight: torch.Tensor
    steps_per_epoch: int
    total_steps: int
    report: _Reporter
    stop: Callable[[], bool]


@dataclass
class _RunState:
    """Where the run is: the checkpoint's ``state.json`` (field order is that file's key order)."""

    fingerprint: str
    epoch: int = 0
    history: list[dict[str, Any]] = field(default_factory=list)
    best_score: float = -1.0
    best_epoch: int = 0
    best_thresholds: list[float] | None = None
    epochs_without_improvement: int = 0
    finished: bool = False

    def end_epoch(
        self, epoch: int, score: float, thresholds: list[float] | None, *, config: TrainConfig, held_out: bool
    ) -> tuple[bool, bool]:
        """Record the epoch's validation score: (is it the best so far, does the run stop early)."""
        improved = score > self.best_score + 1e-6
        if improved:
            self.best_score, self.best_epoch, self.best_thresholds = score, epoch, thresholds
            self.epochs_without_improvement = 0
        else:
            self.epochs_without_improvement += 1
        patience = config.early_stopping_patience
        stopping_early = held_out and patience > 0 and self.epochs_without_improvement >= patience
        self.epoch = epoch
        self.finished = stopping_early or epoch >= config.epochs
        return improved, stopping_early


@dataclass
class _Counters:
    """This call's step and timing (a resumed run counts speed from its own start), for progress and the report."""

    step: int
    started: float = field(default_factory=time.monotonic)
    train_seconds: float = 0.0
    samples_seen: int = 0
    eval_seconds: list[float] = field(default_factory=list)

    def samples_per_s(self) -> float | None:
        return self.samples_seen / self.train_seconds if self.train_seconds > 0 else None

    def eta(self, config: TrainConfig, total_steps: int, epoch: int) -> float | None:
        if self.samples_seen == 0 or self.train_seconds <= 0:
            return None
        seconds_per_step = self.train_seconds / math.ceil(self.samples_seen / config.batch_size)
        evals = self.eval_seconds
        per_eval = sum(evals) / len(evals) if evals else seconds_per_step * 2
        evals_left = config.epochs - epoch + (0 if len(evals) >= epoch else 1)
        return max(0.0, (total_steps - self.step) * seconds_per_step + max(evals_left, 0) * per_eval)


def fine_tune(
    texts: Sequence[str],
    labels: Sequence[tuple[str, ...]],
    config: TrainConfig,
    base_model_path: Path | str,
    output_dir: Path | str,
    *,
    validation: tuple[Sequence[str], Sequence[tuple[str, ...]]] | None = None,
    progress: Callable[[Progress], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
    resume: bool = True,
    base_model_name: str | None = None,
) -> TrainResult:
    """Fine-tune ``base_model_path`` on the texts and labels; write the artifact to ``output_dir/model``.

    ``labels`` holds one tuple of label names per text (1-tuples when single-label). ``validation``,
    when given, replaces the stratified split. Raises ``TrainingCancelled`` when ``should_stop()``
    turns true, ``TrainingDataError`` when the data cannot be trained on. ``base_model_name`` (the
    registry's name, e.g. ``minilm-l6``) is recorded in the artifact; it defaults to the directory name.
    """
    config.validate()
    base = Path(base_model_path)
    output = Path(output_dir)
    output.mkdir(parents=True, exist_ok=True)
    report = _Reporter(progress, config.progress_interval_s, config.epochs)
    report("preparing", epoch=0, step=0, total_steps=0, force=True)
    _check_data(texts, labels, config.multi_label)

    # The order from here on is the RNG's order (the new head's initialisation): keep it.
    modeling.seed_everything(config.seed)
    precision = modeling.choose_precision(config.device)
    examples = _prepare_examples(texts, labels, validation, config, base)
    run = _build_run(examples, config, precision, base, output, report, should_stop or (lambda: False))
    validation_rows = len(examples.val_texts) if examples.held_out else 0
    state = _start_or_resume(run, _fingerprint(texts, labels, validation_rows, config, base), resume)

    run.model.train()
    counters = _Counters(step=state.epoch * run.steps_per_epoch)
    while not state.finished and state.epoch < config.epochs:
        _run_epoch(run, state, counters)
    return _finish(run, state, counters, base_name=base_model_name or base.name, base_path=base)


def _split(
    texts: Sequence[str],
    labels: Sequence[tuple[str, ...]],
    validation: tuple[Sequence[str], Sequence[tuple[str, ...]]] | None,
    config: TrainConfig,
) -> tuple[list[str], list[tuple[str, ...]], list[str], list[tuple[str, ...]]]:
    """Training texts and labels, then validation ones: those given, else a stratified split."""
    if validation is not None:
        val_texts, val_labels = list(validation[0]), list(validation[1])
        _check_data(val_texts, val_labels, config.multi_label, minimum=0)
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


def _prepare_examples(
    texts: Sequence[str],
    labels: Sequence[tuple[str, ...]],
    validation: tuple[Sequence[str], Sequence[tuple[str, ...]]] | None,
    config: TrainConfig,
    base: Path,
) -> _Examples:
    train_texts, train_labels, val_texts, val_labels = _split(texts, labels, validation, config)
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
    return _Examples(
        tokenizer=tokenizer,
        pad_id=pad_id,
        label_names=label_names,
        train=train,
        val=val,
        val_texts=val_texts if held_out else train_texts,
        held_out=held_out,
        validation_given=validation is not None,
    )


def _build_run(
    examples: _Examples,
    config: TrainConfig,
    precision: Precision,
    base: Path,
    output: Path,
    report: _Reporter,
    stop: Callable[[], bool],
) -> _Run:
    steps_per_epoch = math.ceil(len(examples.train) / config.batch_size)
    total_steps = steps_per_epoch * config.epochs
    model = modeling.build_model(base, examples.label_names, config, total_steps).to(precision.device)
    optimizer = modeling.make_optimizer(model, config)
    scheduler = modeling.linear_schedule(optimizer, int(config.warmup_ratio * total_steps), total_steps)
    weight = class_weights(examples.train, len(examples.label_names), config.multi_label).to(precision.device)
    return _Run(
        config=config,
        output=output,
        examples=examples,
        precision=precision,
        model=model,
        optimizer=optimizer,
        scheduler=scheduler,
        weight=weight,
        steps_per_epoch=steps_per_epoch,
        total_steps=total_steps,
        report=report,
        stop=stop,
    )


def _start_or_resume(run: _Run, fingerprint: str, resume: bool) -> _RunState:
    """The state after the last checkpointed epoch (model, optimizer, schedule and RNG restored), or a fresh one."""
    saved = artifacts.load_checkpoint(run.output) if resume else None
    if saved is not None and saved[0].get("fingerprint") == fingerprint:
        state = _RunState(**saved[0])
        _restore_checkpoint(run, saved[1])
        logger.info("resuming training after epoch %d", state.epoch)
        return state
    artifacts.clear_checkpoints(run.output)
    if saved is not None:
        logger.info("ignoring a checkpoint of different data or settings")
    return _RunState(fingerprint=fingerprint)


def _restore_checkpoint(run: _Run, directory: Path) -> None:
    artifacts.load_trainable_state(run.model, artifacts.load_weights(directory))
    training_state = artifacts.load_training_state(directory)
    run.optimizer.load_state_dict(training_state["optimizer"])
    run.scheduler.load_state_dict(training_state["scheduler"])
    scaler = run.precision.scaler
    if scaler is not None and training_state.get("scaler"):
        scaler.load_state_dict(training_state["scaler"])
    artifacts.set_rng_state(training_state["rng"])


def _run_epoch(run: _Run, state: _RunState, counters: _Counters) -> None:
    """Train one epoch, evaluate it, checkpoint it and report it."""
    epoch = state.epoch + 1
    epoch_started = time.monotonic()
    train_loss = _train_epoch(run, counters, epoch, state.history)
    run.report(
        "evaluating", epoch=epoch, step=counters.step, total_steps=run.total_steps, history=state.history, force=True
    )
    examples, config = run.examples, run.config
    eval_started = time.monotonic()
    logits = modeling.predict_logits(
        run.model, examples.val, run.precision, config.eval_batch_size, examples.pad_id, _raise_if(run.stop)
    )
    score, accuracy, thresholds = _score(logits, examples.val, config.multi_label)
    counters.eval_seconds.append(time.monotonic() - eval_started)
    state.history.append(
        {
            "epoch": epoch,
            "train_loss": train_loss,
            "val_macro_f1": score,
            "val_accuracy": accuracy,
            "learning_rate": float(run.scheduler.get_last_lr()[0]),
            "seconds": time.monotonic() - epoch_started,
        }
    )
    improved, stopping_early = state.end_epoch(epoch, score, thresholds, config=config, held_out=examples.held_out)
    if run.stop():
        raise TrainingCancelled(f"cancelled after epoch {epoch}")
    _save_checkpoint(run, state, improved)
    _report_training(run, counters, epoch, train_loss, state.history, force=True, macro_f1=score, accuracy=accuracy)
    if stopping_early:
        logger.info(
            "early stop after epoch %d: best macro-F1 %.4f at epoch %d", epoch, state.best_score, state.best_epoch
        )


def _train_epoch(run: _Run, counters: _Counters, epoch: int, history: list[dict[str, Any]]) -> float:
    """One pass over the training batches (the hot loop); the epoch's mean training loss."""
    config, train, stop, scheduler = run.config, run.examples.train, run.stop, run.scheduler
    loss_sum, loss_count = 0.0, 0
    batches = data.bucketed_batches(train.lengths, config.batch_size, config.seed * 1000 + epoch)
    for input_ids, mask, targets in data.iterate(train, batches, run.examples.pad_id):
        if stop():
            raise TrainingCancelled(f"cancelled at step {counters.step}")
        step_started = time.monotonic()
        loss = train_step(
            run.model, run.optimizer, run.precision, config, run.weight, input_ids, mask, targets, counters.step
        )
        scheduler.step()
        counters.step += 1
        loss_sum += loss
        loss_count += 1
        counters.train_seconds += time.monotonic() - step_started
        counters.samples_seen += len(input_ids)
        _report_training(run, counters, epoch, loss_sum / loss_count, history)
    return loss_sum / max(loss_count, 1)


def _report_training(
    run: _Run,
    counters: _Counters,
    epoch: int,
    loss: float,
    history: list[dict[str, Any]],
    *,
    force: bool = False,
    macro_f1: float | None = None,
    accuracy: float | None = None,
) -> None:
    """A "training" event: after each step (throttled), and at each epoch's end with its validation scores."""
    run.report(
        "training",
        epoch=epoch,
        step=counters.step,
        total_steps=run.total_steps,
        history=history,
        force=force,
        loss=loss,
        learning_rate=float(run.scheduler.get_last_lr()[0]),
        samples_per_s=counters.samples_per_s(),
        eta_s=counters.eta(run.config, run.total_steps, epoch),
        macro_f1=macro_f1,
        accuracy=accuracy,
    )


def _save_checkpoint(run: _Run, state: _RunState, improved: bool) -> None:
    weights = artifacts.trainable_state(run.model, run.config.method == "full")
    scaler = run.precision.scaler
    artifacts.save_checkpoint(
        run.output,
        weights=weights,
        optimizer=run.optimizer.state_dict(),
        scheduler=run.scheduler.state_dict(),
        scaler=scaler.state_dict() if scaler is not None else None,
        state=asdict(state),
        best_weights=weights if improved else None,
    )


def _finish(run: _Run, state: _RunState, counters: _Counters, *, base_name: str, base_path: Path) -> TrainResult:
    """Evaluate the best epoch's weights and write the artifact."""
    examples, config = run.examples, run.config
    run.report(
        "saving", epoch=state.epoch, step=counters.step, total_steps=run.total_steps, history=state.history, force=True
    )
    best = artifacts.best_weights(run.output)
    if best is not None:
        artifacts.load_trainable_state(run.model, best)
    logits = modeling.predict_logits(
        run.model, examples.val, run.precision, config.eval_batch_size, examples.pad_id, _raise_if(run.stop)
    )
    thresholds_list, metrics = _final_report(
        logits, examples.val, examples.val_texts, examples.label_names, config.multi_label
    )
    metrics.update(_run_summary(run, state, counters))
    thresholds = dict(zip(examples.label_names, thresholds_list, strict=True))
    artifact_dir = _save_artifact(
        run.output,
        model=run.model,
        tokenizer=examples.tokenizer,
        base_name=base_name,
        base_path=base_path,
        config=config,
        label_names=examples.label_names,
        thresholds=thresholds,
        metrics=metrics,
        parity_texts=examples.val_texts,
    )
    return TrainResult(
        artifact_dir=artifact_dir,
        metrics=metrics,
        label_names=examples.label_names,
        thresholds=thresholds,
        best_epoch=state.best_epoch,
        epochs_run=state.epoch,
        history=state.history,
        samples_per_s=counters.samples_per_s() or 0.0,
    )


def _run_summary(run: _Run, state: _RunState, counters: _Counters) -> dict[str, Any]:
    """What the report adds to the evaluation: where it was measured, how the run went (key order is report.json's)."""
    examples = run.examples
    return {
        "evaluated_on": "validation" if examples.held_out else "training",
        "validation_source": "given" if examples.validation_given else "stratified_split",
        "n_train": len(examples.train),
        "n_validation": len(examples.val) if examples.held_out else 0,
        "best_epoch": state.best_epoch,
        "epochs_run": state.epoch,
        "precision": run.precision.name,
        "device": run.precision.device.type,
        "samples_per_s": counters.samples_per_s(),
        "wall_seconds": time.monotonic() - counters.started,
        "history": state.history,
    }


def _raise_if(stop: Callable[[], bool]) -> Callable[[], None]:
    def check() -> None:
        if stop():
            raise TrainingCancelled("cancelled during evaluation")

    return check


def _check_data(texts: Sequence[str], labels: Sequence[Sequence[str]], multi_label: bool, minimum: int = 2) -> None:
    if len(texts) != len(labels):
        raise TrainingDataError(f"{len(texts)} texts but {len(labels)} label rows.")
    if len(texts) < minimum:
        raise TrainingDataError(f"At least {minimum} examples are needed to train, not {len(texts)}.")
    for i, row in enumerate(labels):
        if not row and not multi_label:
            raise TrainingDataError(f"Example {i} has no label.")


def train_step(
    model: torch.nn.Module,
    optimizer: torch.optim.Optimizer,
    precision: modeling.Precision,
    config: TrainConfig,
    weight: torch.Tensor,
    input_ids: torch.Tensor,
    mask: torch.Tensor,
    targets: torch.Tensor,
    step: int,
) -> float:
    device = precision.device
    with precision.autocast():
        logits = model(input_ids=input_ids.to(device), attention_mask=mask.to(device)).logits
    # The loss in fp32: bf16's 8-bit mantissa is too coarse for log-probabilities.
    targets = targets.to(device)
    weighted = config.class_weighting
    if config.multi_label:
        loss = F.binary_cross_entropy_with_logits(logits.float(), targets, pos_weight=weight if weighted else None)
    else:
        loss = F.cross_entropy(logits.float(), targets, weight=weight if weighted else None)
    if config.method == "adalora":
        penalty = modeling.adalora_orthogonal_penalty(model)
        if penalty is not None:
            loss = loss + penalty
    scaler = precision.scaler
    if scaler is not None:
        scaler.scale(loss).backward()
        scaler.unscale_(optimizer)
    else:
        loss.backward()
    torch.nn.utils.clip_grad_norm_([p for p in model.parameters() if p.requires_grad], config.max_grad_norm)
    if scaler is not None:
        scaler.step(optimizer)
        scaler.update()
    else:
        optimizer.step()
    if config.method == "adalora":
        model.base_model.update_and_allocate(step)  # type: ignore[union-attr, operator]
    optimizer.zero_grad(set_to_none=True)
    return float(loss.detach())


def _final_report(
    logits: np.ndarray, val: data.Encoded, texts: Sequence[str], label_names: list[str], multi_label: bool
) -> tuple[list[float], dict[str, Any]]:
    if multi_label:
        probs = _sigmoid(logits)
        thresholds = evaluation.tune_thresholds(val.targets, probs)
        return thresholds, evaluation.multi_label_report(val.targets, probs, thresholds, label_names)
    predicted = logits.argmax(axis=1)
    report = evaluation.single_label_report(val.targets.tolist(), predicted.tolist(), label_names, texts)
    # Single-label prediction is an argmax; a threshold would only hide answers. 0 means "always shown".
    return [0.0] * len(label_names), report


# Validation texts kept in the artifact, for the serving side's check of its optimized path against fp32.
PARITY_SAMPLE = 512


def low_rank_factors(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    """Each adapted weight's update as two factors, ``<weight>.up @ <weight>.down`` (scaling included).

    LoRA: ``B * scaling`` and ``A``. AdaLoRA: ``B * scaling / ranknum`` and ``A * E`` (its singular
    values; pruned ranks are zeros). Read off the live peft layers, so a server can apply any adapter
    to one shared encoder without peft, whatever peft's own file layout is.
    """
    factors: dict[str, torch.Tensor] = {}
    for name, module in model.named_modules():
        scaling = getattr(module, "scaling", None)
        if not isinstance(scaling, dict) or "default" not in scaling or not hasattr(module, "lora_A"):
            continue
        weight = _plain_name(name) + ".weight"
        a, b = module.lora_A["default"], module.lora_B["default"]
        if hasattr(module, "lora_E"):
            rank = float(module.ranknum["default"]) + 1e-5
            down = a * module.lora_E["default"]
            up = b * (float(scaling["default"]) / rank)
        else:
            down, up = a.weight, b.weight * float(scaling["default"])
        factors[weight + ".down"] = down.detach().float().contiguous().cpu()
        factors[weight + ".up"] = up.detach().float().contiguous().cpu()
    return factors


def _plain_name(peft_name: str) -> str:
    """``base_model.model.classifier.modules_to_save.default.weight`` -> ``classifier.weight``."""
    return peft_name.replace(".modules_to_save.default", "").removeprefix("base_model.model.")


def _save_artifact(
    output: Path,
    *,
    model: torch.nn.Module,
    tokenizer: Any,
    base_name: str,
    base_path: Path,
    config: TrainConfig,
    label_names: list[str],
    thresholds: dict[str, float],
    metrics: dict[str, Any],
    parity_texts: Sequence[str],
) -> Path:
    """Write ``output/model`` atomically: weights, tokenizer, manifest, report and the parity sample."""
    manifest = {
        "format_version": artifacts.FORMAT_VERSION,
        "base_model": base_name,
        "base_model_path": str(base_path),
        "method": config.method,
        "label_names": label_names,
        "multi_label": config.multi_label,
        "thresholds": thresholds,
        "max_length": config.max_length,
        "config": asdict(config),
    }

    def write(directory: Path) -> None:
        _write_weights(directory, model, config.method)
        tokenizer.save_pretrained(str(directory))
        (directory / "tunebase.json").write_text(json.dumps(manifest, indent=1))
        (directory / "report.json").write_text(json.dumps(metrics, indent=1))
        (directory / "parity_texts.json").write_text(json.dumps(list(parity_texts)[:PARITY_SAMPLE]))

    return artifacts.write_dir_atomically(output / ARTIFACT_DIR, write)


def _write_weights(directory: Path, model: torch.nn.Module, method: str) -> None:
    model.save_pretrained(str(directory))  # type: ignore[operator]
    if method == "full":
        return
    from safetensors.torch import save_file

    # LoRA/AdaLoRA: save_pretrained wrote adapter_model.safetensors (LoRA + head) and adapter_config.json;
    # the classification config (label map, head size) goes beside them, and the head alone so servers
    # can share one encoder.
    model.base_model.model.config.save_pretrained(str(directory))  # type: ignore[union-attr, operator]
    head = {
        _plain_name(name): p.detach().contiguous().cpu()
        for name, p in model.named_parameters()
        if p.requires_grad and "modules_to_save" in name
    }
    save_file(head, str(directory / "head.safetensors"))
    save_file(low_rank_factors(model), str(directory / "lora_factors.safetensors"))


__all__ = [
    "Precision",
    "Progress",
    "TrainConfig",
    "TrainResult",
    "TrainingCancelled",
    "TrainingDataError",
    "build_model",
    "choose_precision",
    "defaults_for",
    "fine_tune",
    "linear_schedule",
    "load_artifact_model",
    "low_rank_factors",
    "predict_logits",
    "seed_everything",
    "train_step",
]
