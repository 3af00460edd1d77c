"""Feedback: corrections sent by integrations, and predictions the model was unsure of, reviewed by people
and added, in one action, to a new training dataset."""

from __future__ import annotations

import csv
import tempfile
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, cast
from uuid import UUID

from django.conf import settings
from django.core.files.storage import default_storage
from django.db import transaction
from django.utils import timezone

from inference import selectors
from inference.models import Feedback, FeedbackSource, FeedbackStatus
from projects import ingest
from projects.models import Dataset, DatasetStatus, Project
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
        rows = _write_training_csv(raw, base, accepted)
        size = raw.tell()
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
            )
            Feedback.objects.for_tenant(tenant).filter(pk__in=[f.pk for f in accepted]).update(dataset=dataset)
    assert rows > 0
    return dataset


def _write_training_csv(raw: Any, base: Dataset | None, accepted: list[Feedback]) -> int:
    import io

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
        rows += 1
    text.flush()
    text.detach()
    return rows
