"""Predicting for a project: its active version, the shared micro-batcher, the answer's shape, usage."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.conf import settings

from billing.models import UsageKind, UsageSource
from billing.selectors import quota_check
from billing.services import usage_record
from inference import loading, selectors
from inference.runtime.batcher import BatcherTimeout
from inference.runtime.shaping import shape_predictions
from inference.services.feedback import collect_low_confidence
from projects.models import Project
from tenants import db
from tenants.errors import ServiceError
from tenants.models import ApiKey
from training.models import ModelVersion

logger = logging.getLogger(__name__)


class TextTooLong(ServiceError):
    status = 413
    code = "text_too_long"


class Overloaded(ServiceError):
    status = 503
    code = "overloaded"


def _check_lengths(texts: Sequence[str]) -> None:
    limit = settings.PREDICT_MAX_TEXT_CHARS
    too_long = [i for i, text in enumerate(texts) if len(text) > limit]
    if too_long:
        raise TextTooLong(
            f"{len(too_long)} text(s) are over the limit of {limit:,} characters (first: texts.{too_long[0]}).",
            details=[
                {
                    "field": f"texts.{i}",
                    "message": f"{len(texts[i]):,} characters; at most {limit:,}.",
                    "code": "too_long",
                }
                for i in too_long[:10]
            ],
        )


@dataclass(frozen=True)
class Predicted:
    """What the model said of some texts, before anything about them is written."""

    project: Project
    version: ModelVersion
    texts: Sequence[str]
    predictions: list[dict[str, Any]]
    multi_label: bool
    precision: str

    def answer(self) -> dict[str, Any]:
        """The predict API's body: the version that answered and one prediction per text."""
        served = {"id": str(self.version.pk), "version": self.version.version, "precision": self.precision}
        return {"model_version": served, "predictions": self.predictions}


def predictions_compute(
    *, project: Project, texts: Sequence[str], top_k: int | None = None, version: ModelVersion | None = None
) -> Predicted:
    """Predict ``texts`` with ``version`` (default: the project's deployed one). Writes nothing, and holds
    no transaction open while the model runs."""
    _check_lengths(texts)
    version = version or selectors.deployed_version(project)
    classifier = loading.classifier_for(version)
    try:
        scores = loading.batcher().predict(classifier, texts, timeout_s=settings.PREDICT_TIMEOUT_S)
    except BatcherTimeout:
        logger.warning("prediction timed out project=%s texts=%d", project.pk, len(texts))
        raise Overloaded("Predictions are taking too long right now; retry in a few seconds.") from None
    predictions = shape_predictions(
        scores,
        label_names=classifier.label_names,
        thresholds=classifier.thresholds,
        multi_label=classifier.multi_label,
        confidence_threshold=project.confidence_threshold,
        top_k=top_k,
    )
    return Predicted(
        project=project,
        version=version,
        texts=texts,
        predictions=predictions,
        multi_label=classifier.multi_label,
        precision=classifier.precision,
    )


def predictions_allowed(*, project: Project, texts: Sequence[str]) -> None:
    """Refuse (402) before the model runs when the texts would pass the tenant's quota."""
    quota_check(tenant_id=project.tenant_id, kind=UsageKind.PREDICTION, quantity=len(texts))


def predictions_record(*, predicted: Predicted, api_key: ApiKey | None = None, source: str = UsageSource.API) -> None:
    """Bill the predicted texts and keep the unsure ones for review, in the caller's transaction. Raises
    ``QuotaExceeded`` (402) when the quota filled up while the model ran; the caller's transaction then
    rolls back and nothing is billed or kept."""
    project = predicted.project
    usage_record(
        tenant_id=project.tenant_id,
        kind=UsageKind.PREDICTION,
        quantity=len(predicted.texts),
        source=source,
        enforce=True,
        project=project,
        model_version=predicted.version,
        api_key=api_key,
    )
    if project.review_low_confidence and not predicted.multi_label:
        collect_low_confidence(
            project=project, version=predicted.version, texts=predicted.texts, predictions=predicted.predictions
        )


def predict(
    *,
    project: Project,
    texts: Sequence[str],
    top_k: int | None = None,
    api_key: ApiKey | None = None,
    billable: bool = True,
    version: ModelVersion | None = None,
) -> dict[str, Any]:
    """Predict ``texts`` with the project's deployed version and record them as usage (when billable:
    the dashboard's try-it box is not)."""
    if billable:
        predictions_allowed(project=project, texts=texts)
    predicted = predictions_compute(project=project, texts=texts, top_k=top_k, version=version)
    if billable:
        with db.write_transaction():
            predictions_record(predicted=predicted, api_key=api_key)
    return predicted.answer()
