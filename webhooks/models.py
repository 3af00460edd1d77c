"""Webhook endpoints a tenant registers, and the deliveries of events to them."""

from __future__ import annotations

import base64
import secrets
from datetime import datetime

from django.conf import settings
from django.db import models

from tenants.scoping import TenantOwnedModel

SECRET_PREFIX = "whsec_"  # noqa: S105 - the prefix of every secret, not a secret
ALL_EVENTS = "*"
MAX_URL_LENGTH = 2000
EXCERPT_CHARS = 500


class EventType(models.TextChoices):
    DATASET_CHECKED = "dataset.checked", "Dataset checked"
    TRAINING_RUN_SUCCEEDED = "training_run.succeeded", "Training run succeeded"
    TRAINING_RUN_FAILED = "training_run.failed", "Training run failed"
    TRAINING_RUN_CANCELLED = "training_run.cancelled", "Training run cancelled"
    MODEL_DEPLOYED = "model.deployed", "Model deployed"
    BATCH_PREDICTION_SUCCEEDED = "batch_prediction.succeeded", "Batch prediction succeeded"
    BATCH_PREDICTION_FAILED = "batch_prediction.failed", "Batch prediction failed"
    MONITOR_ALERT = "monitor.alert", "Monitor alert"
    BILLING_THRESHOLD = "billing.threshold", "Usage reached 80 % or 100 % of a limit"
    WEBHOOK_TEST = "webhook.test", "Test event"


# What an endpoint may subscribe to; the test event goes to the endpoint it is sent to, subscribed or not.
SUBSCRIBABLE_EVENTS = [e.value for e in EventType if e != EventType.WEBHOOK_TEST]


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"


def generate_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(24)).decode("ascii")


class WebhookEndpoint(TenantOwnedModel):
    url = models.URLField(max_length=MAX_URL_LENGTH)
    description = models.CharField(max_length=200, blank=True)
    events = models.JSONField(default=list, help_text='Event types sent to this endpoint, or ["*"] for all.')
    secret = models.CharField(max_length=100, default=generate_secret)
    previous_secret = models.CharField(
        max_length=100, blank=True, help_text="The secret before the last rotation; deliveries are signed with it too."
    )
    previous_secret_expires_at = models.DateTimeField(
        null=True, blank=True, help_text="Until when deliveries also carry the previous secret's signature."
    )
    is_active = models.BooleanField(default=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    disabled_reason = models.CharField(max_length=500, blank=True)
    consecutive_failures = models.PositiveIntegerField(
        default=0, help_text="Deliveries in a row that failed after every attempt; a success resets it."
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta(TenantOwnedModel.Meta):
        ordering = ["created_at"]

    def __str__(self) -> str:
        return f"Webhook endpoint {self.pk}"

    def subscribes_to(self, event_type: str) -> bool:
        return ALL_EVENTS in self.events or event_type in self.events

    def signing_secrets(self, now: datetime) -> list[str]:
        """The secrets a delivery is signed with now: the current one, and the previous one while its overlap lasts."""
        previous = self.previous_secret
        if previous and self.previous_secret_expires_at is not None and now < self.previous_secret_expires_at:
            return [self.secret, previous]
        return [self.secret]


class WebhookDelivery(TenantOwnedModel):
    endpoint = models.ForeignKey(WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries")
    event_id = models.CharField(max_length=40, help_text="msg_<hex>: the webhook-id header, the same on retries.")
    event_type = models.CharField(max_length=60)
    payload = models.JSONField(help_text="The body sent: type, timestamp, data.")
    status = models.CharField(max_length=10, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    enqueued_at = models.DateTimeField(null=True, blank=True, help_text="When last handed to the broker.")
    sending_until = models.DateTimeField(
        null=True, blank=True, help_text="Set while a worker sends it: the end of that worker's lease."
    )
    last_status_code = models.PositiveIntegerField(null=True, blank=True)
    last_error = models.CharField(max_length=500, blank=True)
    response_excerpt = models.CharField(max_length=EXCERPT_CHARS, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta(TenantOwnedModel.Meta):
        verbose_name_plural = "webhook deliveries"
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["endpoint", "event_id"], name="webhook_delivery_unique_event"),
        ]
        indexes = [
            models.Index(fields=["tenant", "endpoint", "-created_at"], name="webhook_delivery_recent"),
            models.Index(fields=["status", "next_attempt_at"], name="webhook_delivery_due"),
            models.Index(fields=["tenant", "sending_until"], name="webhook_delivery_sending"),
        ]

    def __str__(self) -> str:
        return f"{self.event_type} {self.event_id} ({self.status})"
