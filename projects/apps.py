from django.apps import AppConfig


class ProjectsConfig(AppConfig):
    name = "projects"

    def ready(self) -> None:
        from projects.models import Project
        from tenants import lookups

        lookups.watch(Project)  # the served-version lookup holds the project's settings
