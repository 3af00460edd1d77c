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


class Monitor(TenantOwnedModel):
    """A stream of texts (mentions, reviews, tickets) classified by a project's model and watched by rules."""

    project = models.ForeignKey("projects.Project", on_delete=models.CASCADE, related_name="monitors")
    name = models.CharField(max_length=100)
    is_active = models.BooleanField(default=True)

    class Meta(TenantOwnedModel.Meta):
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["tenant", "name"], name="monitor_unique_name")]

    def __str__(self) -> str:
        return self.name


class MonitorEvent(TenantOwnedModel):
    """One text posted to a monitor, with what the model said of it. Kept for MONITOR_EVENT_RETENTION_DAYS."""

    monitor = models.ForeignKey(Monitor, on_delete=models.CASCADE, related_name="events")
    model_version = models.ForeignKey("training.ModelVersion", null=True, on_delete=models.SET_NULL, related_name="+")
    occurred_at = models.DateTimeField(help_text="When it happened (given, or when it was posted).")
    text = models.TextField()
    source = models.CharField(max_length=100, blank=True)
    metadata = models.JSONField(default=dict, blank=True)
    label = models.CharField(max_length=200, help_text="The most likely label.")
    score = models.FloatField()
    # "|a|b|": the labels counted for rules (above threshold for multi-label; the label itself otherwise),
    # matched with LIKE "%|a|%" on every database.
    labels_text = models.TextField()

    class Meta(TenantOwnedModel.Meta):
        ordering = ["-occurred_at"]
        indexes = [models.Index(fields=["monitor", "occurred_at"], name="monitor_event_time")]

    def __str__(self) -> str:
        return f"{self.label} at {self.occurred_at:%Y-%m-%d %H:%M}"


class RuleKind(models.TextChoices):
    SHARE_ABOVE = "share_above", "Label share above a threshold"
    CHANGE_VS_BASELINE = "change_vs_baseline", "Label share up against the baseline"


class AlertRule(TenantOwnedModel):
    """Fires when a label's share over a sliding window passes the threshold (once, until it clears)."""

    monitor = models.ForeignKey(Monitor, on_delete=models.CASCADE, related_name="rules")
    name = models.CharField(max_length=100, blank=True)
    kind = models.CharField(max_length=20, choices=RuleKind.choices, default=RuleKind.SHARE_ABOVE)
    label = models.CharField(max_length=200)
    threshold = models.FloatField(help_text="share_above: the share (0.4 = 40 %); change: the rise in share.")
    min_events = models.PositiveIntegerField(default=20, help_text="Events the window needs before it can fire.")
    window_minutes = models.PositiveIntegerField(default=60)
    baseline_minutes = models.PositiveIntegerField(default=24 * 60, help_text="change: the period before the window.")
    is_active = models.BooleanField(default=True)
    firing = models.BooleanField(default=False, help_text="The condition holds now; no new alert until it clears.")
    last_evaluated_at = models.DateTimeField(null=True, blank=True)

    class Meta(TenantOwnedModel.Meta):
        ordering = ["created_at"]

    def __str__(self) -> str:
        return self.name or f"{self.label} {self.kind} {self.threshold}"


class Alert(TenantOwnedModel):
    """A rule that fired, with its evidence: the window, the counts and a few of the texts."""

    monitor = models.ForeignKey(Monitor, on_delete=models.CASCADE, related_name="alerts")
    rule = models.ForeignKey(AlertRule, null=True, on_delete=models.SET_NULL, related_name="alerts")
    label = models.CharField(max_length=200)
    window_start = models.DateTimeField()
    window_end = models.DateTimeField()
    matching = models.PositiveIntegerField()
    total = models.PositiveIntegerField()
    share = models.FloatField()
    baseline_share = models.FloatField(null=True, blank=True)
    examples = models.JSONField(default=list, blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)

    class Meta(TenantOwnedModel.Meta):
        ordering = ["-window_end"]
        indexes = [models.Index(fields=["monitor", "-window_end"], name="alert_monitor_recent")]

    def __str__(self) -> str:
        return f"{self.label} {self.share:.0%} of {self.total}"


class FeedbackSource(models.TextChoices):
    API = "api", "Sent over the API"
    LOW_CONFIDENCE = "low_confidence", "A prediction under the confidence threshold"
    DASHBOARD = "dashboard", "Entered in the dashboard"


class FeedbackStatus(models.TextChoices):
    PENDING = "pending", "To review"
    ACCEPTED = "accepted", "Accepted"
    REJECTED = "rejected", "Rejected"


class Feedback(TenantOwnedModel):
    """A text with its correct labels (or, pending review, a prediction the model was unsure of)."""

    project = models.ForeignKey("projects.Project", on_delete=models.CASCADE, related_name="feedback")
    text = models.TextField()
    labels = models.JSONField(default=list, blank=True, help_text="The correct labels; empty until reviewed.")
    predicted_label = models.CharField(max_length=200, blank=True)
    score = models.FloatField(null=True, blank=True)
    model_version = models.ForeignKey("training.ModelVersion", null=True, on_delete=models.SET_NULL, related_name="+")
    source = models.CharField(max_length=20, choices=FeedbackSource.choices)
    status = models.CharField(max_length=10, choices=FeedbackStatus.choices, default=FeedbackStatus.PENDING)
    api_key = models.ForeignKey("tenants.ApiKey", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reviewed_at = models.DateTimeField(null=True, blank=True)
    dataset = models.ForeignKey(
        "projects.Dataset",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="The training dataset it was added to.",
    )

    class Meta(TenantOwnedModel.Meta):
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["tenant", "project", "status", "-created_at"], name="feedback_review_list")]

    def __str__(self) -> str:
        # Never the text: this shows in logs and the operators' admin.
        return f"Feedback {self.pk} ({self.source}, {self.status})"
