"""Operators' view of serving: batch jobs, monitors, alerts and feedback, read-only and without customers'
texts. A monitor or a job belongs to its tenant's project: only the tenant changes it."""

from django.contrib import admin

from inference.models import Alert, BatchPrediction, Feedback, Monitor
from tenants.admin import ReadOnlyAdmin


@admin.register(BatchPrediction)
class BatchPredictionAdmin(ReadOnlyAdmin):
    list_display = ["id", "tenant", "project", "status", "rows_done", "rows_failed", "created_at"]
    list_filter = ["status"]
    search_fields = ["id", "tenant__slug", "project__name", "name"]
    list_select_related = ["tenant", "project"]
    readonly_fields = [f.name for f in BatchPrediction._meta.fields]


@admin.register(Monitor)
class MonitorAdmin(ReadOnlyAdmin):
    list_display = ["name", "tenant", "project", "is_active", "created_at"]
    list_filter = ["is_active"]
    search_fields = ["name", "tenant__slug", "project__name"]
    list_select_related = ["tenant", "project"]
    fields = ["tenant", "project", "name", "is_active", "created_at"]


@admin.register(Alert)
class AlertAdmin(ReadOnlyAdmin):
    list_display = ["window_end", "tenant", "monitor", "label", "share", "total", "resolved_at"]
    search_fields = ["tenant__slug", "monitor__name", "label"]
    list_select_related = ["tenant", "monitor"]
    # The examples are customers' texts: operators see the counts, not the texts.
    exclude = ["examples"]
    readonly_fields = ["monitor", "rule", "label", "window_start", "window_end", "matching", "total", "share"]


@admin.register(Feedback)
class FeedbackAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "tenant", "project", "source", "status"]
    list_filter = ["source", "status"]
    search_fields = ["tenant__slug", "project__name"]
    list_select_related = ["tenant", "project"]
    exclude = ["text"]  # customers' texts stay out of the operators' view
    readonly_fields = ["project", "labels", "predicted_label", "score", "source", "status", "model_version", "dataset"]
