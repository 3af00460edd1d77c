from typing import Any

from django.apps import AppConfig


class BillingConfig(AppConfig):
    name = "billing"

    def ready(self) -> None:
        from django.db.models.signals import post_delete, post_save

        from billing.export import summarize_usage, write_usage
        from billing.models import Plan, Subscription
        from billing.services.subscriptions import on_tenant_created, on_tenant_deleting
        from tenants import export, lookups, signals

        lookups.watch(Plan, Subscription)  # a tenant's limits are cached with its plan
        export.register(
            "usage",
            write_usage,
            description="usage records as a CSV (date, kind, source, quantity, project)",
            summary=summarize_usage,
        )
        signals.tenant_created.connect(on_tenant_created, dispatch_uid="billing.subscription_start")
        signals.tenant_deleting.connect(on_tenant_deleting, dispatch_uid="billing.subscription_cancel")
        # A changed plan or subscription may change what is limited: the quota counters start again from
        # the usage records (billing.services.usage).
        for model in (Plan, Subscription):
            post_save.connect(_limits_changed, sender=model, dispatch_uid=f"billing.counters_reset.{model.__name__}")
            post_delete.connect(_limits_changed, sender=model, dispatch_uid=f"billing.counters_reset.d{model.__name__}")


def _limits_changed(sender: Any, instance: Any, **kwargs: Any) -> None:
    from billing.models import Subscription
    from billing.services.usage import counters_reset

    counters_reset(tenant_ids=[instance.tenant_id] if isinstance(instance, Subscription) else None)
