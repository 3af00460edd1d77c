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
    """A tenant's current plan: one row per tenant, created with the tenant on the default plan.

    A paid plan is a Stripe subscription: Stripe's webhooks set ``plan``, ``status`` and the period here
    (``stripe_state_at`` keeps the time of the newest Stripe state applied, so an older event arriving
    late changes nothing). A past-due subscription keeps its plan until ``grace_until``, then gets the
    default plan's limits until a payment goes through.
    """

    plan = models.ForeignKey(Plan, on_delete=models.PROTECT, related_name="subscriptions")
    status = models.CharField(max_length=10, choices=SubscriptionStatus.choices, default=SubscriptionStatus.ACTIVE)
    updated_at = models.DateTimeField(auto_now=True)
    stripe_customer_id = models.CharField(max_length=255, blank=True, db_index=True)
    stripe_subscription_id = models.CharField(max_length=255, blank=True)
    stripe_status = models.CharField(max_length=40, blank=True, help_text="The subscription's status at Stripe.")
    stripe_state_at = models.DateTimeField(
        null=True, blank=True, help_text="When Stripe created the newest event applied here."
    )
    current_period_start = models.DateTimeField(null=True, blank=True, help_text="Empty: calendar months (UTC).")
    current_period_end = models.DateTimeField(null=True, blank=True)
    past_due_since = models.DateTimeField(null=True, blank=True)
    grace_until = models.DateTimeField(
        null=True, blank=True, help_text="A past-due subscription keeps its plan until then, then gets Free limits."
    )
    spend_cap_cents = models.PositiveIntegerField(
        null=True, blank=True, help_text="Stop billable work when the period's estimated bill reaches this."
    )
    credit_cents = models.PositiveIntegerField(default=0, help_text="Credit granted by operators, off the next bill.")

    class Meta(TenantOwnedModel.Meta):
        constraints = [models.UniqueConstraint(fields=["tenant"], name="subscription_one_per_tenant")]

    def __str__(self) -> str:
        return f"{self.plan} ({self.status})"


class UsageKind(models.TextChoices):
    """The meters: what a plan includes and prices, and what Stripe counts (one Billing Meter each)."""

    PREDICTION = "prediction", "Texts predicted"
    TRAINING_SECONDS = "training_seconds", "Training compute seconds"


class UsageSource(models.TextChoices):
    """Which work wrote a record (several feed the same meter: batch rows and monitor events are predictions)."""

    API = "api", "Predict API"
    MONITOR = "monitor", "Monitor events"
    BATCH = "batch", "Batch predictions"
    TRAINING = "training", "Training runs"


class MeterPush(TenantOwnedModel):
    """One meter event to Stripe: the unsent records of a tenant, meter and day, summed.

    Its records point at it before anything is sent, and its ``identifier`` never changes, so sending it
    again after an error, or after a crash between Stripe's answer and ``sent_at``, is deduplicated by
    Stripe: every unit arrives exactly once.
    """

    kind = models.CharField(max_length=20, choices=UsageKind.choices)
    day = models.DateField(help_text="The UTC day of its records; the event's timestamp is within it.")
    timestamp = models.DateTimeField(help_text="The time sent as the meter event's timestamp.")
    quantity = models.PositiveBigIntegerField()
    stripe_customer_id = models.CharField(max_length=255)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta(TenantOwnedModel.Meta):
        verbose_name = "usage sent to Stripe"
        verbose_name_plural = "usage sent to Stripe"
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["next_attempt_at"], condition=Q(sent_at__isnull=True), name="push_unsent")]

    def __str__(self) -> str:
        return f"{self.quantity} x {self.kind} on {self.day}"

    @property
    def identifier(self) -> str:
        return f"tunebase-{self.pk}"


class UsageRecord(TenantOwnedModel):
    """One billable event, written in the same transaction as the work it bills.

    ``push`` is the meter event that carries it to Stripe, and ``sent_at`` is set once Stripe took that
    event; records of a tenant with no Stripe customer (never on a paid plan) are settled without a
    push. A push that fails midway is retried with the same identifier, so no unit is doubled or lost.
    """

    kind = models.CharField(max_length=20, choices=UsageKind.choices)
    source = models.CharField(max_length=10, choices=UsageSource.choices, default=UsageSource.API)
    quantity = models.PositiveIntegerField()
    project = models.ForeignKey("projects.Project", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    model_version = models.ForeignKey(
        "training.ModelVersion", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    api_key = models.ForeignKey("tenants.ApiKey", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    # Most records have neither: partial indexes (below) leave a prediction's insert without their upkeep.
    training_run = models.ForeignKey(
        "training.TrainingRun", null=True, blank=True, on_delete=models.SET_NULL, related_name="+", db_index=False
    )
    push = models.ForeignKey(
        MeterPush, null=True, blank=True, on_delete=models.PROTECT, related_name="records", db_index=False
    )
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta(TenantOwnedModel.Meta):
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["tenant", "kind", "created_at"], name="usage_tenant_period"),
            models.Index(fields=["created_at"], condition=Q(sent_at__isnull=True), name="usage_unsent"),
            models.Index(fields=["push"], condition=Q(push__isnull=False), name="usage_push"),
            models.Index(fields=["training_run"], condition=Q(training_run__isnull=False), name="usage_training_run"),
        ]

    def __str__(self) -> str:
        return f"{self.quantity} x {self.kind}"


class QuotaCounter(TenantOwnedModel):
    """A tenant's use of a meter in one billing period, kept in the transaction of every usage record.

    Quotas are enforced on it with one conditional update (``used + n <= limit``), so concurrent
    requests at the edge of a quota cannot both pass.
    """

    kind = models.CharField(max_length=20, choices=UsageKind.choices)
    period_start = models.DateTimeField()
    used = models.PositiveBigIntegerField(default=0)

    class Meta(TenantOwnedModel.Meta):
        verbose_name = "usage per period"
        verbose_name_plural = "usage per period"
        constraints = [
            models.UniqueConstraint(fields=["tenant", "kind", "period_start"], name="quota_counter_one_per_period")
        ]

    def __str__(self) -> str:
        return f"{self.used} x {self.kind} since {self.period_start:%Y-%m-%d}"


class ThresholdMeter(models.TextChoices):
    PREDICTION = "prediction", "Texts predicted"
    TRAINING_SECONDS = "training_seconds", "Training compute seconds"
    SPEND = "spend", "Spend cap"


class ThresholdNotice(TenantOwnedModel):
    """A warning sent (email, webhook event, banner) that a meter reached 80 % or 100 % of its limit in a
    period: one row each, so each warning goes out once."""

    meter = models.CharField(max_length=20, choices=ThresholdMeter.choices)
    level = models.PositiveSmallIntegerField(help_text="Percent of the limit: 80 or 100.")
    period_start = models.DateTimeField()
    used = models.PositiveBigIntegerField()
    limit = models.PositiveBigIntegerField()

    class Meta(TenantOwnedModel.Meta):
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "meter", "level", "period_start"], name="threshold_once")
        ]

    def __str__(self) -> str:
        return f"{self.meter} at {self.level} %"


class Reconciliation(TenantOwnedModel):
    """Our total of a tenant's meter on one UTC day against Stripe's meter event summary for it."""

    kind = models.CharField(max_length=20, choices=UsageKind.choices)
    day = models.DateField()
    ours = models.PositiveBigIntegerField(help_text="Units sent to Stripe for this day.")
    stripes = models.BigIntegerField(null=True, blank=True, help_text="Stripe's aggregated value; empty: unknown.")
    drift = models.BigIntegerField(default=0, help_text="Stripe's minus ours.")
    checked_at = models.DateTimeField(auto_now=True)

    class Meta(TenantOwnedModel.Meta):
        ordering = ["-day"]
        constraints = [models.UniqueConstraint(fields=["tenant", "kind", "day"], name="reconciliation_once")]

    def __str__(self) -> str:
        return f"{self.kind} on {self.day}: drift {self.drift}"


class StripeEvent(models.Model):
    """A webhook event from Stripe, stored by its id before it is processed: a duplicate delivery finds the
    row and is acknowledged without being processed again."""

    id = models.CharField(max_length=255, primary_key=True)
    type = models.CharField(max_length=100)
    created = models.DateTimeField(help_text="When Stripe created the event.")
    payload = models.JSONField()
    received_at = models.DateTimeField(auto_now_add=True)
    processed_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)
    tenant = models.ForeignKey("tenants.Tenant", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        ordering = ["-created"]

    def __str__(self) -> str:
        return f"{self.type} {self.id}"
