from __future__ import annotations

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F
from django.db.models.functions import Lower

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
    review_low_confidence = models.BooleanField(
        default=True, help_text="Keep predictions under the confidence threshold for review (their texts are stored)."
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta(TenantOwnedModel.Meta):
        ordering = ["name"]
        constraints = [
            # Case-insensitive: "Intents" and "intents" side by side would only confuse.
            models.UniqueConstraint(F("tenant"), Lower("name"), name="project_unique_name_per_tenant"),
        ]

    def __str__(self) -> str:
        return self.name


class DatasetStatus(models.TextChoices):
    CHECKING = "checking", "Checking"
    READY = "ready", "Ready"
    INVALID = "invalid", "Invalid"


class Dataset(TenantOwnedModel):
    """An uploaded file of labeled texts and its data check. Immutable once checked: fixes make a new one."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="datasets")
    name = models.CharField(max_length=255, help_text="The uploaded file's name.")
    version = models.PositiveIntegerField(default=1)
    parent = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="children",
        help_text="The dataset this one was made from (its fixes applied, or reviewed texts added to it).",
    )
    provenance = models.CharField(
        max_length=300, blank=True, help_text="How this dataset was made, when not uploaded or fixed as it is."
    )
    status = models.CharField(max_length=10, choices=DatasetStatus.choices, default=DatasetStatus.CHECKING)
    file = models.CharField(max_length=500, help_text="Path of the stored file in the default storage.")
    size_bytes = models.BigIntegerField()
    sha256 = models.CharField(max_length=64)
    format = models.CharField(max_length=12, blank=True)
    encoding = models.CharField(max_length=20, blank=True)
    text_column = models.CharField(max_length=200, blank=True)
    label_column = models.CharField(max_length=200, blank=True)
    multi_label = models.BooleanField(default=False)
    rows_read = models.PositiveIntegerField(default=0)
    rows_usable = models.PositiveIntegerField(default=0)
    label_count = models.PositiveIntegerField(default=0)
    progress = models.FloatField(default=0.0, help_text="Share of the file checked, 0 to 1.")
    report = models.JSONField(default=dict, blank=True)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    checked_at = models.DateTimeField(null=True, blank=True)

    class Meta(TenantOwnedModel.Meta):
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["tenant", "project", "sha256"], name="dataset_same_file")]

    def __str__(self) -> str:
        return f"{self.name} v{self.version}"
