"""Feedback: corrections sent by integrations, and predictions the model was unsure of, reviewed by people
and added, in one action, to a new training dataset."""

from __future__ import annotations

import csv
import io
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from typing import IO, TYPE_CHECKING, Any, BinaryIO, cast
from uuid import UUID

from django.conf import settings
from django.core.files.storage import default_storage
from django.db import transaction
from django.utils import timezone

from inference import selectors
from inference.models import Feedback, FeedbackSource, FeedbackStatus
from projects import ingest
from projects.models import Dataset, DatasetStatus, Project
from projects.services.dataset_checks import ingest_error, limits
from projects.services.datasets import Mapping, dataset_upload
from tenants.errors import Conflict, InvalidInput, NotFound
from tenants.models import ApiKey, Tenant
from training.models import ModelVersion

if TYPE_CHECKING:
    from django.contrib.auth.models import User


def _clean_labels(project: Project, labels: Sequence[str], field: str = "labels") -> list[str]:
    cleaned = list(dict.fromkeys(label.strip() for label in labels if label.strip()))
    if not cleaned:
        raise InvalidInput("Give the correct label.", field=field)
    if any(len(label) > 200 for label in cleaned):
        raise InvalidInput("A label is at most 200 characters.", field=field)
    if not project.multi_label and len(cleaned) != 1:
        raise InvalidInput("This project gives one label per text: send exactly one.", field=field)
    return cleaned


def feedback_create(
    *,
    tenant: Tenant,
    project: Project,
    text: str,
    labels: Sequence[str],
    source: str = FeedbackSource.API,
    api_key: ApiKey | None = None,
) -> Feedback:
    """A text with the labels it should have had; it waits in the review list until someone accepts it."""
    if not text.strip():
        raise InvalidInput("The text is empty.", field="text")
    if len(text) > settings.PREDICT_MAX_TEXT_CHARS:
        raise InvalidInput(f"The text is over {settings.PREDICT_MAX_TEXT_CHARS:,} characters.", field="text")
    return Feedback.objects.for_tenant(tenant).create(
        tenant=tenant,
        project=project,
        text=text,
        labels=_clean_labels(project, labels),
        source=source,
        api_key=api_key,
    )


def collect_low_confidence(
    *, project: Project, version: ModelVersion, texts: Sequence[str], predictions: Sequence[dict[str, Any]]
) -> int:
    """Keep the predictions that need a human for review, up to FEEDBACK_MAX_PENDING per project."""
    unsure = [(t, p) for t, p in zip(texts, predictions, strict=True) if p.get("needs_human")]
    if not unsure:
        return 0
    pending = Feedback.objects.for_tenant(project.tenant_id).filter(project=project, status=FeedbackStatus.PENDING)
    room = settings.FEEDBACK_MAX_PENDING - pending.count()
    rows = [
        Feedback(
            tenant_id=project.tenant_id,
            project=project,
            text=text,
            predicted_label=prediction["label"],
            score=prediction["score"],
            model_version=version,
            source=FeedbackSource.LOW_CONFIDENCE,
        )
        for text, prediction in unsure[: max(room, 0)]
    ]
    Feedback.objects.for_tenant(project.tenant_id).bulk_create(rows)
    return len(rows)


def feedback_review(
    *, tenant: Tenant, feedback_id: UUID, accept: bool, labels: Sequence[str] | None = None, user: User | None = None
) -> Feedback:
    feedback = Feedback.objects.for_tenant(tenant).select_related("project").filter(pk=feedback_id).first()
    if feedback is None:
        raise NotFound("No such feedback.")
    if feedback.dataset_id is not None:
        raise Conflict("This text is already in a training dataset.")
    if accept:
        feedback.labels = _clean_labels(feedback.project, labels if labels is not None else feedback.labels, "label")
    feedback.status = FeedbackStatus.ACCEPTED if accept else FeedbackStatus.REJECTED
    feedback.reviewed_by = user
    feedback.reviewed_at = timezone.now()
    feedback.save(update_fields=["labels", "status", "reviewed_by", "reviewed_at"])
    return feedback


@dataclass(frozen=True)
class Reviewed:
    """What a bulk review did: how many texts it accepted or rejected, and how many it left as they were."""

    done: int
    skipped: int


BULK_CHUNK = 500


def feedback_review_many(
    *,
    tenant: Tenant,
    project: Project,
    accept: bool,
    ids: Sequence[UUID] | None = None,
    where: selectors.FeedbackFilter | None = None,
    user: User | None = None,
) -> Reviewed:
    """Accept or reject many texts of the project at once: those of ``ids``, or every one matching ``where``.

    As one review each: accepting keeps a text's labels (a correction's) or else the label the model gave;
    a text with neither, or already in a training dataset, is left as it is and counted as skipped.
    """
    if (ids is None) == (where is None):
        raise InvalidInput("Choose the texts: select some, or act on every one the filter shows.")
    if ids is not None:
        if not ids:
            raise InvalidInput("Select the texts to review first.", field="selected")
        chosen = selectors.feedback_of(tenant=tenant, project=project).filter(pk__in=list(ids))
        if chosen.count() != len(set(ids)):
            raise NotFound("No such feedback in this project.", field="selected")
    else:
        assert where is not None
        chosen = selectors.feedback_filtered(tenant=tenant, project=project, where=where)
    now = timezone.now()
    status = FeedbackStatus.ACCEPTED if accept else FeedbackStatus.REJECTED
    done = skipped = 0
    with transaction.atomic():
        in_dataset = chosen.filter(dataset__isnull=False).count()
        open_ = chosen.filter(dataset__isnull=True).order_by("pk")
        if not accept:
            done = open_.update(status=status, reviewed_by=user, reviewed_at=now)
            return Reviewed(done=done, skipped=in_dataset)
        # Accepting sets each text's labels from its own fields: in chunks, so thousands stay flat in memory.
        for pks in _chunks(list(open_.values_list("pk", flat=True)), BULK_CHUNK):
            rows = list(Feedback.objects.for_tenant(tenant).filter(pk__in=pks))
            ready = []
            for row in rows:
                labels = row.labels or ([row.predicted_label] if row.predicted_label else [])
                if not labels:
                    skipped += 1
                    continue
                row.labels, row.status, row.reviewed_by, row.reviewed_at = labels, status, user, now
                ready.append(row)
            Feedback.objects.for_tenant(tenant).bulk_update(ready, ["labels", "status", "reviewed_by", "reviewed_at"])
            done += len(ready)
    return Reviewed(done=done, skipped=skipped + in_dataset)


def _chunks(items: list[Any], size: int) -> list[list[Any]]:
    return [items[i : i + size] for i in range(0, len(items), size)]


def feedback_to_dataset(
    *, tenant: Tenant, project: Project, base_dataset_id: UUID | None = None, user: User | None = None
) -> Dataset:
    """A new dataset: the base dataset's usable rows (if one is named) plus every accepted, unused text."""
    accepted = list(selectors.feedback_reviewed_ready(tenant=tenant, project=project).order_by("created_at"))
    if not accepted:
        raise Conflict("No reviewed texts to add: accept some in the review list first.", code="nothing_reviewed")
    base = None
    if base_dataset_id is not None:
        base = Dataset.objects.for_tenant(tenant).filter(project=project, pk=base_dataset_id).first()
        if base is None:
            raise NotFound("No such dataset in this project.", field="dataset_id")
        if base.status != DatasetStatus.READY:
            raise Conflict("The base dataset is not ready; choose a checked one.", field="dataset_id")
    with tempfile.TemporaryFile("w+b") as raw:
        base_rows = _write_training_csv(raw, base, accepted)
        size = raw.tell()
        _refuse_if_check_fails(raw, project=project, base=base, reviewed=len(accepted))
        name = f"{base.name.rsplit('.', 1)[0]}+feedback.csv" if base else "feedback.csv"
        with transaction.atomic():
            dataset, _ = dataset_upload(
                tenant=tenant,
                project=project,
                stream=raw,
                name=name,
                size=size,
                mapping=Mapping(text_column="text", label_column="label", multi_label=project.multi_label),
                uploaded_by=user,
                parent=base,
                provenance=_provenance(len(accepted), base, base_rows),
            )
            Feedback.objects.for_tenant(tenant).filter(pk__in=[f.pk for f in accepted]).update(dataset=dataset)
    return dataset


def _provenance(reviewed: int, base: Dataset | None, base_rows: int) -> str:
    """What the new dataset is, in words, for its page."""
    texts = f"{reviewed:,} reviewed text{'s' if reviewed != 1 else ''} from the review list"
    if base is None:
        return f"Made from {texts} alone."
    return f"Made from {texts} added to the {base_rows:,} usable rows of {base.name} v{base.version}."


def _refuse_if_check_fails(raw: IO[bytes], *, project: Project, base: Dataset | None, reviewed: int) -> None:
    """Run the data check on the file about to become a dataset: one it would reject is not made (the
    reviewed texts stay ready), and the refusal says why in the check's own words."""
    try:
        _, result = ingest.check_stream(
            cast(BinaryIO, raw),
            text_column="text",
            label_column="label",
            multi_label=project.multi_label,
            format_hint=ingest.Format.CSV,
            limits=limits(),
        )
    except ingest.IngestError as error:
        raise ingest_error(error) from None
    if result.ok:
        return
    problems = " ".join(f["message"] for f in result.report["findings"] if f["severity"] == "error")
    what = f"the {reviewed:,} reviewed text{'s' if reviewed != 1 else ''}" + (
        f" with {base.name} v{base.version}" if base else " alone"
    )
    raise Conflict(
        f"No dataset made: {what} would not pass the data check. {problems} "
        "Accept more texts with those labels (or choose a base dataset that has them), "
        "or reject the texts whose label is too rare to train.",
        code="dataset_would_be_invalid",
        field="dataset_id",
    )


def _write_training_csv(raw: Any, base: Dataset | None, accepted: list[Feedback]) -> int:
    """Write the base dataset's usable rows and the reviewed texts as a CSV; returns the base's rows."""
    text = io.TextIOWrapper(raw, encoding="utf-8", newline="")
    writer = csv.writer(text)
    writer.writerow(["text", "label"])
    rows = 0
    if base is not None:
        with default_storage.open(base.file, "rb") as stored:
            layout = ingest.sniff_stream(cast(Any, stored))
            for record in ingest.read_records(
                cast(Any, stored),
                layout,
                text_column=base.text_column,
                label_column=base.label_column,
                multi_label=base.multi_label,
            ):
                if isinstance(record, ingest.Record):
                    writer.writerow([record.text, "|".join(record.labels)])
                    rows += 1
    for feedback in accepted:
        writer.writerow([feedback.text, "|".join(feedback.labels)])
    text.flush()
    text.detach()
    return rows
