from django.apps import AppConfig


class TenantsConfig(AppConfig):
    name = "tenants"
    verbose_name = "Tenants and accounts"

    def ready(self) -> None:
        from tenants import checks  # noqa: F401  (registers the system checks)
        from tenants.api import schema  # noqa: F401  (registers the OpenAPI description of API keys)
