"""Operators look at projects and datasets here; they change them only through the product (read-only)."""

from django.contrib import admin

from projects.models import Dataset, Project
from tenants.admin import ReadOnlyAdmin


@admin.register(Project)
class ProjectAdmin(ReadOnlyAdmin):
    list_display = ["name", "tenant", "use_case", "multi_label", "created_at"]
    list_filter = ["use_case", "multi_label"]
    search_fields = ["name", "tenant__name", "tenant__slug", "id"]
    list_select_related = ["tenant"]
    readonly_fields = [f.name for f in Project._meta.fields]


@admin.register(Dataset)
class DatasetAdmin(ReadOnlyAdmin):
    list_display = ["name", "version", "tenant", "project", "status", "rows_usable", "size_bytes", "created_at"]
    list_filter = ["status", "format"]
    search_fields = ["name", "id", "tenant__slug", "project__name"]
    list_select_related = ["tenant", "project"]
    readonly_fields = [f.name for f in Dataset._meta.fields]
