from django.apps import AppConfig


class TenantsConfig(AppConfig):
    name = "tenants"
    verbose_name = "Tenants and accounts"

    def ready(self) -> None:
        from django.db.models.signals import post_delete, post_save

        from tenants import (
            checks,  # noqa: F401  (registers the system checks)
            lookups,
        )
        from tenants.api import schema  # noqa: F401  (registers the OpenAPI description of API keys)
        from tenants.models import ApiKey, Tenant

        lookups.watch(ApiKey, Tenant)

        post_save.connect(lookups.on_row_change, dispatch_uid="tenants.lookups.save")
        post_delete.connect(lookups.on_row_change, dispatch_uid="tenants.lookups.delete")
