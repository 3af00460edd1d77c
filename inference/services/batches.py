"""Batch predictions: a file (or a checked dataset) in, a worker predicts every row, a results CSV out.

The upload is sniffed and its text column resolved before anything is stored, so a file we cannot
read is refused at once and leaves nothing behind. The job predicts with the version deployed when
it was created, streams rows through in chunks (a 1M-row file is never held in memory), saves its
progress every few seconds, and bills the texts it predicted once, in the transaction that marks it
done: a job that dies and runs again is neither lost nor billed twice.
"""

from __future__ import annotations

import io
import logging
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import islice
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, BinaryIO, cast

import numpy as np
from django.conf import settings
from django.core.files import File
from django.core.files.storage import default_storage
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from billing.models import UsageKind, UsageSource
from billing.selectors import quota_check, quota_remaining
from billing.services import usage_record
from inference import loading
from inference.models import BatchPrediction, BatchStatus
from inference.runtime import batch_io
from inference.selectors import deployed_version
from projects import ingest
from projects.models import Dataset, DatasetStatus, Project
from projects.services.dataset_checks import TooLarge, ingest_error
from projects.services.datasets import EXTENSIONS
from tenants.errors import Conflict, InvalidInput, NotFound, ServiceError
from tenants.models import ApiKey, Tenant
from tenants.storage import tenant_file_path
from webhooks.models import EventType
from webhooks.services import emit_event

if TYPE_CHECKING:
    from django.contrib.auth.models import User

logger = logging.getLogger(__name__)
CHUNK_ROWS = 256
PROGRESS_EVERY_S = 2.0
MAX_ATTEMPTS = 3


def _layout(stream: IO[bytes], format_hint: ingest.Format | None, text_column: str | None) -> tuple[Any, str]:
    try:
        layout = batch_io.sniff_batch(cast(BinaryIO, stream), format_hint)
        return layout, batch_io.resolve_text_column(layout, text_column)
    except ingest.IngestError as error:
        raise ingest_error(error) from None
    except batch_io.BatchInputError as error:
        raise InvalidInput(error.message, code=error.code, field="text_column") from None


def _rows_allowed(tenant: Tenant, stream: IO[bytes], layout: Any, column: str) -> None:
    """Refuse (402) a file with more texts than the tenant's quota has left. Counted only under a limit,
    and only as far as one past what is left."""
    remaining = quota_remaining(tenant_id=tenant.pk, kind=UsageKind.PREDICTION)
    if remaining is None:
        return
    stream.seek(0)
    rows = batch_io.read_rows(cast(BinaryIO, stream), layout, column)
    texts = sum(1 for row in islice(rows, remaining + 1) if row.text is not None)
    stream.seek(0)
    if texts > remaining:
        quota_check(tenant_id=tenant.pk, kind=UsageKind.PREDICTION, quantity=texts)


def _enqueue(job: BatchPrediction) -> None:
    from inference.tasks import run_batch_prediction

    transaction.on_commit(
        lambda: run_batch_prediction.delay(tenant_id=str(job.tenant_id), batch_id=str(job.pk)), robust=True
    )


def batch_create(
    *,
    tenant: Tenant,
    project: Project,
    stream: IO[bytes],
    name: str,
    size: int,
    text_column: str | None = None,
    format_hint: ingest.Format | None = None,
    api_key: ApiKey | None = None,
    created_by: User | None = None,
) -> BatchPrediction:
    """Store an uploaded file of texts and queue its prediction."""
    if project.tenant_id != tenant.pk:
        raise NotFound("No such project.")
    limit_mb = settings.BATCH_MAX_UPLOAD_MB
    if size > limit_mb * 1024 * 1024:
        raise TooLarge(f"The file is {size / 1e6:,.1f} MB; a batch file may be at most {limit_mb} MB. Split it.")
    version = deployed_version(project)
    layout, column = _layout(stream, format_hint, text_column)
    try:
        _rows_allowed(tenant, stream, layout, column)
    except ingest.IngestError as error:
        raise ingest_error(error) from None
    job = BatchPrediction(
        tenant=tenant,
        project=project,
        model_version=version,
        name=name[:255],
        size_bytes=size,
        format=str(layout.format),
        text_column=column,
        api_key=api_key,
        created_by=created_by,
    )
    path = tenant_file_path(
        tenant.pk, "projects", str(project.pk), "batches", str(job.pk), "input" + EXTENSIONS[str(layout.format)]
    )
    stream.seek(0)
    stored = default_storage.save(path, File(stream))
    try:
        with transaction.atomic():
            job.input_file = stored
            job.save(force_insert=True)
            _enqueue(job)
    except BaseException:
        default_storage.delete(stored)  # nothing half-written: no file without its job
        raise
    return job


def batch_from_dataset(
    *,
    tenant: Tenant,
    project: Project,
    dataset_id: uuid.UUID,
    api_key: ApiKey | None = None,
    created_by: User | None = None,
) -> BatchPrediction:
    """Predict every row of one of the project's datasets (its stored file is read, not copied)."""
    dataset = Dataset.objects.for_tenant(tenant).filter(project=project, pk=dataset_id).first()
    if dataset is None:
        raise NotFound("No such dataset in this project.", field="dataset_id")
    if dataset.status == DatasetStatus.CHECKING:
        raise Conflict("The dataset is still being checked; try again when it is ready.", field="dataset_id")
    version = deployed_version(project)
    quota_check(tenant_id=tenant.pk, kind=UsageKind.PREDICTION, quantity=dataset.rows_read)
    with transaction.atomic():
        job = BatchPrediction.objects.for_tenant(tenant).create(
            tenant=tenant,
            project=project,
            model_version=version,
            dataset=dataset,
            name=dataset.name,
            input_file=dataset.file,
            size_bytes=dataset.size_bytes,
            format=dataset.format,
            text_column=dataset.text_column,
            api_key=api_key,
            created_by=created_by,
        )
        _enqueue(job)
    return job


# --- the worker's side ------------------------------------------------------------------------------


def _claim(tenant_id: str, batch_id: str) -> BatchPrediction | None:
    """Take the job: queued, or running on a worker that died (a redelivery); at most MAX_ATTEMPTS times."""
    claimed = (
        BatchPrediction.objects.for_tenant(tenant_id)
        .filter(pk=batch_id, attempts__lt=MAX_ATTEMPTS)
        .filter(Q(status=BatchStatus.QUEUED) | Q(status=BatchStatus.RUNNING))
        .update(status=BatchStatus.RUNNING, attempts=F("attempts") + 1, started_at=timezone.now(), rows_done=0)
    )
    if not claimed:
        return None
    return (
        BatchPrediction.objects.for_tenant(tenant_id)
        .select_related("project", "model_version")
        .filter(pk=batch_id)
        .first()
    )


def _chunks(rows: Iterator[batch_io.InputRow], size: int) -> Iterator[list[batch_io.InputRow]]:
    while chunk := list(islice(rows, size)):
        yield chunk


def _save_progress(job: BatchPrediction, **fields: Any) -> None:
    BatchPrediction.objects.for_tenant(job.tenant_id).filter(pk=job.pk).update(**fields)


def _predict_file(job: BatchPrediction, out: IO[str]) -> tuple[int, int, int]:
    """Write the results CSV for the job's input; returns rows done, predicted, without a text."""
    version = job.model_version
    assert version is not None
    classifier = loading.classifier_for(version)
    done = predicted = failed = 0
    last = time.monotonic()
    with default_storage.open(job.input_file, "rb") as stored:
        hint = ingest.Format(job.format) if job.format else None
        layout = batch_io.sniff_batch(cast(BinaryIO, stored), hint)
        counter = ingest.counting(cast(BinaryIO, stored))
        rows = batch_io.read_rows(cast(BinaryIO, io.BufferedReader(counter, 1 << 20)), layout, job.text_column)
        writer = batch_io.ResultsWriter(out, list(layout.columns), multi_label=classifier.multi_label)
        for chunk in _chunks(rows, CHUNK_ROWS):
            texts = [row.text for row in chunk if row.text is not None]
            scores = classifier.predict_proba(texts) if texts else np.zeros((0, len(classifier.label_names)))
            writer.write(chunk, scores, classifier.label_names, classifier.thresholds, job.project.confidence_threshold)
            done += len(chunk)
            predicted += len(texts)
            failed += len(chunk) - len(texts)
            if time.monotonic() - last >= PROGRESS_EVERY_S:
                last = time.monotonic()
                share = min(0.99, counter.bytes_read / max(job.size_bytes, 1))
                _save_progress(job, rows_done=done, rows_predicted=predicted, rows_failed=failed, progress=share)
    return done, predicted, failed


def batch_run(*, tenant_id: str, batch_id: str) -> BatchPrediction | None:
    """Run a queued job to the end, recording the outcome. Running it twice predicts and bills once."""
    job = _claim(tenant_id, batch_id)
    if job is None:
        return None
    result_name = tenant_file_path(tenant_id, "projects", str(job.project_id), "batches", str(job.pk), "results.csv")
    try:
        if job.model_version is None:
            raise ServiceError("The model version this job was made for no longer exists.", code="model_missing")
        with tempfile.TemporaryDirectory(prefix="tunebase-batch-") as work:
            local = Path(work) / "results.csv"
            with local.open("w", newline="", encoding="utf-8") as out:
                done, predicted, failed = _predict_file(job, out)
            if default_storage.exists(result_name):  # left by an attempt that died while saving
                default_storage.delete(result_name)
            with local.open("rb") as source:
                stored = default_storage.save(result_name, File(source))
    except (FileNotFoundError, ingest.IngestError, ServiceError) as error:
        code = getattr(error, "code", "input_missing")
        message = getattr(error, "message", "The input file is no longer stored (was its dataset deleted?).")
        return _finish_failed(job, code, message)
    except Exception:
        error_id = uuid.uuid4().hex[:12]
        logger.exception("batch prediction failed with an internal error id=%s", error_id)
        return _finish_failed(job, "internal_error", f"Something went wrong on our side (error id {error_id}).")
    return _finish_succeeded(job, (done, predicted, failed), stored)


def _finish_succeeded(job: BatchPrediction, counts: tuple[int, int, int], result_file: str) -> BatchPrediction:
    """Mark the job done and bill the texts it predicted, in one transaction: billed once, or not done."""
    done, predicted, failed = counts
    with transaction.atomic():
        _save_progress(
            job,
            status=BatchStatus.SUCCEEDED,
            rows_done=done,
            rows_predicted=predicted,
            rows_failed=failed,
            progress=1.0,
            result_file=result_file,
            finished_at=timezone.now(),
        )
        if predicted:
            usage_record(
                tenant_id=job.tenant_id,
                kind=UsageKind.PREDICTION,
                quantity=predicted,
                source=UsageSource.BATCH,
                project_id=job.project_id,
                model_version_id=job.model_version_id,
                api_key_id=job.api_key_id,
            )
        emit_event(
            tenant=job.tenant_id,
            event_type=EventType.BATCH_PREDICTION_SUCCEEDED,
            data={"batch_prediction_id": str(job.pk), "project_id": str(job.project_id), "rows": done},
        )
    job.refresh_from_db()
    return job


def _finish_failed(job: BatchPrediction, code: str, message: str) -> BatchPrediction:
    with transaction.atomic():
        _save_progress(
            job, status=BatchStatus.FAILED, error_code=code, error_message=message, finished_at=timezone.now()
        )
        emit_event(
            tenant=job.tenant_id,
            event_type=EventType.BATCH_PREDICTION_FAILED,
            data={"batch_prediction_id": str(job.pk), "project_id": str(job.project_id), "error_code": code},
        )
    job.refresh_from_db()
    return job


def batch_fail_lost(*, tenant_id: str, batch_id: str) -> None:
    """The task failed outside ``batch_run`` (time limit, worker lost for good): say so on the job."""
    job = BatchPrediction.objects.for_tenant(tenant_id).filter(pk=batch_id).first()
    if job is not None and not job.is_finished:
        _finish_failed(job, "internal_error", "The job could not finish; start it again.")


@dataclass(frozen=True)
class Download:
    """A stored file to send as an attachment: the view that answers owns (and closes, by sending) ``file``."""

    file: IO[bytes]
    filename: str
    content_type: str


def results_download(job: BatchPrediction) -> Download:
    """The job's results CSV, opened, with a download name after its input file."""
    stem = job.name.rsplit(".", 1)[0] or "batch"
    return Download(
        file=cast(IO[bytes], default_storage.open(job.result_file, "rb")),
        filename=f"{stem}-predictions.csv",
        content_type="text/csv; charset=utf-8",
    )
