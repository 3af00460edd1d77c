from __future__ import annotations

from django.conf import settings
from django.db import models

from tenants.scoping import TenantOwnedModel


class BatchStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"


class BatchPrediction(TenantOwnedModel):
    """A file of texts predicted by a worker; the results CSV is stored beside the input."""

    project = models.ForeignKey("projects.Project", on_delete=models.CASCADE, related_name="batch_predictions")
    # The version deployed when the job was created: a deploy during the job does not mix versions.
    model_version = models.ForeignKey("training.ModelVersion", null=True, on_delete=models.SET_NULL, related_name="+")
    dataset = models.ForeignKey("projects.Dataset", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    status = models.CharField(max_length=10, choices=BatchStatus.choices, default=BatchStatus.QUEUED)
    name = models.CharField(max_length=255, help_text="The input file's name.")
    input_file = models.CharField(max_length=500)
    size_bytes = models.BigIntegerField()
    format = models.CharField(max_length=12)
    text_column = models.CharField(max_length=200)
    rows_done = models.PositiveIntegerField(default=0)
    rows_predicted = models.PositiveIntegerField(default=0)
    rows_failed = models.PositiveIntegerField(default=0, help_text="Rows without a text to predict.")
    progress = models.FloatField(default=0.0, help_text="Share of the input read, 0 to 1.")
    result_file = models.CharField(max_length=500, blank=True)
    error_code = models.CharField(max_length=40, blank=True)
    error_message = models.TextField(blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    api_key = models.ForeignKey("tenants.ApiKey", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta(TenantOwnedModel.Meta):
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["tenant", "project", "-created_at"], name="batch_project_recent")]

    def __str__(self) -> str:
        return f"Batch prediction {self.pk} ({self.status})"

    @property
    def is_finished(self) -> bool:
        return self.status in (BatchStatus.SUCCEEDED, BatchStatus.FAILED)
