from __future__ import annotations

from django.db import models
from django.db.models import Q

from tenants.scoping import TenantOwnedModel


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
