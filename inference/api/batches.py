"""Batch predictions over the API: submit a file or a dataset, poll the job, download the results CSV."""

from __future__ import annotations

from typing import Any, cast
from uuid import UUID

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.http import FileResponse
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.parsers import MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response

from inference import selectors
from inference.api.serializers import BatchCreateSerializer, BatchPredictionSerializer
from inference.api.throttles import PerKeyThrottle, PerTenantThrottle
from inference.models import BatchPrediction, BatchStatus
from inference.services import batches
from projects import ingest
from projects.api.base import ProjectScopedMixin
from tenants.api.base import TenantScopedMixin
from tenants.api.parsers import JSONParser
from tenants.errors import Conflict
from tenants.models import ApiKeyScope


class ProjectBatchPredictionsViewSet(ProjectScopedMixin, viewsets.GenericViewSet[BatchPrediction]):
    """``/projects/{project_pk}/batch-predictions/``: a project's batch jobs; submit one."""

    model = BatchPrediction
    serializer_class = BatchPredictionSerializer
    parser_classes = [MultiPartParser, JSONParser]
    write_scope = ApiKeyScope.PREDICT

    def get_throttles(self) -> list[Any]:
        # Creating a job runs the model over a file: the predict API's rate limits apply to it.
        return [PerKeyThrottle(), PerTenantThrottle()] if self.action == "create" else super().get_throttles()

    def list(self, request: Request, project_pk: UUID) -> Response:
        page = self.paginate_queryset(selectors.batches_of(tenant=self.tenant, project=self.url_project()))
        return self.get_paginated_response(BatchPredictionSerializer(page, many=True).data)

    @extend_schema(
        request={"multipart/form-data": BatchCreateSerializer, "application/json": BatchCreateSerializer},
        responses={202: BatchPredictionSerializer},
    )
    def create(self, request: Request, project_pk: UUID) -> Response:
        """Queue the prediction of every row of a file (multipart ``file``) or of a dataset (``dataset_id``)."""
        project = self.url_project()
        limit = settings.BATCH_MAX_UPLOAD_MB * 1024 * 1024
        if int(request.META.get("CONTENT_LENGTH") or 0) > limit + 64 * 1024:
            raise batches.TooLarge(f"The upload is larger than {settings.BATCH_MAX_UPLOAD_MB} MB, the most allowed.")
        serializer = BatchCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        if data.get("dataset_id"):
            job = batches.batch_from_dataset(
                tenant=self.tenant, project=project, dataset_id=data["dataset_id"], api_key=self.api_key
            )
        else:
            upload = cast(UploadedFile, data["file"])
            fmt = data.get("format", "auto")
            job = batches.batch_create(
                tenant=self.tenant,
                project=project,
                stream=cast(Any, upload.file),
                name=upload.name or "upload",
                size=upload.size or 0,
                text_column=data.get("text_column") or None,
                format_hint=None if fmt == "auto" else ingest.Format(fmt),
                api_key=self.api_key,
            )
        return Response(BatchPredictionSerializer(job).data, status=status.HTTP_202_ACCEPTED)


class BatchPredictionViewSet(TenantScopedMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet[BatchPrediction]):
    """``/batch-predictions/{id}/``: status and progress; ``results/``: the results CSV."""

    model = BatchPrediction
    serializer_class = BatchPredictionSerializer

    @extend_schema(responses={(200, "text/csv"): OpenApiResponse(description="The results CSV.")})
    @action(detail=True, methods=["get"])
    def results(self, request: Request, pk: UUID) -> FileResponse:
        job = self.get_object()
        if job.status != BatchStatus.SUCCEEDED:
            raise Conflict(f"The job is {job.status}; results come when it has succeeded.", code="not_ready")
        download = batches.results_download(job)
        return FileResponse(
            download.file, as_attachment=True, filename=download.filename, content_type=download.content_type
        )
