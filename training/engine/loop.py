"""The training engine: texts and labels in, a fine-tuned classifier artifact and its evaluation out.

No Django here: the Celery side (``training.runner``) passes plain data, a progress callback and a stop
check. What makes it fast on a CPU without a GPU: bf16 autocast where the CPU has bf16 kernels (AMX /
AVX-512-BF16), padding each batch only to its longest text, and batching texts of similar length.
On CUDA it trains under autocast (bf16 where supported, else fp16 with a gradient scaler).

A run is resumable: each epoch ends with a checkpoint under ``output_dir/checkpoints/`` and a new
call with ``resume=True`` continues after the last finished epoch, with the same data order and RNG
state, so a run whose worker was killed ends where an uninterrupted one would.

Here are ``fine_tune`` and its steps (prepare, build, start or resume, epoch after epoch, finish) and the
training step; the parts they use live beside it: ``train_config``, ``examples`` (the data check, split,
tokenizing and class weights), ``state`` (the run and its checkpointed state), ``progress`` (events,
throttling, ETA), ``checkpoints``, ``artifacts`` (the saved model) and ``evaluation``.
"""

from __future__ import annotations

import logging
import math
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# Models load only from local directories; never let transformers or peft try the hub.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

import numpy as np
import torch
import torch.nn.functional as F

from training.engine import artifacts, checkpoints, data, evaluation, modeling
from training.engine.examples import Examples, check_data, class_weights, prepare_examples
from training.engine.modeling import (
    Precision,
)
from training.engine.progress import Counters, Progress, Reporter
from training.engine.state import Run, RunState
from training.engine.train_config import TrainConfig

logger = logging.getLogger(__name__)


class TrainingCancelled(Exception):
    """``should_stop()`` said stop; raised within one training step of it."""


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


# --- the run ---------------------------------------------------------------------------------------


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
    report = Reporter(progress, config.progress_interval_s, config.epochs)
    report.phase("preparing", epoch=0, step=0, total_steps=0)
    check_data(texts, labels, config.multi_label)

    # The order from here on is the RNG's order (the new head's initialisation): keep it.
    modeling.seed_everything(config.seed)
    precision = modeling.choose_precision(config.device)
    examples = prepare_examples(texts, labels, validation, config, base)
    run = _build_run(
        examples, config, precision, base=base, output=output, report=report, stop=should_stop or (lambda: False)
    )
    validation_rows = len(examples.val_texts) if examples.held_out else 0
    state = _start_or_resume(run, checkpoints.fingerprint(texts, labels, validation_rows, config, base), resume)

    run.model.train()
    counters = Counters(step=state.epoch * run.steps_per_epoch)
    while not state.finished and state.epoch < config.epochs:
        _run_epoch(run, state, counters)
    return _finish(run, state, counters, base_name=base_model_name or base.name, base_path=base)


def _build_run(
    examples: Examples,
    config: TrainConfig,
    precision: Precision,
    *,
    base: Path,
    output: Path,
    report: Reporter,
    stop: Callable[[], bool],
) -> Run:
    steps_per_epoch = math.ceil(len(examples.train) / config.batch_size)
    total_steps = steps_per_epoch * config.epochs
    model = modeling.build_model(base, examples.label_names, config, total_steps).to(precision.device)
    optimizer = modeling.make_optimizer(model, config)
    scheduler = modeling.linear_schedule(optimizer, int(config.warmup_ratio * total_steps), total_steps)
    weight = class_weights(examples.train, len(examples.label_names), config.multi_label).to(precision.device)
    return Run(
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


def _start_or_resume(run: Run, fingerprint: str, resume: bool) -> RunState:
    """The state after the last checkpointed epoch (model, optimizer, schedule and RNG restored), or a fresh one."""
    saved = artifacts.load_checkpoint(run.output) if resume else None
    if saved is not None and saved[0].get("fingerprint") == fingerprint:
        state = RunState(**saved[0])
        checkpoints.restore_checkpoint(run, saved[1])
        logger.info("resuming training after epoch %d", state.epoch)
        return state
    artifacts.clear_checkpoints(run.output)
    if saved is not None:
        logger.info("ignoring a checkpoint of different data or settings")
    return RunState(fingerprint=fingerprint)


def _run_epoch(run: Run, state: RunState, counters: Counters) -> None:
    """Train one epoch, evaluate it, checkpoint it and report it."""
    epoch = state.epoch + 1
    epoch_started = time.monotonic()
    train_loss = _train_epoch(run, counters, epoch, state.history)
    run.report.phase("evaluating", epoch=epoch, step=counters.step, total_steps=run.total_steps, history=state.history)
    examples, config = run.examples, run.config
    eval_started = time.monotonic()
    logits = _predict_validation(run)
    score, accuracy, thresholds = evaluation.epoch_score(logits, examples.val.targets, config.multi_label)
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
    checkpoints.save_checkpoint(run, state, improved)
    _report_training(run, counters, epoch, train_loss, state.history, force=True, macro_f1=score, accuracy=accuracy)
    if stopping_early:
        logger.info(
            "early stop after epoch %d: best macro-F1 %.4f at epoch %d", epoch, state.best_score, state.best_epoch
        )


def _train_epoch(run: Run, counters: Counters, epoch: int, history: list[dict[str, Any]]) -> float:
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
        run.report.curve.add(counters.step, loss)
        loss_sum += loss
        loss_count += 1
        counters.train_seconds += time.monotonic() - step_started
        counters.samples_seen += len(input_ids)
        _report_training(run, counters, epoch, loss_sum / loss_count, history)
    return loss_sum / max(loss_count, 1)


def _report_training(
    run: Run,
    counters: Counters,
    epoch: int,
    loss: float,
    history: list[dict[str, Any]],
    *,
    force: bool = False,
    macro_f1: float | None = None,
    accuracy: float | None = None,
) -> None:
    """A "training" event: after each step (throttled), and at each epoch's end with its validation scores."""
    if not run.report.due(force=force):
        return
    run.report.send(
        Progress(
            phase="training",
            epoch=epoch,
            epochs=run.report.epochs,
            step=counters.step,
            total_steps=run.total_steps,
            loss=loss,
            learning_rate=float(run.scheduler.get_last_lr()[0]),
            samples_per_s=counters.samples_per_s(),
            eta_s=counters.eta(run.config, run.total_steps, epoch),
            macro_f1=macro_f1,
            accuracy=accuracy,
            history=list(history),
        )
    )


def _finish(run: Run, state: RunState, counters: Counters, *, base_name: str, base_path: Path) -> TrainResult:
    """Evaluate the best epoch's weights, calibrate their scores and write the artifact."""
    examples, config = run.examples, run.config
    run.report.phase(
        "saving", epoch=state.epoch, step=counters.step, total_steps=run.total_steps, history=state.history
    )
    best = artifacts.best_weights(run.output)
    if best is not None:
        artifacts.load_trainable_state(run.model, best)
    logits = _predict_validation(run)
    thresholds_list, metrics = evaluation.final_report(
        logits,
        examples.val.targets,
        examples.val_texts,
        examples.label_names,
        config.multi_label,
        held_out=examples.held_out,
    )
    metrics.update(_run_summary(run, state, counters))
    thresholds = dict(zip(examples.label_names, thresholds_list, strict=True))
    artifact_dir = artifacts.save_artifact(
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


def _run_summary(run: Run, state: RunState, counters: Counters) -> dict[str, Any]:
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


def _predict_validation(run: Run) -> np.ndarray:
    """The model's logits on the validation rows; a stop request is honoured between batches."""
    examples = run.examples
    return modeling.predict_logits(
        run.model,
        examples.val,
        run.precision,
        run.config.eval_batch_size,
        examples.pad_id,
        before_batch=_raise_if(run.stop),
    )


def _raise_if(stop: Callable[[], bool]) -> Callable[[], None]:
    def check() -> None:
        if stop():
            raise TrainingCancelled("cancelled during evaluation")

    return check


def train_step(  # noqa: PLR0917 - public, and called positionally (bench/train_speed.py times this very step)
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
