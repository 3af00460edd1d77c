"""Operators look at training runs and model versions here; they change them only through the product (read-only)."""

from django.contrib import admin

from tenants.admin import ReadOnlyAdmin
from training.models import ModelVersion, TrainingRun


@admin.register(TrainingRun)
class TrainingRunAdmin(ReadOnlyAdmin):
    list_display = ["id", "tenant", "project", "status", "method", "base_model", "attempts", "worker", "created_at"]
    list_filter = ["status", "method", "base_model"]
    search_fields = ["id", "tenant__slug", "tenant__name", "project__name", "error_code"]
    list_select_related = ["tenant", "project"]
    readonly_fields = [f.name for f in TrainingRun._meta.fields]


@admin.register(ModelVersion)
class ModelVersionAdmin(ReadOnlyAdmin):
    list_display = [
        "__str__",
        "tenant",
        "project",
        "method",
        "serving_precision",
        "is_active",
        "size_bytes",
        "created_at",
    ]
    list_filter = ["is_active", "method", "serving_precision"]
    search_fields = ["id", "tenant__slug", "project__name"]
    list_select_related = ["tenant", "project"]
    readonly_fields = [f.name for f in ModelVersion._meta.fields]
