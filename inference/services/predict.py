"""Predicting for a project: its active version, the shared micro-batcher, the answer's shape, usage."""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Sequence
from typing import Any

from django.conf import settings
from django.db import connection, transaction

from billing.models import UsageKind
from billing.services import usage_record
from inference import loading, selectors
from inference.runtime.batcher import BatcherTimeout
from inference.runtime.shaping import shape_predictions
from inference.services.feedback import collect_low_confidence
from projects.models import Project
from tenants.errors import ServiceError
from tenants.models import ApiKey
from training.models import ModelVersion

logger = logging.getLogger(__name__)

# SQLite (the embedded default) lets one writer in at a time and makes the others sleep and retry (1,
# 2, 5 ms, ...). The request threads of one process queue here for their usage write instead: with 16
# clients sending 1-text requests, 8-11 % more predictions per second and a lower p99. PostgreSQL
# takes concurrent writes and skips this.
_sqlite_writes = threading.Lock()


def _one_writer() -> contextlib.AbstractContextManager[Any]:
    # Only a call that opens the transaction queues: inside a caller's transaction (events posted to a
    # monitor) this thread already holds SQLite's lock, and waiting here for a thread that waits for
    # that lock would stall both.
    if connection.vendor == "sqlite" and not connection.in_atomic_block:
        return _sqlite_writes
    return contextlib.nullcontext()


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
    if billable:
        with _one_writer(), transaction.atomic():
            usage_record(
                tenant_id=project.tenant_id,
                kind=UsageKind.PREDICTION,
                quantity=len(texts),
                project=project,
                model_version=version,
                api_key=api_key,
            )
            if project.review_low_confidence and not classifier.multi_label:
                collect_low_confidence(project=project, version=version, texts=texts, predictions=predictions)
    return {
        "model_version": {"id": str(version.pk), "version": version.version, "precision": classifier.precision},
        "predictions": predictions,
    }
