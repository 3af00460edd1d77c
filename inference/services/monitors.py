"""Monitors: texts posted as events are classified, stored, counted over sliding windows by alert rules,
and an alert (with its evidence) is recorded and sent as a signed webhook when a rule starts to hold."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.utils import timezone

from billing.models import UsageSource
from inference import selectors
from inference.models import Alert, AlertRule, Monitor, MonitorEvent, RuleKind
from inference.services import alerting
from inference.services.predict import Predicted, predictions_allowed, predictions_compute, predictions_record
from projects.models import Project
from tenants import db
from tenants.errors import Conflict, InvalidInput, NotFound
from tenants.models import ApiKey, Tenant
from webhooks.models import EventType
from webhooks.services import emit_event

EXAMPLES = 5
FUTURE_TOLERANCE = timedelta(minutes=5)


def monitor_create(*, tenant: Tenant, project_id: UUID, name: str) -> Monitor:
    project = Project.objects.for_tenant(tenant).filter(pk=project_id).first()
    if project is None:
        raise NotFound("No such project.", field="project_id")
    try:
        with transaction.atomic():
            return Monitor.objects.for_tenant(tenant).create(tenant=tenant, project=project, name=name)
    except IntegrityError:
        raise Conflict(f"A monitor named {name!r} exists already.", field="name") from None


def _check_rule(project: Project, kind: str, label: str, threshold: float) -> None:
    if not 0 < threshold < 1:
        raise InvalidInput("threshold must be between 0 and 1 (0.4 = 40 %).", field="threshold")
    version = selectors.active_version(project=project)
    if version is not None and label not in version.label_names:
        known = ", ".join(version.label_names[:20])
        raise InvalidInput(f"The deployed model has no label {label!r}; its labels: {known}.", field="label")
    if kind not in RuleKind.values:
        raise InvalidInput(f"kind must be one of {', '.join(RuleKind.values)}.", field="kind")


def rule_create(*, tenant: Tenant, monitor: Monitor, **fields: Any) -> AlertRule:
    _check_rule(monitor.project, fields.get("kind", RuleKind.SHARE_ABOVE), fields["label"], fields["threshold"])
    return AlertRule.objects.for_tenant(tenant).create(tenant=tenant, monitor=monitor, **fields)


def rule_delete(*, tenant: Tenant, monitor: Monitor, rule_id: UUID) -> None:
    """Delete one rule of the monitor (its alerts stay, without their rule)."""
    deleted, _ = AlertRule.objects.for_tenant(tenant).filter(monitor=monitor, pk=rule_id).delete()
    if not deleted:
        raise NotFound("No such rule.")


# --- events -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PostedEvent:
    text: str
    occurred_at: datetime | None = None
    source: str = ""
    metadata: dict[str, Any] | None = None


def _times(events: Sequence[PostedEvent], now: datetime) -> list[datetime]:
    times = []
    for i, event in enumerate(events):
        at = event.occurred_at or now
        if at > now + FUTURE_TOLERANCE:
            raise InvalidInput(f"events.{i}.time is in the future ({at.isoformat()}).", field=f"events.{i}.time")
        times.append(at)
    return times


def events_post(
    *, tenant: Tenant, monitor: Monitor, events: Sequence[PostedEvent], api_key: ApiKey | None = None
) -> dict[str, Any]:
    """Classify and store the events, then evaluate the monitor's rules at the latest event's time.

    The model runs first, outside any transaction; then the events, their usage and the rules' outcome
    are written in one short transaction: all of it, or (when a write fails) none.
    """
    if not monitor.is_active:
        raise Conflict("This monitor is paused; resume it to post events.", code="monitor_paused")
    times = _times(events, timezone.now())
    texts = [e.text for e in events]
    predictions_allowed(project=monitor.project, texts=texts)
    predicted = predictions_compute(project=monitor.project, texts=texts)
    with db.write_transaction():
        predictions_record(predicted=predicted, api_key=api_key, source=UsageSource.MONITOR)
        rows = _events_store(tenant, monitor, events, times, predicted)
        fired = rules_evaluate(tenant=tenant, monitor=monitor, at=max(times))
    return {
        "model_version": predicted.answer()["model_version"],
        "events": [
            {"id": str(row.pk), "time": row.occurred_at, "label": row.label, "score": row.score, **prediction}
            for row, prediction in zip(rows, predicted.predictions, strict=True)
        ],
        "alerts": fired,
    }


def _events_store(
    tenant: Tenant, monitor: Monitor, events: Sequence[PostedEvent], times: list[datetime], predicted: Predicted
) -> list[MonitorEvent]:
    """One row per event with what the model said of it, and the labels the rules count."""
    rows = []
    for event, at, prediction in zip(events, times, predicted.predictions, strict=True):
        counted = [prediction["label"]] if "label" in prediction else _above(prediction)
        top = prediction["labels"][0]
        rows.append(
            MonitorEvent(
                tenant=tenant,
                monitor=monitor,
                model_version=predicted.version,
                occurred_at=at,
                text=event.text,
                source=event.source[:100],
                metadata=event.metadata or {},
                label=top["name"],
                score=top["score"],
                labels_text="|" + "|".join(counted) + "|",
            )
        )
    return MonitorEvent.objects.for_tenant(tenant).bulk_create(rows)


def _above(prediction: dict[str, Any]) -> list[str]:
    return [label["name"] for label in prediction["labels"] if label["above_threshold"]]


def _window(monitor: Monitor, start: datetime, end: datetime) -> QuerySet[MonitorEvent]:
    return MonitorEvent.objects.for_tenant(monitor.tenant_id).filter(
        monitor=monitor, occurred_at__gt=start, occurred_at__lte=end
    )


def _counts(rule: AlertRule, end: datetime) -> alerting.Counts:
    start = end - timedelta(minutes=rule.window_minutes)
    window = _window(rule.monitor, start, end)
    marker = f"|{rule.label}|"
    counts = {"total": window.count(), "matching": window.filter(labels_text__contains=marker).count()}
    if rule.kind == RuleKind.CHANGE_VS_BASELINE:
        baseline = _window(rule.monitor, start - timedelta(minutes=rule.baseline_minutes), start)
        counts.update(
            baseline_total=baseline.count(), baseline_matching=baseline.filter(labels_text__contains=marker).count()
        )
    return alerting.Counts(**counts)


def rules_evaluate(*, tenant: Tenant, monitor: Monitor, at: datetime) -> list[dict[str, Any]]:
    """Evaluate every active rule of the monitor for the window ending ``at``; returns the alerts fired."""
    fired = []
    rules = AlertRule.objects.for_tenant(tenant).select_for_update().filter(monitor=monitor, is_active=True)
    for rule in rules.select_related("monitor"):
        counts = _counts(rule, at)
        result = alerting.evaluate(rule.kind, rule.threshold, rule.min_events, counts, was_firing=rule.firing)
        if result.fires:
            fired.append(_fire(rule, counts, result, at))
        elif result.clears:
            Alert.objects.for_tenant(tenant).filter(rule=rule, resolved_at__isnull=True).update(resolved_at=at)
        rule.firing = result.holds
        rule.last_evaluated_at = timezone.now()
        rule.save(update_fields=["firing", "last_evaluated_at"])
    return fired


def _fire(rule: AlertRule, counts: alerting.Counts, result: alerting.Evaluation, at: datetime) -> dict[str, Any]:
    start = at - timedelta(minutes=rule.window_minutes)
    examples = list(
        _window(rule.monitor, start, at)
        .filter(labels_text__contains=f"|{rule.label}|")
        .order_by("-occurred_at")
        .values_list("text", flat=True)[:EXAMPLES]
    )
    alert = Alert.objects.for_tenant(rule.tenant_id).create(
        tenant_id=rule.tenant_id,
        monitor=rule.monitor,
        rule=rule,
        label=rule.label,
        window_start=start,
        window_end=at,
        matching=counts.matching,
        total=counts.total,
        share=result.share,
        baseline_share=result.baseline_share,
        examples=examples,
    )
    body = alert_json(alert)
    emit_event(tenant=rule.tenant_id, event_type=EventType.MONITOR_ALERT, data=body)
    return body


def alert_json(alert: Alert) -> dict[str, Any]:
    return {
        "id": str(alert.pk),
        "monitor_id": str(alert.monitor_id),
        "rule_id": str(alert.rule_id) if alert.rule_id else None,
        "label": alert.label,
        "window_start": alert.window_start.isoformat(),
        "window_end": alert.window_end.isoformat(),
        "matching": alert.matching,
        "total": alert.total,
        "share": round(alert.share, 4),
        "baseline_share": None if alert.baseline_share is None else round(alert.baseline_share, 4),
        "examples": alert.examples,
        "resolved_at": alert.resolved_at.isoformat() if alert.resolved_at else None,
    }


# --- retention ---------------------------------------------------------------------------------------


def events_purge_expired() -> int:
    """Delete raw events past the retention period, for every tenant (alerts keep their examples)."""
    cutoff = timezone.now() - timedelta(days=settings.MONITOR_EVENT_RETENTION_DAYS)
    with db.system_context():
        deleted, _ = MonitorEvent.all_tenants.filter(occurred_at__lt=cutoff).delete()
    return deleted
