"""Operators' view of webhook endpoints and deliveries, read-only.

Operators see where a tenant's events go and how their deliveries fare (type, size, status, timing), never
what was sent or answered: a payload carries customers' data (an alert's example messages, say), and a
receiver's answer may too. The signing secrets are never shown.
"""

from __future__ import annotations

import json

from django.contrib import admin

from tenants.admin import ReadOnlyAdmin
from webhooks.models import WebhookDelivery, WebhookEndpoint


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(ReadOnlyAdmin):
    list_display = ["url", "tenant", "is_active", "consecutive_failures", "created_at"]
    list_filter = ["is_active"]
    search_fields = ["url", "tenant__name", "tenant__slug"]
    list_select_related = ["tenant"]
    # Named one by one, so that a new field (a secret, say) stays off this page until it is added here.
    fields = [
        "tenant",
        "url",
        "description",
        "events",
        "is_active",
        "disabled_reason",
        "consecutive_failures",
        "created_by",
        "created_at",
        "updated_at",
    ]


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(ReadOnlyAdmin):
    list_display = [
        "event_id",
        "event_type",
        "tenant",
        "status",
        "attempts",
        "last_status_code",
        "payload_size",
        "created_at",
        "delivered_at",
    ]
    list_filter = ["status", "event_type"]
    search_fields = ["event_id", "tenant__slug", "endpoint__url"]
    list_select_related = ["tenant"]
    fields = [
        "tenant",
        "endpoint",
        "event_id",
        "event_type",
        "payload_size",
        "status",
        "attempts",
        "last_status_code",
        "last_error",
        "response_size",
        "created_at",
        "enqueued_at",
        "next_attempt_at",
        "delivered_at",
    ]
    readonly_fields = ["payload_size", "response_size"]

    @admin.display(description="Payload")
    def payload_size(self, obj: WebhookDelivery) -> str:
        size = len(json.dumps(obj.payload, separators=(",", ":")).encode())
        return f"{size:,} bytes (not shown: it carries the tenant's data)"

    @admin.display(description="Response")
    def response_size(self, obj: WebhookDelivery) -> str:
        if not obj.response_excerpt:
            return "—"
        return f"{len(obj.response_excerpt):,} characters kept (not shown)"
