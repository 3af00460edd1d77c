"""Training runs and model versions over the API."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from django.http import FileResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from projects.api.base import ProjectScopedMixin
from tenants.api.base import TenantScopedMixin
from training import selectors, services
from training.api.serializers import ModelVersionSerializer, TrainingRunCreateSerializer, TrainingRunSerializer
from training.models import ModelVersion, TrainingRun


class ProjectTrainingRunsViewSet(ProjectScopedMixin, viewsets.GenericViewSet[TrainingRun]):
    """``/projects/{project_pk}/training-runs/``: start a run; list the project's runs."""

    model = TrainingRun
    serializer_class = TrainingRunSerializer

    def refine_queryset(self, queryset: Any) -> Any:
        return queryset.select_related("model_version")

    def list(self, request: Request, project_pk: UUID) -> Response:
        page = self.paginate_queryset(self.get_queryset().filter(project=self.url_project()))
        positions = selectors.queue_positions(runs=page or [])
        serializer = TrainingRunSerializer(page, many=True, context={"queue_positions": positions})
        return self.get_paginated_response(serializer.data)

    @extend_schema(request=TrainingRunCreateSerializer, responses={202: TrainingRunSerializer})
    def create(self, request: Request, project_pk: UUID) -> Response:
        """Queue a training run on a checked dataset; unset hyperparameters get defaults for its size."""
        project = self.url_project()
        serializer = TrainingRunCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        run = services.run_create(tenant=self.tenant, project=project, dataset_id=data.pop("dataset_id"), **data)
        return Response(TrainingRunSerializer(run).data, status=status.HTTP_202_ACCEPTED)


class TrainingRunViewSet(TenantScopedMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet[TrainingRun]):
    """``/training-runs/{id}/``: status, progress (phase, epoch, step, loss, ETA), history, metrics; cancel."""

    model = TrainingRun
    serializer_class = TrainingRunSerializer

    def refine_queryset(self, queryset: Any) -> Any:
        return queryset.select_related("model_version")

    @extend_schema(request=None, responses={202: TrainingRunSerializer})
    @action(detail=True, methods=["post"])
    def cancel(self, request: Request, pk: UUID) -> Response:
        run = services.run_cancel(tenant=self.tenant, run_id=self.get_object().pk)
        return Response(TrainingRunSerializer(run).data, status=status.HTTP_202_ACCEPTED)


class ProjectModelsViewSet(ProjectScopedMixin, viewsets.GenericViewSet[ModelVersion]):
    """``/projects/{project_pk}/models/``: the project's model versions with their evaluation."""

    model = ModelVersion
    serializer_class = ModelVersionSerializer

    def list(self, request: Request, project_pk: UUID) -> Response:
        page = self.paginate_queryset(self.get_queryset().filter(project=self.url_project()))
        return self.get_paginated_response(ModelVersionSerializer(page, many=True).data)


class ModelVersionViewSet(TenantScopedMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet[ModelVersion]):
    """``/models/{id}/``: one version; deploy it (also how a rollback is done); download it."""

    model = ModelVersion
    serializer_class = ModelVersionSerializer

    @extend_schema(request=None, responses={200: ModelVersionSerializer})
    @action(detail=True, methods=["post"])
    def deploy(self, request: Request, pk: UUID) -> Response:
        version = services.model_deploy(tenant=self.tenant, version_id=self.get_object().pk)
        return Response(ModelVersionSerializer(version).data)

    @extend_schema(
        responses={
            (200, "application/zip"): OpenApiResponse(
                response=OpenApiTypes.BINARY,
                description=(
                    "The version as one zip: a folder that `transformers` loads with `from_pretrained` "
                    "(safetensors weights, tokenizer, config.json with the label map), labels.json "
                    "(labels, thresholds, calibration temperature) and README.md, the model card."
                ),
            ),
        }
    )
    @action(detail=True, methods=["get"])
    def download(self, request: Request, pk: UUID) -> FileResponse:
        """The model as one archive to run anywhere with `transformers` alone (LoRA versions come merged)."""
        archive = services.model_download(tenant=self.tenant, version_id=self.get_object().pk)
        return FileResponse(
            archive.file, as_attachment=True, filename=archive.filename, content_type=archive.content_type
        )
