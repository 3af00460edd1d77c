"""Progress of a run: the events the callback receives, how often they go out, and the speed and ETA in them."""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from training.engine.train_config import TrainConfig


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
    loss_curve: list[list[float]] = field(default_factory=list)  # [step, loss] points of this call, at most 300


MAX_CURVE_POINTS = 300


class LossCurve:
    """The training loss along the steps, in at most ``limit`` points, for a chart from the first steps on.

    Each point is ``[step, mean loss]`` of ``stride`` consecutive steps (``step`` the last of them). When the
    points fill up, neighbours merge in pairs and the stride doubles: a run of any length keeps an evenly
    spaced curve of between ``limit / 2`` and ``limit`` points, at a constant cost per step.
    """

    def __init__(self, limit: int = MAX_CURVE_POINTS) -> None:
        if limit < 2 or limit % 2:
            raise ValueError("limit must be an even number of at least 2")
        self.limit, self.stride = limit, 1
        self.points: list[list[float]] = []
        self._sum, self._count, self._last = 0.0, 0, 0

    def add(self, step: int, loss: float) -> None:
        self._sum += loss
        self._count += 1
        self._last = step
        if self._count < self.stride:
            return
        self.points.append([step, self._sum / self._count])
        self._sum, self._count = 0.0, 0
        if len(self.points) >= self.limit:
            pairs = zip(self.points[::2], self.points[1::2], strict=True)
            self.points = [[later[0], (earlier[1] + later[1]) / 2] for earlier, later in pairs]
            self.stride *= 2

    def snapshot(self) -> list[list[float]]:
        """The points so far, with the steps since the last one as a final point."""
        pending = [[self._last, self._sum / self._count]] if self._count else []
        return [list(point) for point in self.points] + pending


class Reporter:
    """Sends progress events, at most one per interval; forced ones (phase and epoch ends) always go.

    Ask ``due()`` first and build the event only when it is: a throttled step costs one clock read here.
    """

    def __init__(self, callback: Callable[[Progress], None] | None, interval: float, epochs: int) -> None:
        self.callback, self.interval, self.epochs = callback, interval, epochs
        self.last = -math.inf
        self.curve = LossCurve()  # the loop adds each step's loss; every event carries the curve

    def due(self, *, force: bool = False) -> bool:
        """Whether an event goes out now (when it does, the interval starts again)."""
        if self.callback is None:
            return False
        now = time.monotonic()
        if not force and now - self.last < self.interval:
            return False
        self.last = now
        return True

    def send(self, event: Progress) -> None:
        if self.callback is not None:
            event.loss_curve = self.curve.snapshot()
            self.callback(event)

    def phase(
        self, phase: str, *, epoch: int, step: int, total_steps: int, history: Sequence[dict[str, Any]] = ()
    ) -> None:
        """A phase event ("preparing", "evaluating", "saving"): always sent, and without metrics."""
        if self.due(force=True):
            self.send(
                Progress(
                    phase=phase,
                    epoch=epoch,
                    epochs=self.epochs,
                    step=step,
                    total_steps=total_steps,
                    history=list(history),
                )
            )


@dataclass
class Counters:
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
