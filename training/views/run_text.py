"""How a run's state reads on its page: the status line, the time left, how it ended, the chart's points.

Plain functions of the run's stored progress, history and metrics (what the worker and the engine wrote),
so the page and its live part say the same thing, and tests can read them without a browser.
"""

from __future__ import annotations

from typing import Any

from training.models import RunStatus, TrainingRun


def duration_text(seconds: float) -> str:
    """``40 s``, ``3 min``, ``1 h 15 min``: a time left as people say it (rounded, never ``0 s``)."""
    seconds = max(0.0, float(seconds))
    if seconds < 55:
        return f"{max(5, round(seconds / 5) * 5)} s"
    minutes = round(seconds / 60)
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min" if minutes else f"{hours} h"


def status_detail(run: TrainingRun, progress: dict[str, Any], queue_position: int | None) -> str:
    """What follows the status badge: where a queued run stands, what a running one is doing."""
    if run.status == RunStatus.QUEUED:
        place = "" if queue_position is None else f" (position {queue_position + 1})"
        return f"waiting for a worker{place}"
    if run.status != RunStatus.RUNNING:
        return ""
    if run.cancel_requested:
        return "stopping…"
    phase, epoch, epochs = progress.get("phase"), progress.get("epoch"), progress.get("epochs")
    doing = {
        "training": f"epoch {epoch} of {epochs}",
        "evaluating": f"evaluating epoch {epoch} of {epochs}",
        "saving": "saving the model",
    }
    if phase in doing and (phase == "saving" or (epoch and epochs)):
        return doing[phase]
    return "preparing the data and the model"


def progress_detail(run: TrainingRun, progress: dict[str, Any]) -> str:
    """The running run's step, loss and time left (``step 30 of 100 · loss 0.5000 · about 40 s left``)."""
    if run.status != RunStatus.RUNNING or progress.get("phase") not in ("training", "evaluating"):
        return ""
    parts = []
    if progress.get("total_steps"):
        parts.append(f"step {progress.get('step', 0):,} of {progress['total_steps']:,}")
    if progress.get("loss") is not None:
        parts.append(f"loss {progress['loss']:.4f}")
    if progress.get("eta_s") is not None:
        parts.append(f"about {duration_text(progress['eta_s'])} left")
    return " · ".join(parts)


def _f1_of(history: list[dict[str, Any]], epoch: int) -> float | None:
    entry = next((e for e in history if e.get("epoch") == epoch), None)
    value = entry.get("val_macro_f1") if entry else None
    return float(value) if value is not None else None


def outcome_text(run: TrainingRun, progress: dict[str, Any]) -> str:
    """Which epoch a succeeded run kept and why; whether it stopped early, and on what.

    From the engine's record of the run (``metrics``: ``best_epoch``, ``epochs_run``, ``evaluated_on``;
    ``history``) and the epochs it was set to run (``progress["epochs"]``, written by the worker).
    """
    if run.status != RunStatus.SUCCEEDED or run.metrics.get("evaluated_on") == "training":
        return ""
    best, ran = run.metrics.get("best_epoch"), run.metrics.get("epochs_run") or len(run.history)
    if not best or not ran:
        return ""
    planned = progress.get("epochs") or run.hyperparameters.get("epochs")
    f1 = _f1_of(run.history, best)
    kept = f"kept epoch {best}" + (f" (validation macro-F1 {f1:.3f})" if f1 is not None else "")
    if planned and ran < planned:
        flat = ran - best
        return (
            f"Stopped early after epoch {ran} of {planned}: validation macro-F1 did not improve for "
            f"{flat} epoch{'' if flat == 1 else 's'}; {kept}."
        )
    if best < ran:
        return f"Ran all {ran} epochs; {kept}, the best of them."
    return ""


def chart_data(run: TrainingRun, progress: dict[str, Any]) -> dict[str, Any]:
    """The chart's points, on an axis of epochs: the training loss along the steps (from the first steps
    on), the validation macro-F1 at each epoch's end. Runs recorded before step losses plot epoch losses."""
    history = run.history or []
    epochs = progress.get("epochs") or len(history) or 1
    total_steps = progress.get("total_steps") or 0
    loss: list[dict[str, float]] = []
    if total_steps and epochs:
        per_epoch = total_steps / epochs
        loss = [{"x": round(step / per_epoch, 4), "y": value} for step, value in progress.get("loss_curve") or []]
    if not loss:
        loss = [{"x": e["epoch"], "y": e["train_loss"]} for e in history if e.get("train_loss") is not None]
    f1 = [{"x": e["epoch"], "y": e["val_macro_f1"]} for e in history if e.get("val_macro_f1") is not None]
    return {"epochs": epochs, "loss": loss, "f1": f1}
