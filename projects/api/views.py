from __future__ import annotations

from typing import Any

from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response

from projects import services
from projects.api.serializers import ProjectSerializer
from projects.models import Project
from tenants.api.base import TenantModelViewSet
from tenants.errors import Forbidden


class ProjectViewSet(TenantModelViewSet):
    """A tenant's projects. Keys limited to one project see and change only that one."""

    model = Project
    project_field = "pk"
    serializer_class = ProjectSerializer

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        if self.api_key.project_id is not None:
            raise Forbidden(
                "This API key is limited to one project and cannot create projects.", code="key_project_restricted"
            )
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        project = services.project_create(tenant=self.tenant, **serializer.validated_data)
        return Response(self.get_serializer(project).data, status=status.HTTP_201_CREATED)

    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        project = self.get_object()
        serializer = self.get_serializer(project, data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        project = services.project_update(tenant=self.tenant, project_id=project.pk, **serializer.validated_data)
        return Response(self.get_serializer(project).data)

    def destroy(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        project = self.get_object()
        services.project_delete(tenant=self.tenant, project_id=project.pk)
        return Response(status=status.HTTP_204_NO_CONTENT)
