from django.apps import AppConfig


class TrainingConfig(AppConfig):
    name = "training"

    def ready(self) -> None:
        from projects.services.dataset_checks import set_token_counter
        from tenants import export, lookups
        from training.export import summarize_training, write_training
        from training.models import ModelVersion
        from training.services import default_token_counter

        lookups.watch(ModelVersion)  # a deploy or rollback changes the served version
        set_token_counter(default_token_counter)  # the data check measures texts with the default base model
        export.register(
            "training",
            write_training,
            description="training runs (hyperparameters, history, status); model versions' metrics, labels,"
            " thresholds and parity (not the weights)",
            summary=summarize_training,
        )
