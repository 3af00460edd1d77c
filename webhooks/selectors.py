"""Reads: a tenant's endpoints and their delivery logs."""

from __future__ import annotations

from typing import TYPE_CHECKING
from uuid import UUID

from django.db import models

from tenants.errors import NotFound
from webhooks.models import WebhookDelivery, WebhookEndpoint

if TYPE_CHECKING:
    from tenants.models import Tenant


def endpoints_of(*, tenant: Tenant) -> models.QuerySet[WebhookEndpoint]:
    return WebhookEndpoint.objects.for_tenant(tenant).order_by("created_at")


def endpoint_get(*, tenant: Tenant | UUID | str, endpoint_id: UUID | str) -> WebhookEndpoint:
    endpoint = WebhookEndpoint.objects.for_tenant(tenant).filter(pk=endpoint_id).first()
    if endpoint is None:
        raise NotFound("No such webhook endpoint.")
    return endpoint


def deliveries_of(*, tenant: Tenant, endpoint_id: UUID | str) -> models.QuerySet[WebhookDelivery]:
    """An endpoint's delivery log, newest first (``NotFound`` for another tenant's endpoint)."""
    endpoint = endpoint_get(tenant=tenant, endpoint_id=endpoint_id)
    return WebhookDelivery.objects.for_tenant(tenant).filter(endpoint=endpoint).order_by("-created_at", "-id")
