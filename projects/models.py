from __future__ import annotations

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models

from tenants.scoping import TenantOwnedModel


class UseCase(models.TextChoices):
    CUSTOMER_SERVICE = "customer_service", "Customer-service intents"
    RECOMMENDATION = "recommendation", "Recommendation interests"
    MONITORING = "monitoring", "Sentiment monitoring"


class Project(TenantOwnedModel):
    """One classifier a tenant trains and serves: its data, runs and model versions hang off it."""

    name = models.CharField(max_length=100)
    description = models.TextField(blank=True)
    use_case = models.CharField(max_length=20, choices=UseCase.choices, default=UseCase.CUSTOMER_SERVICE)
    multi_label = models.BooleanField(default=False)
    confidence_threshold = models.FloatField(
        default=0.5,
        validators=[MinValueValidator(0.0), MaxValueValidator(1.0)],
        help_text="Customer service: predictions scoring below this are marked needs_human.",
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta(TenantOwnedModel.Meta):
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["tenant", "name"], name="project_unique_name_per_tenant")]

    def __str__(self) -> str:
        return self.name
