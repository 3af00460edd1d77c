"""Webhook endpoints over the API: register, change, delete, send a test event, read the delivery log."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import permissions, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from tenants.api.base import TenantScopedMixin
from tenants.api.errors import error_body
from tenants.models import ApiKeyScope
from webhooks.models import SUBSCRIBABLE_EVENTS, WebhookDelivery, WebhookEndpoint
from webhooks.selectors import deliveries_of
from webhooks.services import (
    TooManyTestEvents,
    endpoint_create,
    endpoint_delete,
    endpoint_rotate_secret,
    endpoint_update,
    send_test_event,
)


class NotLimitedToOneProject(permissions.BasePermission):
    """Webhooks belong to the whole organization: a key limited to one project may not see or change them."""

    message = "This API key is limited to one project; webhooks need a key for the whole organization."

    def has_permission(self, request: Request, view: APIView) -> bool:
        api_key = getattr(request.user, "api_key", None)
        return api_key is not None and api_key.project_id is None


_EVENTS_HELP = f'Event types to send: any of {", ".join(SUBSCRIBABLE_EVENTS)}; or ["*"] for all.'


class WebhookEndpointSerializer(serializers.ModelSerializer[WebhookEndpoint]):
    class Meta:
        model = WebhookEndpoint
        fields = ["id", "url", "description", "events", "is_active", "disabled_reason", "created_at", "updated_at"]
        read_only_fields = fields


class WebhookEndpointDetailSerializer(WebhookEndpointSerializer):
    """With the signing secret, which the receiver needs to verify ``webhook-signature``."""

    class Meta(WebhookEndpointSerializer.Meta):
        fields = [*WebhookEndpointSerializer.Meta.fields, "secret"]
        read_only_fields = fields


class EndpointCreateSerializer(serializers.Serializer[Any]):
    url = serializers.CharField(max_length=2000)
    events = serializers.ListField(child=serializers.CharField(max_length=60), help_text=_EVENTS_HELP)
    description = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")


class EndpointUpdateSerializer(serializers.Serializer[Any]):
    url = serializers.CharField(max_length=2000, required=False)
    events = serializers.ListField(child=serializers.CharField(max_length=60), required=False, help_text=_EVENTS_HELP)
    description = serializers.CharField(max_length=200, required=False, allow_blank=True)
    is_active = serializers.BooleanField(
        required=False, help_text="true enables the endpoint again (clearing disabled_reason); false pauses it."
    )


class WebhookDeliverySerializer(serializers.ModelSerializer[WebhookDelivery]):
    class Meta:
        model = WebhookDelivery
        fields = [
            "id",
            "endpoint",
            "event_id",
            "event_type",
            "payload",
            "status",
            "attempts",
            "next_attempt_at",
            "last_status_code",
            "last_error",
            "response_excerpt",
            "created_at",
            "delivered_at",
        ]
        read_only_fields = fields


class WebhookEndpointViewSet(TenantScopedMixin, viewsets.GenericViewSet[WebhookEndpoint]):
    """``/webhooks/``: the organization's webhook endpoints."""

    model = WebhookEndpoint
    project_field = None
    permission_classes = [*TenantScopedMixin.permission_classes, NotLimitedToOneProject]
    serializer_class = WebhookEndpointSerializer

    def _detail(self, endpoint: WebhookEndpoint) -> dict[str, Any]:
        # Only a key that may change the endpoint sees its secret: a predict key in an app must not be
        # able to forge events for the organization's own receiver.
        if self.api_key.has_scope(ApiKeyScope.MANAGE):
            return dict(WebhookEndpointDetailSerializer(endpoint).data)
        return dict(WebhookEndpointSerializer(endpoint).data)

    def list(self, request: Request) -> Response:
        page = self.paginate_queryset(self.get_queryset().order_by("created_at", "id"))
        return self.get_paginated_response(WebhookEndpointSerializer(page, many=True).data)

    @extend_schema(request=EndpointCreateSerializer, responses={201: WebhookEndpointDetailSerializer})
    def create(self, request: Request) -> Response:
        """Register an endpoint. The answer holds its signing secret."""
        serializer = EndpointCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        endpoint = endpoint_create(tenant=self.tenant, **serializer.validated_data)
        return Response(WebhookEndpointDetailSerializer(endpoint).data, status=status.HTTP_201_CREATED)

    @extend_schema(responses={200: WebhookEndpointDetailSerializer})
    def retrieve(self, request: Request, pk: UUID) -> Response:
        """One endpoint; with its signing secret for a key with the manage scope."""
        return Response(self._detail(self.get_object()))

    @extend_schema(request=EndpointUpdateSerializer, responses={200: WebhookEndpointDetailSerializer})
    def partial_update(self, request: Request, pk: UUID) -> Response:
        serializer = EndpointUpdateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        endpoint = endpoint_update(tenant=self.tenant, endpoint_id=self.get_object().pk, **serializer.validated_data)
        return Response(self._detail(endpoint))

    def destroy(self, request: Request, pk: UUID) -> Response:
        endpoint_delete(tenant=self.tenant, endpoint_id=self.get_object().pk)
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(request=None, responses={202: WebhookDeliverySerializer, 429: OpenApiTypes.OBJECT})
    @action(detail=True, methods=["post"])
    def send_test(self, request: Request, pk: UUID) -> Response:
        """Send a ``webhook.test`` event now; follow it in the endpoint's deliveries. At most
        ``WEBHOOK_TEST_EVENTS_PER_MINUTE`` (5) a minute per endpoint: then 429 with ``Retry-After``."""
        try:
            delivery = send_test_event(tenant=self.tenant, endpoint_id=self.get_object().pk)
        except TooManyTestEvents as limited:
            return Response(
                error_body(limited.code, limited.message, **limited.extra),
                status=limited.status,
                headers={"Retry-After": str(limited.retry_after_s)},
            )
        return Response(WebhookDeliverySerializer(delivery).data, status=status.HTTP_202_ACCEPTED)

    @extend_schema(request=None, responses={200: WebhookEndpointDetailSerializer})
    @action(detail=True, methods=["post"], url_path="rotate-secret")
    def rotate_secret(self, request: Request, pk: UUID) -> Response:
        """A new signing secret, in this answer. For ``WEBHOOK_SECRET_OVERLAP_H`` (24 h) every delivery
        carries two signatures in ``webhook-signature``, the new secret's and the old one's; then the new only."""
        endpoint = endpoint_rotate_secret(tenant=self.tenant, endpoint_id=self.get_object().pk)
        return Response(WebhookEndpointDetailSerializer(endpoint).data)


class WebhookDeliveryViewSet(TenantScopedMixin, viewsets.GenericViewSet[WebhookDelivery]):
    """``/webhooks/{id}/deliveries/``: an endpoint's delivery log, newest first."""

    model = WebhookDelivery
    project_field = None
    permission_classes = [*TenantScopedMixin.permission_classes, NotLimitedToOneProject]
    serializer_class = WebhookDeliverySerializer

    def list(self, request: Request, pk: UUID) -> Response:
        page = self.paginate_queryset(deliveries_of(tenant=self.tenant, endpoint_id=pk))
        return self.get_paginated_response(WebhookDeliverySerializer(page, many=True).data)
