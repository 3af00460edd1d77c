"""``/projects/{id}/feedback/``: corrections from integrations, and the review list as a feed."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status, viewsets
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response

from inference import selectors
from inference.models import Feedback, FeedbackStatus
from inference.services.feedback import feedback_create
from projects.api.base import ProjectScopedMixin
from tenants.models import ApiKeyScope


class FeedbackSerializer(serializers.ModelSerializer[Feedback]):
    class Meta:
        model = Feedback
        fields = [
            "id",
            "text",
            "labels",
            "predicted_label",
            "score",
            "source",
            "status",
            "model_version",
            "dataset",
            "created_at",
            "reviewed_at",
        ]
        read_only_fields = fields


class FeedbackCreateSerializer(serializers.Serializer[Any]):
    text = serializers.CharField(trim_whitespace=False)
    labels = serializers.ListField(child=serializers.CharField(max_length=200), required=False)
    label = serializers.CharField(  # type: ignore[assignment]  # a field named like Field.label
        required=False, max_length=200, help_text="Single-label: instead of labels."
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if not attrs.get("labels") and not attrs.get("label"):
            raise serializers.ValidationError({"labels": "Give the correct label (label) or labels (labels)."})
        return attrs


class ProjectFeedbackViewSet(ProjectScopedMixin, viewsets.GenericViewSet[Feedback]):
    model = Feedback
    serializer_class = FeedbackSerializer
    write_scope = ApiKeyScope.PREDICT

    @extend_schema(
        parameters=[OpenApiParameter("status", str, enum=FeedbackStatus.values, description="Only this status.")]
    )
    def list(self, request: Request, project_pk: UUID) -> Response:
        status_filter = request.query_params.get("status")
        if status_filter is not None and status_filter not in FeedbackStatus.values:
            raise ValidationError({"status": [f"One of {', '.join(FeedbackStatus.values)}."]})
        page = self.paginate_queryset(
            selectors.feedback_of(tenant=self.tenant, project=self.url_project(), status=status_filter)
        )
        return self.get_paginated_response(FeedbackSerializer(page, many=True).data)

    @extend_schema(request=FeedbackCreateSerializer, responses={201: FeedbackSerializer})
    def create(self, request: Request, project_pk: UUID) -> Response:
        """The labels a text should have had; it waits in the dashboard's review list."""
        project = self.url_project()
        serializer = FeedbackCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        labels = data.get("labels") or [data["label"]]
        feedback = feedback_create(
            tenant=self.tenant, project=project, text=data["text"], labels=labels, api_key=self.api_key
        )
        return Response(FeedbackSerializer(feedback).data, status=status.HTTP_201_CREATED)
