from django.contrib import admin

from projects.models import Dataset, Project


@admin.register(Project)
class ProjectAdmin(admin.ModelAdmin):
    list_display = ["name", "tenant", "use_case", "multi_label", "created_at"]
    list_filter = ["use_case", "multi_label"]
    search_fields = ["name", "tenant__name", "tenant__slug", "id"]
    list_select_related = ["tenant"]
    readonly_fields = ["id", "created_at", "updated_at"]


@admin.register(Dataset)
class DatasetAdmin(admin.ModelAdmin):
    list_display = ["name", "version", "tenant", "project", "status", "rows_usable", "size_bytes", "created_at"]
    list_filter = ["status", "format"]
    search_fields = ["name", "id", "tenant__slug", "project__name"]
    list_select_related = ["tenant", "project"]
    readonly_fields = [f.name for f in Dataset._meta.fields]
