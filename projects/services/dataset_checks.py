"""The data check's side of a dataset: what the check runs with (limits, the token counter and the split
rule training registers), its outcome as the dataset's fields or as a failed report, the
``dataset.checked`` event, and an unreadable file as a service error. ``datasets`` (upload, check of a
stored file, fixes) uses them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.utils import timezone

from projects import ingest
from projects.models import Dataset, DatasetStatus
from tenants.errors import InvalidInput, ServiceError
from webhooks.models import EventType
from webhooks.services import emit_event


class TooLarge(ServiceError):
    status = 413
    code = "too_large"


def ingest_error(error: ingest.IngestError) -> ServiceError:
    """An unreadable file as a service error whose details say where (row, column) the problem is."""
    details = [{"field": "file", **error.as_dict()}]
    if error.code == "too_many_rows":
        return TooLarge(error.message, code=error.code, field="file", details=details)
    return InvalidInput(error.message, code=error.code, field="file", details=details)


def limits() -> ingest.CheckLimits:
    return ingest.CheckLimits(max_rows=settings.DATASET_MAX_ROWS, token_limit=settings.DEFAULT_MAX_LENGTH)


TokenCounter = Callable[[list[str]], list[int]]
# Counts a text's tokens as the default base model would, for the check's "cut by the token limit"
# finding. The base models are training's business: it sets this from its AppConfig.ready(), so this app
# imports nothing above it. Unset (or answering None), lengths are not measured.
_token_counter: Callable[[], TokenCounter | None] | None = None


def set_token_counter(factory: Callable[[], TokenCounter | None]) -> None:
    global _token_counter
    _token_counter = factory


def count_tokens() -> TokenCounter | None:
    return _token_counter() if _token_counter is not None else None


# How training splits a dataset (train and validation rows from the rows per first label), so that the
# check states the split training will make: the rule is training's, registered from its AppConfig.ready().
_split_rule: ingest.SplitSizes | None = None


def set_split_rule(rule: ingest.SplitSizes) -> None:
    global _split_rule
    _split_rule = rule


def split_rule() -> ingest.SplitSizes | None:
    return _split_rule


def apply_result(dataset: Dataset, layout: ingest.Layout, result: ingest.CheckResult) -> None:
    report = result.report
    dataset.status = DatasetStatus.READY if result.ok else DatasetStatus.INVALID
    dataset.format = str(layout.format)
    dataset.encoding = layout.encoding
    dataset.text_column = report["text_column"]
    dataset.label_column = report["label_column"]
    dataset.multi_label = report["multi_label"]
    dataset.rows_read = report["rows_read"]
    dataset.rows_usable = report["rows_usable"]
    dataset.label_count = report["label_count"]
    dataset.report = report
    dataset.progress = 1.0
    dataset.checked_at = timezone.now()


def announce_checked(dataset: Dataset) -> None:
    emit_event(
        tenant=dataset.tenant_id,
        event_type=EventType.DATASET_CHECKED,
        data={
            "dataset_id": str(dataset.pk),
            "project_id": str(dataset.project_id),
            "name": dataset.name,
            "version": dataset.version,
            "status": dataset.status,
            "rows_usable": dataset.rows_usable,
            "errors": dataset.report.get("errors", 0),
            "warnings": dataset.report.get("warnings", 0),
        },
    )


def failed_report(error: ingest.IngestError) -> dict[str, Any]:
    return {
        "status": DatasetStatus.INVALID,
        "rows_read": 0,
        "rows_usable": 0,
        "labels": [],
        "findings": [
            {
                "severity": "error",
                "code": error.code,
                "message": error.message,
                "column": error.column,
                "rows": [error.row] if error.row else [],
                "count": 1,
            }
        ],
        "errors": 1,
        "warnings": 0,
        "fixable": False,
    }
