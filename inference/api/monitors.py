"""Monitoring over the API: monitors, posting events, alert rules, alerts and the label-share series."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any
from uuid import UUID

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from inference import selectors
from inference.api.throttles import PerKeyThrottle, PerTenantThrottle
from inference.models import AlertRule, Monitor, RuleKind
from inference.services import monitors
from tenants.api.base import TenantModelViewSet, TenantScopedMixin
from tenants.api.parsers import nested_deeper_than
from tenants.errors import Conflict, InvalidInput, NotFound
from tenants.models import ApiKeyScope

# An event's metadata is stored with it and shown beside it: a few labels and numbers, not documents.
METADATA_MAX_BYTES = 4096
METADATA_MAX_DEPTH = 5


class MonitorSerializer(serializers.ModelSerializer[Monitor]):
    project_id = serializers.UUIDField(source="project.pk", read_only=True)

    class Meta:
        model = Monitor
        fields = ["id", "project_id", "name", "is_active", "created_at"]
        read_only_fields = ["id", "project_id", "created_at"]


class MonitorCreateSerializer(serializers.Serializer[Any]):
    project_id = serializers.UUIDField()
    name = serializers.CharField(max_length=100)


class EventInSerializer(serializers.Serializer[Any]):
    text = serializers.CharField(trim_whitespace=False)
    time = serializers.DateTimeField(required=False, help_text="When it happened (ISO 8601); default: now.")
    source = serializers.CharField(  # type: ignore[assignment]  # a field named like Field.source
        required=False, allow_blank=True, max_length=100
    )
    metadata = serializers.DictField(
        required=False, help_text=f"At most {METADATA_MAX_BYTES:,} bytes as JSON, {METADATA_MAX_DEPTH} levels deep."
    )

    def validate_metadata(self, value: dict[str, Any]) -> dict[str, Any]:
        size = len(json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str).encode())
        if size > METADATA_MAX_BYTES:
            raise serializers.ValidationError(
                f"At most {METADATA_MAX_BYTES:,} bytes of JSON (UTF-8), not {size:,}: keep labels and numbers here."
            )
        if nested_deeper_than(value, METADATA_MAX_DEPTH):
            raise serializers.ValidationError(f"Nested at most {METADATA_MAX_DEPTH} levels deep.")
        return value


class EventsInSerializer(serializers.Serializer[Any]):
    events = EventInSerializer(many=True, allow_empty=False)

    def validate_events(self, value: list[dict[str, Any]]) -> list[dict[str, Any]]:
        if len(value) > settings.PREDICT_MAX_TEXTS:
            raise serializers.ValidationError(f"At most {settings.PREDICT_MAX_TEXTS} events per request.")
        return value


class AlertRuleSerializer(serializers.ModelSerializer[AlertRule]):
    kind = serializers.ChoiceField(choices=RuleKind.choices, default=RuleKind.SHARE_ABOVE)
    threshold = serializers.FloatField(min_value=0.0, max_value=1.0)
    min_events = serializers.IntegerField(min_value=1, default=20)
    window_minutes = serializers.IntegerField(min_value=1, max_value=7 * 24 * 60, default=60)
    baseline_minutes = serializers.IntegerField(min_value=1, max_value=30 * 24 * 60, default=24 * 60)

    class Meta:
        model = AlertRule
        fields = [
            "id",
            "name",
            "kind",
            "label",
            "threshold",
            "min_events",
            "window_minutes",
            "baseline_minutes",
            "is_active",
            "firing",
            "last_evaluated_at",
            "created_at",
        ]
        read_only_fields = ["id", "firing", "last_evaluated_at", "created_at"]


class MonitorViewSet(TenantModelViewSet):
    """``/monitors/``: a tenant's monitors; ``events/`` classifies and stores texts and evaluates the rules."""

    model = Monitor
    serializer_class = MonitorSerializer
    project_field = "project"

    def get_throttles(self) -> list[Any]:
        # Posting events runs the model: the predict API's rate limits apply to it.
        return [PerKeyThrottle(), PerTenantThrottle()] if self.action == "events" else super().get_throttles()

    def refine_queryset(self, queryset: Any) -> Any:
        return queryset.select_related("project")

    def required_scope(self, request: Request) -> str | None:
        if getattr(self, "action", None) == "events":
            return ApiKeyScope.PREDICT
        return super().required_scope(request)

    def perform_update(self, serializer: Any) -> None:
        try:
            with transaction.atomic():
                serializer.save()
        except IntegrityError:
            raise Conflict("A monitor with this name exists already.", field="name") from None

    @extend_schema(request=MonitorCreateSerializer, responses={201: MonitorSerializer})
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        serializer = MonitorCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        project_id = serializer.validated_data["project_id"]
        if self.api_key.project_id is not None and project_id != self.api_key.project_id:
            raise NotFound("No such project.", field="project_id")  # a key limited to one project sees no other
        monitor = monitors.monitor_create(
            tenant=self.tenant, project_id=project_id, name=serializer.validated_data["name"]
        )
        return Response(MonitorSerializer(monitor).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=EventsInSerializer, responses={200: dict})
    @action(detail=True, methods=["post"])
    def events(self, request: Request, pk: UUID) -> Response:
        """Classify up to 256 texts with the project's deployed model, store them, evaluate the rules."""
        monitor = self.get_object()
        serializer = EventsInSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        posted = [
            monitors.PostedEvent(
                text=e["text"], occurred_at=e.get("time"), source=e.get("source", ""), metadata=e.get("metadata")
            )
            for e in serializer.validated_data["events"]
        ]
        result = monitors.events_post(tenant=self.tenant, monitor=monitor, events=posted, api_key=self.api_key)
        return Response(result)

    @extend_schema(responses={200: dict})
    @action(detail=True, methods=["get"])
    def alerts(self, request: Request, pk: UUID) -> Response:
        monitor = self.get_object()
        page = self.paginate_queryset(selectors.alerts_of(tenant=self.tenant, monitor=monitor))
        return self.get_paginated_response([monitors.alert_json(a) for a in page or []])

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "hours", {"type": "integer", "minimum": 1, "maximum": 24 * 90}, description="How far back (24)."
            ),
            OpenApiParameter("bucket", str, description="minute, hour (default) or day."),
        ],
        responses={200: dict},
    )
    @action(detail=True, methods=["get"])
    def series(self, request: Request, pk: UUID) -> Response:
        """Counts of each label per time bucket: the monitor page's chart."""
        monitor = self.get_object()
        try:
            hours = int(request.query_params.get("hours", "24"))
        except ValueError:
            hours = -1
        if not 1 <= hours <= 24 * 90:
            raise InvalidInput("hours must be a whole number from 1 to 2160.", field="hours")
        since = timezone.now() - timedelta(hours=hours)
        bucket = request.query_params.get("bucket", "hour")
        series = selectors.label_series(tenant=self.tenant, monitor=monitor, since=since, bucket=bucket)
        return Response({"buckets": series})

    @extend_schema(methods=["GET"], responses={200: AlertRuleSerializer(many=True)})
    @extend_schema(methods=["POST"], request=AlertRuleSerializer, responses={201: AlertRuleSerializer})
    @action(detail=True, methods=["get", "post"])
    def rules(self, request: Request, pk: UUID) -> Response:
        monitor = self.get_object()
        if request.method == "GET":
            rules = selectors.rules_of(tenant=self.tenant, monitor=monitor)
            return Response(AlertRuleSerializer(rules, many=True).data)
        serializer = AlertRuleSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        rule = monitors.rule_create(tenant=self.tenant, monitor=monitor, **serializer.validated_data)
        return Response(AlertRuleSerializer(rule).data, status=status.HTTP_201_CREATED)


class AlertRuleViewSet(
    TenantScopedMixin,
    mixins.RetrieveModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet[AlertRule],
):
    """``/alert-rules/{id}/``: one rule; delete it."""

    model = AlertRule
    serializer_class = AlertRuleSerializer
    project_field = "monitor__project"
