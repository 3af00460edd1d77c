from django.apps import AppConfig


class TrainingConfig(AppConfig):
    name = "training"

    def ready(self) -> None:
        from projects.services.dataset_checks import set_split_rule, set_token_counter
        from projects.views.projects import add_project_page_section
        from tenants import export, lookups
        from training.engine.data import split_sizes
        from training.export import summarize_training, write_training
        from training.models import ModelVersion
        from training.services import default_token_counter
        from training.views.project_page import project_page_section

        lookups.watch(ModelVersion)  # a deploy or rollback changes the served version
        set_token_counter(default_token_counter)  # the data check measures texts with the default base model
        set_split_rule(split_sizes)  # and states the split training will make
        add_project_page_section(project_page_section)  # the first-steps checklist: trained, deployed
        export.register(
            "training",
            write_training,
            description="training runs (hyperparameters, history, status); model versions' metrics, labels,"
            " thresholds and parity (not the weights)",
            summary=summarize_training,
        )
