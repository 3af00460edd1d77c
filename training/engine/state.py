"""A run in memory: what it trains with, and where it is.

``Run`` is built once per call and never saved; ``RunState`` is what a checkpoint saves and what a resumed
call starts from.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from training.engine.examples import Examples
from training.engine.modeling import Precision
from training.engine.progress import Reporter
from training.engine.train_config import TrainConfig


@dataclass
class Run:
    """What the loop trains with: built once per call, never checkpointed."""

    config: TrainConfig
    output: Path
    examples: Examples
    precision: Precision
    model: torch.nn.Module
    optimizer: torch.optim.Optimizer
    scheduler: torch.optim.lr_scheduler.LambdaLR
    weight: torch.Tensor
    steps_per_epoch: int
    total_steps: int
    report: Reporter
    stop: Callable[[], bool]


@dataclass
class RunState:
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
