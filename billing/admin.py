from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from billing.models import Plan, Subscription, UsageRecord


@admin.register(UsageRecord)
class UsageRecordAdmin(admin.ModelAdmin):
    list_display = ["created_at", "tenant", "kind", "quantity", "project", "sent_at"]
    list_filter = ["kind", ("sent_at", admin.EmptyFieldListFilter)]
    search_fields = ["tenant__slug", "tenant__name", "project__name"]
    list_select_related = ["tenant", "project"]
    date_hierarchy = "created_at"
    readonly_fields = [f.name for f in UsageRecord._meta.fields]


@admin.register(Plan)
class PlanAdmin(admin.ModelAdmin):
    """Operators edit plans here; a limit left empty falls back to its setting (see each field's help)."""

    list_display = [
        "name",
        "code",
        "is_default",
        "monthly_price_cents",
        "included_predictions",
        "included_training_minutes",
        "max_projects",
        "training_max_running",
        "gpu_queue",
    ]
    list_editable = ["monthly_price_cents", "included_predictions", "included_training_minutes"]
    search_fields = ["code", "name"]


@admin.register(Subscription)
class SubscriptionAdmin(admin.ModelAdmin):
    # Read-only until plan changes go through an audited service (with Stripe's checkout and webhooks).
    list_display = ["tenant", "plan", "status", "updated_at"]
    list_filter = ["plan", "status"]
    search_fields = ["tenant__slug", "tenant__name"]
    list_select_related = ["tenant", "plan"]
    readonly_fields = ["tenant", "plan", "status", "created_at", "updated_at"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
