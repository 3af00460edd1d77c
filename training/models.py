from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q

from tenants.scoping import TenantOwnedModel


class RunStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"
    CANCELLED = "cancelled", "Cancelled"


FINISHED = (RunStatus.SUCCEEDED, RunStatus.FAILED, RunStatus.CANCELLED)


class Method(models.TextChoices):
    FULL = "full", "Full fine-tuning"
    LORA = "lora", "LoRA adapter"
    ADALORA = "adalora", "AdaLoRA adapter"


class TrainingRun(TenantOwnedModel):
    """One fine-tuning of a project's dataset. The database is the queue: runs wait here until the
    dispatcher hands them to a worker, fairly between tenants and within each tenant's cap."""

    project = models.ForeignKey("projects.Project", on_delete=models.CASCADE, related_name="training_runs")
    dataset = models.ForeignKey("projects.Dataset", null=True, on_delete=models.SET_NULL, related_name="+")
    status = models.CharField(max_length=10, choices=RunStatus.choices, default=RunStatus.QUEUED)
    base_model = models.CharField(max_length=100)
    method = models.CharField(max_length=10, choices=Method.choices, default=Method.FULL)
    hyperparameters = models.JSONField(default=dict, help_text="What was asked for; defaults fill the rest.")
    # Live state, written by the worker at most every few seconds.
    progress = models.JSONField(default=dict, blank=True)
    history = models.JSONField(default=list, blank=True, help_text="Per-epoch loss and validation metrics.")
    metrics = models.JSONField(default=dict, blank=True)
    error_code = models.CharField(max_length=40, blank=True)
    error_message = models.TextField(blank=True)
    cancel_requested = models.BooleanField(default=False)
    attempts = models.PositiveSmallIntegerField(default=0)
    # A new id each time the run is handed to a worker: a stale redelivery of an older hand-over
    # cannot claim the run (its id no longer matches).
    dispatch_id = models.UUIDField(null=True, blank=True)
    dispatched_at = models.DateTimeField(null=True, blank=True)
    worker = models.CharField(max_length=200, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta(TenantOwnedModel.Meta):
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["status", "created_at"], name="run_status_queue"),
            models.Index(fields=["tenant", "project", "-created_at"], name="run_project_recent"),
        ]

    def __str__(self) -> str:
        return f"Training run {self.pk} ({self.status})"

    @property
    def is_finished(self) -> bool:
        return self.status in FINISHED


class ModelVersion(TenantOwnedModel):
    """A trained model's artifacts and evaluation. A project serves at most one active version."""

    project = models.ForeignKey("projects.Project", on_delete=models.CASCADE, related_name="model_versions")
    training_run = models.OneToOneField(TrainingRun, null=True, on_delete=models.SET_NULL, related_name="model_version")
    version = models.PositiveIntegerField()
    base_model = models.CharField(max_length=100)
    method = models.CharField(max_length=10, choices=Method.choices)
    multi_label = models.BooleanField(default=False)
    artifact_path = models.CharField(max_length=500, help_text="Storage folder of the model's files.")
    size_bytes = models.BigIntegerField(default=0)
    label_names = models.JSONField(default=list)
    thresholds = models.JSONField(default=dict, blank=True)
    metrics = models.JSONField(default=dict, blank=True)
    is_active = models.BooleanField(default=False)
    deployed_at = models.DateTimeField(null=True, blank=True)
    # Decided once, when the version is stored: the fast path serves only where it answers like fp32.
    serving_precision = models.CharField(max_length=4, default="fp32", help_text="bf16 or fp32.")
    parity = models.JSONField(default=dict, blank=True, help_text="The fast path checked against fp32.")

    class Meta(TenantOwnedModel.Meta):
        ordering = ["-version"]
        constraints = [
            models.UniqueConstraint(fields=["project", "version"], name="model_version_unique_number"),
            models.UniqueConstraint(fields=["project"], condition=Q(is_active=True), name="model_one_active"),
        ]

    def __str__(self) -> str:
        return f"v{self.version}"


def new_dispatch_id() -> uuid.UUID:
    return uuid.uuid4()
