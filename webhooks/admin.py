"""Operators' view of webhook endpoints and deliveries; the signing secret is never shown."""

from __future__ import annotations

from django.contrib import admin

from webhooks.models import WebhookDelivery, WebhookEndpoint


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(admin.ModelAdmin):
    list_display = ["url", "tenant", "is_active", "consecutive_failures", "created_at"]
    list_filter = ["is_active"]
    search_fields = ["url", "tenant__name", "tenant__slug"]
    list_select_related = ["tenant"]
    exclude = ["secret"]  # the tenant's signing secret: not for operators' screens
    readonly_fields = ["tenant", "created_by", "consecutive_failures"]


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(admin.ModelAdmin):
    list_display = ["event_id", "event_type", "tenant", "status", "attempts", "last_status_code", "created_at"]
    list_filter = ["status", "event_type"]
    search_fields = ["event_id", "tenant__slug", "endpoint__url"]
    list_select_related = ["tenant"]
    readonly_fields = [
        "tenant",
        "endpoint",
        "event_id",
        "event_type",
        "payload",
        "attempts",
        "last_status_code",
        "last_error",
        "response_excerpt",
        "delivered_at",
    ]
