from __future__ import annotations

from django.db import models
from django.db.models import Q

from tenants.scoping import TenantOwnedModel


class Plan(models.Model):
    """What a tenant pays for and may do. Operators edit plans in the admin; a data migration seeds Free,
    Pro and Scale. A limit left empty falls back to its setting (``LIMIT_SETTINGS``)."""

    code = models.SlugField(max_length=40, unique=True)
    name = models.CharField(max_length=80)
    is_default = models.BooleanField(
        default=False, help_text="The plan of a tenant without a subscription of its own (one plan at most)."
    )
    monthly_price_cents = models.PositiveIntegerField(default=0, help_text="The plan's base price per month.")
    included_predictions = models.PositiveIntegerField(default=0, help_text="Texts predicted per month.")
    included_training_minutes = models.PositiveIntegerField(default=0, help_text="Worker minutes of training a month.")
    prediction_overage_cents_per_1000 = models.PositiveIntegerField(
        null=True, blank=True, help_text="Price of 1,000 predictions past the included ones; empty: no overage."
    )
    training_overage_cents_per_minute = models.PositiveIntegerField(
        null=True, blank=True, help_text="Price of a training minute past the included ones; empty: no overage."
    )
    max_projects = models.PositiveIntegerField(null=True, blank=True, help_text="Empty: no limit.")
    gpu_queue = models.BooleanField(default=False, help_text="Training may run on the GPU workers.")
    predict_rate_per_key = models.PositiveIntegerField(
        null=True, blank=True, help_text="Predictions a minute per API key (0: none); empty: PREDICT_RATE_PER_KEY."
    )
    predict_rate_per_tenant = models.PositiveIntegerField(
        null=True, blank=True, help_text="Predictions a minute per tenant (0: none); empty: PREDICT_RATE_PER_TENANT."
    )
    training_max_running = models.PositiveIntegerField(
        null=True, blank=True, help_text="Training runs at once per tenant; empty: TRAINING_MAX_RUNNING_PER_TENANT."
    )

    class Meta:
        ordering = ["monthly_price_cents", "code"]
        constraints = [
            models.UniqueConstraint(fields=["is_default"], condition=Q(is_default=True), name="plan_one_default"),
        ]

    def __str__(self) -> str:
        return self.name


# The plan limits that used to be settings alone, and the setting each falls back to when left empty.
LIMIT_SETTINGS = {
    "predict_rate_per_key": "PREDICT_RATE_PER_KEY",
    "predict_rate_per_tenant": "PREDICT_RATE_PER_TENANT",
    "training_max_running": "TRAINING_MAX_RUNNING_PER_TENANT",
}


class SubscriptionStatus(models.TextChoices):
    ACTIVE = "active", "Active"
    PAST_DUE = "past_due", "Past due"


class Subscription(TenantOwnedModel):
    """A tenant's current plan: one row per tenant, created with the tenant on the default plan."""

    plan = models.ForeignKey(Plan, on_delete=models.PROTECT, related_name="subscriptions")
    status = models.CharField(max_length=10, choices=SubscriptionStatus.choices, default=SubscriptionStatus.ACTIVE)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta(TenantOwnedModel.Meta):
        constraints = [models.UniqueConstraint(fields=["tenant"], name="subscription_one_per_tenant")]

    def __str__(self) -> str:
        return f"{self.plan} ({self.status})"


class UsageKind(models.TextChoices):
    PREDICTION = "prediction", "Texts predicted"


class UsageRecord(TenantOwnedModel):
    """One billable event, written in the same transaction as the work it bills.

    ``sent_at`` is set once the record reached Stripe as a meter event (its id is the event's
    idempotency identifier), so a push that fails midway is retried without doubling any unit.
    """

    kind = models.CharField(max_length=20, choices=UsageKind.choices)
    quantity = models.PositiveIntegerField()
    project = models.ForeignKey("projects.Project", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    model_version = models.ForeignKey(
        "training.ModelVersion", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    api_key = models.ForeignKey("tenants.ApiKey", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta(TenantOwnedModel.Meta):
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["tenant", "kind", "created_at"], name="usage_tenant_period"),
            models.Index(fields=["created_at"], condition=Q(sent_at__isnull=True), name="usage_unsent"),
        ]

    def __str__(self) -> str:
        return f"{self.quantity} x {self.kind}"
