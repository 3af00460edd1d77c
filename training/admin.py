from django.contrib import admin

from training.models import ModelVersion, TrainingRun


@admin.register(TrainingRun)
class TrainingRunAdmin(admin.ModelAdmin):
    list_display = ["id", "tenant", "project", "status", "method", "base_model", "attempts", "worker", "created_at"]
    list_filter = ["status", "method", "base_model"]
    search_fields = ["id", "tenant__slug", "tenant__name", "project__name", "error_code"]
    list_select_related = ["tenant", "project"]
    readonly_fields = [f.name for f in TrainingRun._meta.fields]


@admin.register(ModelVersion)
class ModelVersionAdmin(admin.ModelAdmin):
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
