from django.apps import AppConfig


class InferenceConfig(AppConfig):
    name = "inference"

    def ready(self) -> None:
        # Serving sits above training and projects: it hooks into them here, they never import it.
        from inference import loading
        from inference.export import summarize_monitors, write_monitors
        from inference.views.overview_section import overview_section
        from inference.views.project_page import project_page_section
        from projects.views.overview import add_overview_section
        from projects.views.projects import add_project_page_section
        from tenants import export
        from training import signals

        signals.model_deployed.connect(loading.on_model_deployed, dispatch_uid="inference.warm_up_on_deploy")
        signals.artifact_trained.connect(loading.on_artifact_trained, dispatch_uid="inference.serving_precision")
        add_project_page_section(project_page_section)
        add_overview_section(overview_section)
        export.register(
            "monitors", write_monitors, description="monitors and their alert rules", summary=summarize_monitors
        )
