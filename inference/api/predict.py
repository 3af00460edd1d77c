"""``POST /api/v1/projects/{id}/predict/``: the deployed model's predictions for 1..256 texts."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from drf_spectacular.utils import extend_schema
from rest_framework import generics
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.settings import api_settings

from inference import selectors
from inference.api.serializers import PredictRequestSerializer, PredictResponseSerializer, predict_request
from inference.api.throttles import PerKeyThrottle, PerTenantThrottle
from inference.services.predict import predict
from projects.api.base import ProjectScopedMixin
from projects.models import Project
from tenants.models import ApiKeyScope

_ANY_JSON = frozenset({"*/*", "application/json"})


class PredictView(ProjectScopedMixin, generics.GenericAPIView[Any]):
    model = Project
    project_field = "pk"
    write_scope = ApiKeyScope.PREDICT
    throttle_classes = [PerKeyThrottle, PerTenantThrottle]
    serializer_class = PredictRequestSerializer

    def perform_content_negotiation(self, request: Request, force: bool = False) -> tuple[Any, str]:
        # The one renderer is JSON: a client that takes anything, or JSON, gets it without DRF's
        # negotiation, a noticeable share of a 1-text request's time. Any other Accept, or ?format=, is
        # negotiated as everywhere else (406 for a type we do not make).
        accept = request.META.get("HTTP_ACCEPT", "*/*")
        renderers = self.get_renderers()
        if accept in _ANY_JSON and len(renderers) == 1 and api_settings.URL_FORMAT_OVERRIDE not in request.GET:
            return renderers[0], renderers[0].media_type
        return super().perform_content_negotiation(request, force)

    @extend_schema(request=PredictRequestSerializer, responses={200: PredictResponseSerializer})
    def post(self, request: Request, project_pk: UUID) -> Response:
        # One query for the project and its deployed version; the project alone only to tell 404 from 409.
        version = selectors.served_version(
            tenant_id=self.tenant.pk, project_id=project_pk, key_project_id=self.api_key.project_id
        )
        project = version.project if version is not None else self.url_project()
        texts, top_k = predict_request(request.data)
        result = predict(project=project, version=version, texts=texts, top_k=top_k, api_key=self.api_key)
        return Response(result)
