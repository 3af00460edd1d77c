from django.apps import AppConfig


class TrainingConfig(AppConfig):
    name = "training"

    def ready(self) -> None:
        from projects.services.dataset_checks import set_token_counter
        from tenants import lookups
        from training.models import ModelVersion
        from training.services import default_token_counter

        lookups.watch(ModelVersion)  # a deploy or rollback changes the served version
        set_token_counter(default_token_counter)  # the data check measures texts with the default base model
