"""Runs one claimed training run on this worker: data in, engine, artifacts out, progress throughout.

The glue between Django and ``training.engine`` (which knows nothing of Django). A heartbeat thread
writes the latest progress and the heartbeat every few seconds and reads the cancel flag, so the
engine's callbacks never touch the database themselves.
"""

from __future__ import annotations

import logging
import math
import shutil
import threading
import time
import uuid
from dataclasses import asdict, is_dataclass
from pathlib import Path
from typing import Any, cast

from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.core.files import File
from django.core.files.storage import default_storage
from django.db import connections

from projects import ingest
from tenants import db
from tenants.storage import tenant_file_path
from training import engine, signals
from training.engine.base_models import UnknownBaseModel, resolve
from training.models import ModelVersion, TrainingRun
from training.services import run_fail, run_heartbeat, run_succeed

logger = logging.getLogger(__name__)


class _Heartbeat(threading.Thread):
    """Every ``interval`` seconds: save the latest progress, beat, and learn whether to stop."""

    def __init__(
        self, tenant_id: str, run_id: str, interval: float, earlier_curve: list[list[float]] | None = None
    ) -> None:
        super().__init__(name=f"heartbeat-{run_id}", daemon=True)
        self.tenant_id, self.run_id, self.interval = tenant_id, run_id, interval
        # The loss curve of an earlier attempt: a resumed run's chart keeps the steps before where it resumed.
        self.earlier_curve = earlier_curve or []
        self.latest: dict[str, Any] | None = None
        self.history: list[dict[str, Any]] | None = None
        self.cancel = threading.Event()
        self.done = threading.Event()
        self.lock = threading.Lock()

    def report(self, event: Any) -> None:
        progress = asdict(event) if is_dataclass(event) and not isinstance(event, type) else dict(event)
        curve = progress.get("loss_curve")
        if curve is not None and self.earlier_curve:
            first = curve[0][0] if curve else math.inf
            progress["loss_curve"] = [point for point in self.earlier_curve if point[0] < first] + curve
        with self.lock:
            self.latest = {k: v for k, v in progress.items() if k != "history"}
            if "history" in progress:
                self.history = progress["history"]

    def update(self, **fields: Any) -> dict[str, Any]:
        """Change some fields of the latest progress, keeping the others (the curve, the step counts)."""
        with self.lock:
            self.latest = {**(self.latest or {}), **fields}
            return dict(self.latest)

    def beat(self) -> None:
        with self.lock:
            fields: dict[str, Any] = {}
            if self.latest is not None:
                fields["progress"] = self.latest
            if self.history is not None:
                fields["history"] = self.history
        if run_heartbeat(tenant_id=self.tenant_id, run_id=self.run_id, **fields):
            self.cancel.set()

    def run(self) -> None:
        try:
            with db.tenant_context(self.tenant_id):
                while not self.done.wait(self.interval):
                    try:
                        self.beat()
                    except Exception:  # a failed beat must not kill the training; the next one retries
                        logger.exception("heartbeat of training run %s failed", self.run_id)
                self.beat()
        finally:
            connections.close_all()


def _load(run: TrainingRun) -> tuple[list[str], list[tuple[str, ...]]]:
    dataset = run.dataset
    if dataset is None:
        raise ingest.IngestError("dataset_deleted", "The dataset of this run was deleted before training started.")
    texts: list[str] = []
    labels: list[tuple[str, ...]] = []
    with default_storage.open(dataset.file, "rb") as stored:
        stream = cast(Any, stored)
        layout = ingest.sniff_stream(stream, format_hint=ingest.Format(dataset.format))
        for record in ingest.read_records(
            stream,
            layout,
            text_column=dataset.text_column,
            label_column=dataset.label_column,
            multi_label=dataset.multi_label,
        ):
            if isinstance(record, ingest.Record):
                texts.append(record.text)
                labels.append(record.labels)
    return texts, labels


def _store_artifacts(run: TrainingRun, artifact_dir: Path) -> tuple[str, int]:
    prefix = tenant_file_path(run.tenant_id, "projects", str(run.project_id), "models", str(run.pk))
    size = 0
    for path in sorted(p for p in artifact_dir.rglob("*") if p.is_file()):
        name = tenant_file_path(
            run.tenant_id, "projects", str(run.project_id), "models", str(run.pk), *path.relative_to(artifact_dir).parts
        )
        if default_storage.exists(name):  # left by an attempt that died while saving: replace, do not rename
            default_storage.delete(name)
        with path.open("rb") as source:
            default_storage.save(name, File(source))
        size += path.stat().st_size
    return prefix, size


def failure_of(error: BaseException) -> tuple[str, str]:
    """A reason a customer can understand, and a code, for an exception that ended a run."""
    if isinstance(error, engine.TrainingCancelled):
        return "cancelled", "Cancelled."
    if isinstance(error, MemoryError) or type(error).__name__ == "OutOfMemoryError":
        return "out_of_memory", (
            "The training ran out of memory. Try a smaller batch size or max_length, or the "
            "LoRA method, which needs less."
        )
    if isinstance(error, ingest.IngestError):
        return "bad_data", f"The dataset could not be read for training: {error.message}"
    if isinstance(error, UnknownBaseModel):
        return "base_model_missing", str(error)
    if isinstance(error, SoftTimeLimitExceeded):
        hours = settings.TRAINING_HARD_TIME_LIMIT_S / 3600
        return "time_limit", (
            f"The training took longer than the {hours:g}-hour limit. Try fewer epochs, a shorter "
            "max_length, or a smaller dataset."
        )
    error_id = uuid.uuid4().hex[:12]
    logger.exception("training failed with an internal error id=%s", error_id, exc_info=error)
    return "internal_error", f"Something went wrong on our side (error id {error_id}). Quote the id to support."


def execute(run: TrainingRun) -> ModelVersion | None:
    """Train a claimed run to the end (or its cancel), recording the outcome. Raises nothing."""
    tenant_id, run_id = str(run.tenant_id), str(run.pk)
    work_dir = Path(settings.TRAINING_WORK_DIR) / run_id
    heartbeat = _Heartbeat(
        tenant_id, run_id, settings.TRAINING_PROGRESS_INTERVAL_S, earlier_curve=(run.progress or {}).get("loss_curve")
    )
    heartbeat.report({"phase": "preparing", "attempt": run.attempts})
    heartbeat.start()
    started = time.monotonic()  # the compute this attempt bills (an attempt lost with its worker bills none)
    try:
        base = resolve(run.base_model, settings.TUNEBASE_BASE_MODELS)
        texts, labels = _load(run)
        multi_label = bool(run.dataset and run.dataset.multi_label)
        n_labels = len({label for row in labels for label in row})
        config = engine.defaults_for(len(texts), n_labels, run.method)
        config = engine.TrainConfig(
            **{**asdict(config), **run.hyperparameters, "multi_label": multi_label, "method": run.method}
        )
        result = engine.fine_tune(
            texts,
            labels,
            config,
            base.path,
            work_dir,
            progress=heartbeat.report,
            should_stop=heartbeat.cancel.is_set,
            resume=True,
        )
        # The run's page tells from these (and the engine's metrics) which epoch was kept, and whether and
        # why the run stopped before its last epoch.
        final = heartbeat.update(
            phase="saving",
            epoch=result.epochs_run,
            epochs=config.epochs,
            best_epoch=result.best_epoch,
            early_stopping_patience=config.early_stopping_patience,
        )
        serving = signals.serving_choice(artifact_dir=str(result.artifact_dir), base_model_path=str(base.path))
        artifact_path, size = _store_artifacts(run, Path(result.artifact_dir))
        run.progress = final  # what ``run_succeed`` keeps, with the status added (not the claim's old progress)
        version = run_succeed(
            run=run,
            artifact_path=artifact_path,
            size_bytes=size,
            label_names=result.label_names,
            thresholds=result.thresholds,
            metrics=result.metrics,
            history=result.history,
            serving_precision=serving.precision,
            parity=serving.parity,
            compute_seconds=time.monotonic() - started,
        )
    except BaseException as error:
        code, message = failure_of(error)
        heartbeat.done.set()
        heartbeat.join(timeout=30)
        run_fail(
            tenant_id=tenant_id,
            run_id=run_id,
            code=code,
            message=message,
            cancelled=code == "cancelled",
            compute_seconds=time.monotonic() - started,
        )
        if code in ("cancelled", "bad_data", "base_model_missing"):
            shutil.rmtree(work_dir, ignore_errors=True)
        if isinstance(error, KeyboardInterrupt | SystemExit):
            raise
        return None
    heartbeat.done.set()
    heartbeat.join(timeout=30)
    shutil.rmtree(work_dir, ignore_errors=True)
    return version
