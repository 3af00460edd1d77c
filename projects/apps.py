from django.apps import AppConfig


class ProjectsConfig(AppConfig):
    name = "projects"

    def ready(self) -> None:
        from projects.export import summarize_projects, write_projects
        from projects.models import Project
        from tenants import export, lookups

        lookups.watch(Project)  # the served-version lookup holds the project's settings
        export.register(
            "projects",
            write_projects,
            description="each project's settings; its datasets, each file as uploaded with its data check report",
            summary=summarize_projects,
        )
