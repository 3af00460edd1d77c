from django.apps import AppConfig


class BillingConfig(AppConfig):
    name = "billing"

    def ready(self) -> None:
        from billing.models import Plan, Subscription
        from billing.services.subscriptions import on_tenant_created
        from tenants import lookups, signals

        lookups.watch(Plan, Subscription)  # a tenant's limits are cached with its plan
        signals.tenant_created.connect(on_tenant_created, dispatch_uid="billing.subscription_start")
