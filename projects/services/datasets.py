"""Writes for datasets: upload (check inline or in a task), the one-click fix, delete.

Nothing half-written survives a failed upload: a file we cannot read is refused before anything is
stored, and a stored file whose database row fails to commit is deleted again. What the data check runs
with and how its outcome lands on a dataset are in ``dataset_checks``.
"""

from __future__ import annotations

import hashlib
import io
import logging
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import IO, TYPE_CHECKING, Any, BinaryIO, cast
from uuid import UUID

from django.conf import settings
from django.core.files import File
from django.core.files.storage import default_storage
from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from projects import ingest
from projects.models import Dataset, DatasetStatus, Project
from projects.services.dataset_checks import (
    TooLarge,
    announce_checked,
    apply_result,
    count_tokens,
    failed_report,
    ingest_error,
    limits,
    split_rule,
)
from tenants.errors import Conflict, InvalidInput, NotFound, ServiceError
from tenants.models import Tenant
from tenants.storage import tenant_file_path

if TYPE_CHECKING:
    from django.contrib.auth.models import User

logger = logging.getLogger(__name__)
# The stored file's extension per format (batch prediction inputs are stored alike).
EXTENSIONS = {"csv": ".csv", "tsv": ".tsv", "jsonl": ".jsonl", "comprehend": ".csv"}
PROGRESS_EVERY_S = 2.0
# How much of a file the upload page's preview reads (its script sends this much), and how much of a
# cell it shows.
PREVIEW_MAX_BYTES = 1024 * 1024
PREVIEW_CELL_CHARS = 200
# What the rows of a part of a file cannot tell: a quote still open at the part's end may close later.
_UNKNOWN_OF_A_PART = frozenset({"unterminated_quote"})


class PreviewIncomplete(InvalidInput):
    """The part of a file the preview has holds no whole row to show (nothing the upload refuses)."""

    code = "preview_incomplete"


@dataclass(frozen=True)
class Mapping:
    text_column: str | None = None
    label_column: str | None = None
    multi_label: bool | None = None
    format: ingest.Format | None = None


def _sha256(stream: IO[bytes]) -> str:
    digest = hashlib.sha256()
    stream.seek(0)
    for block in iter(lambda: stream.read(1 << 20), b""):
        digest.update(block)
    stream.seek(0)
    return digest.hexdigest()


def dataset_preview(*, stream: BinaryIO, mapping: Mapping = Mapping(), size: int | None = None) -> dict[str, Any]:
    """What the file looks like and which columns we would use, for the column-mapping step; and under
    ``refused``, why uploading it with this mapping would be refused (None: it would not).

    ``stream`` is the file, or its first bytes (the page's script sends ``PREVIEW_MAX_BYTES``) with
    ``size`` the whole file's. The refusals are the upload's own checks (the size, the sniff, the columns,
    the rows read strictly) run on what the preview has, so the preview refuses what the upload would;
    of a part, only its whole rows are read, and a quote still open where the part ends is not judged
    (it may close further on). Cells are cut to ``PREVIEW_CELL_CHARS``; ``preview_chars`` has their
    lengths. Nothing is stored.
    """
    head = stream.read(PREVIEW_MAX_BYTES + 1)
    partial = len(head) > PREVIEW_MAX_BYTES or (size is not None and size > len(head))
    head = head[:PREVIEW_MAX_BYTES]
    if size is not None:
        _refuse_too_large(size)
    try:
        layout = ingest.sniff_stream(io.BytesIO(head), format_hint=mapping.format, partial=partial)
    except ingest.SampleTooShort as error:
        raise PreviewIncomplete(
            f"The first row is longer than the {PREVIEW_MAX_BYTES // (1024 * 1024)} MB the preview reads, so "
            "there is nothing to show; the upload reads the whole file and checks it.",
            details=[{"field": "file", **error.as_dict()}],
        ) from None
    except ingest.IngestError as error:
        raise ingest_error(error) from None
    multi_label = layout.multi_label if mapping.multi_label is None else mapping.multi_label
    answer: dict[str, Any] = {
        "format": str(layout.format),
        "encoding": layout.encoding,
        "encoding_label": layout.encoding_label,
        "delimiter": layout.delimiter,
        "has_header": layout.has_header,
        "columns": list(layout.columns),
        "text_column": mapping.text_column or layout.text_column,
        "label_column": mapping.label_column or layout.label_column,
        "multi_label": multi_label,
        "preview": [[_cut(cell) for cell in row] for row in layout.preview],
        "preview_chars": [[len(cell) for cell in row] for row in layout.preview],
        "notes": list(layout.notes),
        "partial": partial,
        "refused": None,
    }
    try:
        text_column, label_column = _columns(layout, mapping)
        sample = ingest.whole_lines(head, layout.encoding) if partial else head
        _check_inline(
            io.BytesIO(sample),
            text_column=text_column,
            label_column=label_column,
            multi_label=multi_label,
            format_hint=mapping.format,
            measure_tokens=False,
        )
    except ServiceError as error:
        if not (partial and error.code in _UNKNOWN_OF_A_PART):
            answer["refused"] = {"code": error.code, "message": error.message, **_where(error)}
    return answer


def _cut(cell: str) -> str:
    return cell if len(cell) <= PREVIEW_CELL_CHARS else cell[: PREVIEW_CELL_CHARS - 1] + "…"


def _where(error: ServiceError) -> dict[str, Any]:
    detail = (error.details or [{}])[0]
    return {"row": detail.get("row"), "column": detail.get("column")}


@contextmanager
def _stored(path: str, stream: IO[bytes]) -> Iterator[str]:
    """Store the file; if what follows fails (the database row), delete it again."""
    stream.seek(0)
    name = default_storage.save(path, File(stream))
    try:
        yield name
    except BaseException:
        default_storage.delete(name)
        raise


def _next_version(*, tenant: Tenant, project: Project, name: str) -> int:
    latest = Dataset.objects.for_tenant(tenant).filter(project=project, name=name).aggregate(v=Max("version"))["v"]
    return (latest or 0) + 1


def dataset_upload(
    *,
    tenant: Tenant,
    project: Project,
    stream: IO[bytes],
    name: str,
    size: int,
    mapping: Mapping = Mapping(),
    uploaded_by: User | None = None,
    parent: Dataset | None = None,
    provenance: str = "",
) -> tuple[Dataset, bool]:
    """Store and check an uploaded file. Returns the dataset and whether it is new (False: the same file
    with the same mapping was uploaded to this project before, and that dataset is returned).
    ``provenance`` says in words how a file not uploaded as it is was made (the page shows it)."""
    if project.tenant_id != tenant.pk:
        raise NotFound("No such project.")
    _refuse_too_large(size)
    layout = _sniff(stream, mapping)
    text_column, label_column = _columns(layout, mapping)
    multi_label = layout.multi_label if mapping.multi_label is None else mapping.multi_label
    sha256 = _sha256(stream)
    same = (
        Dataset.objects.for_tenant(tenant)
        .filter(
            project=project, sha256=sha256, text_column=text_column, label_column=label_column, multi_label=multi_label
        )
        .first()
    )
    if same is not None:
        return same, False

    result = None
    if size <= settings.DATASET_INLINE_CHECK_MB * 1024 * 1024:
        layout, result = _check_inline(
            stream,
            text_column=text_column,
            label_column=label_column,
            multi_label=multi_label,
            format_hint=mapping.format,
        )
    dataset = Dataset(
        tenant=tenant,
        project=project,
        name=name[:255],
        parent=parent,
        provenance=provenance[:300],
        size_bytes=size,
        sha256=sha256,
        format=str(layout.format),
        encoding=layout.encoding,
        text_column=text_column,
        label_column=label_column,
        multi_label=multi_label,
        uploaded_by=uploaded_by,
        status=DatasetStatus.CHECKING,
    )
    if result is not None:
        apply_result(dataset, layout, result)
    _store_new(dataset, stream, layout, tenant=tenant, project=project, checked=result is not None)
    return dataset, True


def _refuse_too_large(size: int) -> None:
    limit = settings.DATASET_MAX_UPLOAD_MB * 1024 * 1024
    if size > limit:
        raise TooLarge(
            f"The file is {size / 1e6:,.1f} MB; the most one dataset may be is "
            f"{settings.DATASET_MAX_UPLOAD_MB} MB. Split it, or remove columns you do not need."
        )


def _sniff(stream: IO[bytes], mapping: Mapping) -> ingest.Layout:
    try:
        return ingest.sniff_stream(cast(BinaryIO, stream), format_hint=mapping.format)
    except ingest.IngestError as error:
        raise ingest_error(error) from None


def _columns(layout: ingest.Layout, mapping: Mapping) -> tuple[str, str]:
    """The text and label columns (those mapped, else those guessed); refused when neither says."""
    try:
        return ingest.resolve_columns(layout, mapping.text_column, mapping.label_column)
    except ingest.IngestError as error:
        raise ingest_error(error) from None


def _check_inline(
    stream: IO[bytes],
    *,
    text_column: str,
    label_column: str,
    multi_label: bool,
    format_hint: ingest.Format | None,
    measure_tokens: bool = True,
) -> tuple[ingest.Layout, ingest.CheckResult]:
    """The data check of a small file, in the request (a large one is checked by a task after commit);
    a file it cannot read through is refused."""
    try:
        return ingest.check_stream(
            cast(BinaryIO, stream),
            text_column=text_column,
            label_column=label_column,
            multi_label=multi_label,
            format_hint=format_hint,
            limits=limits(),
            count_tokens=count_tokens() if measure_tokens else None,
            split_sizes=split_rule(),
        )
    except ingest.IngestError as error:
        raise ingest_error(error) from None


def _store_new(
    dataset: Dataset, stream: IO[bytes], layout: ingest.Layout, *, tenant: Tenant, project: Project, checked: bool
) -> None:
    """Store the file and insert the dataset as the next version of its name; then announce its check, or
    queue it once the row is committed."""
    path = tenant_file_path(
        tenant.pk,
        "projects",
        str(project.pk),
        "datasets",
        str(dataset.pk),
        "original" + EXTENSIONS[str(layout.format)],
    )
    with _stored(path, stream) as stored_name, transaction.atomic():
        dataset.file = stored_name
        dataset.version = _next_version(tenant=tenant, project=project, name=dataset.name)
        dataset.save(force_insert=True)
        if checked:
            announce_checked(dataset)
        else:
            from projects.tasks import check_dataset

            transaction.on_commit(lambda: check_dataset.delay(tenant_id=str(tenant.pk), dataset_id=str(dataset.pk)))


def dataset_check_stored(*, tenant_id: UUID | str, dataset_id: UUID | str) -> Dataset | None:
    """The data check of a stored file, for the task; safe to run twice (it checks only a 'checking' one)."""
    dataset = Dataset.objects.for_tenant(tenant_id).filter(pk=dataset_id, status=DatasetStatus.CHECKING).first()
    if dataset is None:
        return None
    last = 0.0

    def progress(rows: int, bytes_read: int) -> None:
        nonlocal last
        now = time.monotonic()
        if now - last >= PROGRESS_EVERY_S:
            last = now
            share = min(0.99, bytes_read / dataset.size_bytes) if dataset.size_bytes else 0.0
            Dataset.objects.for_tenant(tenant_id).filter(pk=dataset.pk).update(progress=share, rows_read=rows)

    with default_storage.open(dataset.file, "rb") as stored:
        try:
            layout, result = ingest.check_stream(
                cast(BinaryIO, stored),
                text_column=dataset.text_column,
                label_column=dataset.label_column,
                multi_label=dataset.multi_label,
                format_hint=ingest.Format(dataset.format),
                limits=limits(),
                count_tokens=count_tokens(),
                split_sizes=split_rule(),
                progress=progress,
            )
        except ingest.IngestError as error:
            dataset.status = DatasetStatus.INVALID
            dataset.report = failed_report(error)
            dataset.progress = 1.0
            dataset.checked_at = timezone.now()
        else:
            apply_result(dataset, layout, result)
    with transaction.atomic():
        dataset.save()
        announce_checked(dataset)
    return dataset


def dataset_apply_fixes(*, tenant: Tenant, dataset_id: UUID, by: User | None = None) -> tuple[Dataset, bool]:
    """A new version with the suggested fixes applied (duplicates dropped, variants merged, bad rows
    left out); the original stays as it was."""
    dataset = Dataset.objects.for_tenant(tenant).select_related("project").filter(pk=dataset_id).first()
    if dataset is None:
        raise NotFound("No such dataset.")
    if dataset.status == DatasetStatus.CHECKING:
        raise Conflict("The dataset is still being checked.")
    if not dataset.report.get("fixable"):
        raise Conflict("This dataset has nothing the automatic fixes can mend.")
    fmt = ingest.Format(dataset.format)
    with default_storage.open(dataset.file, "rb") as stored, tempfile.TemporaryFile("w+b") as fixed:
        source = cast(BinaryIO, stored)
        try:
            layout, result = ingest.check_stream(
                source,
                text_column=dataset.text_column,
                label_column=dataset.label_column,
                multi_label=dataset.multi_label,
                format_hint=fmt,
                limits=limits(),
            )
            source.seek(0)
            records = ingest.read_records(
                source,
                layout,
                text_column=dataset.text_column,
                label_column=dataset.label_column,
                multi_label=dataset.multi_label,
            )

            # Detached, not closed, when done: that flushes it into ``fixed`` and leaves ``fixed`` open.
            text = io.TextIOWrapper(fixed, encoding="utf-8", newline="")
            try:
                ingest.write_fixed(records, result, text, multi_label=dataset.multi_label)
            finally:
                text.detach()
        except ingest.IngestError as error:
            raise ingest_error(error) from None
        size = fixed.tell()
        fixed.seek(0)
        column = "labels" if dataset.multi_label else "label"
        return dataset_upload(
            tenant=tenant,
            project=dataset.project,
            stream=fixed,
            name=dataset.name,
            size=size,
            mapping=Mapping("text", column, dataset.multi_label, ingest.Format.CSV),
            uploaded_by=by,
            parent=dataset,
        )


@transaction.atomic
def dataset_delete(*, tenant: Tenant, dataset_id: UUID) -> None:
    dataset = Dataset.objects.for_tenant(tenant).filter(pk=dataset_id).first()
    if dataset is None:
        raise NotFound("No such dataset.")
    path = dataset.file
    dataset.delete()
    transaction.on_commit(lambda: default_storage.delete(path))
