"""A run's end-of-epoch checkpoints: what one must match to be resumed, saving one, and restoring one.

The files themselves (directories swapped in atomically, the RNG state) are ``artifacts``'s; whether to
resume at all is ``loop``'s.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path

from training.engine import artifacts
from training.engine.state import Run, RunState
from training.engine.train_config import TrainConfig


def fingerprint(
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


def restore_checkpoint(run: Run, directory: Path) -> None:
    artifacts.load_trainable_state(run.model, artifacts.load_weights(directory))
    training_state = artifacts.load_training_state(directory)
    run.optimizer.load_state_dict(training_state["optimizer"])
    run.scheduler.load_state_dict(training_state["scheduler"])
    scaler = run.precision.scaler
    if scaler is not None and training_state.get("scaler"):
        scaler.load_state_dict(training_state["scaler"])
    artifacts.set_rng_state(training_state["rng"])


def save_checkpoint(run: Run, state: RunState, improved: bool) -> None:
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
