from django.contrib import admin

from projects.models import Project


@admin.register(Project)
class ProjectAdmin(admin.ModelAdmin):
    list_display = ["name", "tenant", "use_case", "multi_label", "created_at"]
    list_filter = ["use_case", "multi_label"]
    search_fields = ["name", "tenant__name", "tenant__slug", "id"]
    list_select_related = ["tenant"]
    readonly_fields = ["id", "created_at", "updated_at"]
