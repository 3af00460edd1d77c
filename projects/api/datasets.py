"""Dataset endpoints: upload (multipart), preview for column mapping, status and report, fix, delete."""

from __future__ import annotations

from typing import Any, BinaryIO, cast
from uuid import UUID

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.parsers import MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response

from projects import ingest
from projects.api.base import ProjectScopedMixin
from projects.models import Dataset
from projects.services.dataset_checks import TooLarge
from projects.services.datasets import (
    Mapping,
    dataset_apply_fixes,
    dataset_delete,
    dataset_preview,
    dataset_upload,
)
from tenants.api.base import TenantScopedMixin

FORMATS = ["auto", *[str(f) for f in ingest.Format]]


class DatasetSerializer(serializers.ModelSerializer[Dataset]):
    uploaded_by = serializers.SerializerMethodField()

    class Meta:
        model = Dataset
        fields = [
            "id",
            "project",
            "name",
            "version",
            "parent",
            "status",
            "progress",
            "size_bytes",
            "sha256",
            "format",
            "encoding",
            "text_column",
            "label_column",
            "multi_label",
            "rows_read",
            "rows_usable",
            "label_count",
            "uploaded_by",
            "created_at",
            "checked_at",
            "report",
        ]
        read_only_fields = fields

    def get_uploaded_by(self, dataset: Dataset) -> str | None:
        return dataset.uploaded_by.email if dataset.uploaded_by else None


class DatasetListSerializer(DatasetSerializer):
    class Meta(DatasetSerializer.Meta):
        fields = [f for f in DatasetSerializer.Meta.fields if f != "report"]
        read_only_fields = fields


class UploadSerializer(serializers.Serializer[Any]):
    file = serializers.FileField(
        allow_empty_file=True,  # the data check says "The file is empty." with its own code
        help_text="CSV, TSV, JSON Lines, or a headerless label-first CSV (AWS Comprehend).",
    )
    text_column = serializers.CharField(required=False, allow_blank=True, max_length=200)
    label_column = serializers.CharField(required=False, allow_blank=True, max_length=200)
    multi_label = serializers.BooleanField(required=False, allow_null=True, default=None)
    format = serializers.ChoiceField(choices=FORMATS, default="auto")

    def mapping(self) -> Mapping:
        data = self.validated_data
        fmt = data.get("format", "auto")
        return Mapping(
            text_column=data.get("text_column") or None,
            label_column=data.get("label_column") or None,
            multi_label=data.get("multi_label"),
            format=None if fmt == "auto" else ingest.Format(fmt),
        )


class ProjectDatasetsViewSet(ProjectScopedMixin, viewsets.GenericViewSet[Dataset]):
    """``/projects/{project_pk}/datasets/``: a project's datasets, and uploads to it."""

    model = Dataset
    serializer_class = DatasetListSerializer
    parser_classes = [MultiPartParser]

    def refine_queryset(self, queryset: Any) -> Any:
        return queryset.select_related("uploaded_by")

    def list(self, request: Request, project_pk: UUID) -> Response:
        queryset = self.get_queryset().filter(project=self.url_project())
        page = self.paginate_queryset(queryset)
        return self.get_paginated_response(DatasetListSerializer(page, many=True).data)

    def _upload(self, request: Request) -> tuple[UploadedFile, BinaryIO, Mapping]:
        limit = settings.DATASET_MAX_UPLOAD_MB * 1024 * 1024
        if int(request.META.get("CONTENT_LENGTH") or 0) > limit + 64 * 1024:
            raise TooLarge(
                f"The upload is larger than {settings.DATASET_MAX_UPLOAD_MB} MB, the most one dataset may be."
            )
        serializer = UploadSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        upload = cast(UploadedFile, serializer.validated_data["file"])
        return upload, cast(BinaryIO, upload.file), serializer.mapping()

    @extend_schema(
        request={"multipart/form-data": UploadSerializer},
        responses={201: DatasetSerializer, 202: DatasetSerializer, 200: DatasetSerializer},
    )
    def create(self, request: Request, project_pk: UUID) -> Response:
        """Upload a file. 201: checked now; 202: large, being checked (poll the dataset); 200: the same file
        with the same columns was uploaded before, and that dataset is returned."""
        project = self.url_project()
        upload, stream, mapping = self._upload(request)
        dataset, created = dataset_upload(
            tenant=self.tenant,
            project=project,
            stream=stream,
            name=upload.name or "upload",
            size=upload.size or 0,
            mapping=mapping,
        )
        code = (
            status.HTTP_200_OK
            if not created
            else (status.HTTP_202_ACCEPTED if dataset.status == "checking" else status.HTTP_201_CREATED)
        )
        return Response(DatasetSerializer(dataset).data, status=code)

    @extend_schema(request={"multipart/form-data": UploadSerializer}, responses={200: dict})
    @action(detail=False, methods=["post"])
    def preview(self, request: Request, project_pk: UUID) -> Response:
        """The file's format, columns, guessed mapping and first rows, without storing anything."""
        self.url_project()
        _, stream, mapping = self._upload(request)
        return Response(dataset_preview(stream=stream, mapping=mapping))


class DatasetViewSet(TenantScopedMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet[Dataset]):
    """``/datasets/{id}/``: status, progress and the data check's report; fix; delete."""

    model = Dataset
    serializer_class = DatasetSerializer

    def refine_queryset(self, queryset: Any) -> Any:
        return queryset.select_related("uploaded_by")

    def destroy(self, request: Request, pk: str) -> Response:
        dataset = self.get_object()
        dataset_delete(tenant=self.tenant, dataset_id=dataset.pk)
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(request=None, responses={201: DatasetSerializer, 202: DatasetSerializer})
    @action(detail=True, methods=["post"])
    def fix(self, request: Request, pk: str) -> Response:
        """Apply the suggested fixes as a new dataset version; the original stays."""
        dataset = self.get_object()
        fixed, created = dataset_apply_fixes(tenant=self.tenant, dataset_id=dataset.pk)
        code = (
            status.HTTP_200_OK
            if not created
            else (status.HTTP_202_ACCEPTED if fixed.status == "checking" else status.HTTP_201_CREATED)
        )
        return Response(DatasetSerializer(fixed).data, status=code)
