"""Billing end to end, through the real ``stripe`` library and a fake Stripe: a Free tenant stopped at its
quota upgrades through Checkout (its webhook lifts the quota at once); its predictions from the predict
API, monitor events and a batch job, and a training run's seconds, reach Stripe as meter events exactly
once across failures and retries; the usage API, the Billing page and the admin show the same totals."""

from __future__ import annotations

import io
import json
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from billing.models import MeterPush, Plan, Subscription, UsageRecord
from billing.selectors import usage_summary
from billing.services.meter_push import usage_push_due
from billing.services.stripe_events import stripe_event_process
from inference.services import batches
from tests.billing.fake_stripe import stripe_signature
from tests.factories import ProjectFactory, ready_dataset
from training.models import RunStatus, TrainingRun
from training.services import run_create, run_succeed

FOOD = "pizza bread cheese soup"


@pytest.fixture(autouse=True)
def _setup(plans, settings):
    settings.PREDICT_RATE_PER_KEY = settings.PREDICT_RATE_PER_TENANT = 0
    free = Plan.objects.get(code="free")
    free.included_predictions = 5
    free.save()


def predict(client, project, n: int):
    return client.post(f"/api/v1/projects/{project.pk}/predict/", {"texts": [FOOD] * n}, format="json")


def checkout_completed(tenant, customer: str) -> str:
    event = {
        "id": "evt_checkout_1",
        "object": "event",
        "created": int(timezone.now().timestamp()),
        "type": "checkout.session.completed",
        "livemode": False,
        "data": {
            "object": {
                "id": "cs_test_1",
                "object": "checkout.session",
                "mode": "subscription",
                "customer": customer,
                "subscription": "sub_1",
                "client_reference_id": str(tenant.pk),
                "metadata": {"tenant_id": str(tenant.pk), "plan_code": "pro"},
            }
        },
    }
    payload = json.dumps(event)
    response = Client().post(
        "/billing/stripe/webhook/",
        payload,
        content_type="application/json",
        HTTP_STRIPE_SIGNATURE=stripe_signature(payload),
    )
    assert response.status_code == 200, response.content
    return event["id"]


def train(tenant, seconds: float) -> None:
    project = ProjectFactory(tenant=tenant, name="Trained")
    run = run_create(tenant=tenant, project=project, dataset_id=ready_dataset(project).pk)
    TrainingRun.objects.for_tenant(tenant).filter(pk=run.pk).update(status=RunStatus.RUNNING)
    run.refresh_from_db()
    run_succeed(
        run=run,
        artifact_path="m",
        size_bytes=1,
        label_names=["a"],
        thresholds={},
        metrics={},
        history=[],
        compute_seconds=seconds,
    )


def test_usage_from_every_path_reaches_stripe_exactly_once_and_every_view_agrees(
    tenant, owner, key_client, deploy, fake_stripe, admin_client
):
    project = ProjectFactory(tenant=tenant, name="Support", use_case="monitoring")
    deploy(project, "full")
    client = key_client(tenant)
    customer = fake_stripe.add_customer()

    # Free: stopped at its quota.
    assert predict(client, project, 5).status_code == 200
    assert predict(client, project, 1).status_code == 402

    # Checkout completed: the webhook, processed by the task's service, lifts the quota at once.
    stripe_event_process(event_id=checkout_completed(tenant, customer))
    assert predict(client, project, 3).status_code == 200

    monitor = client.post("/api/v1/monitors/", {"project_id": str(project.pk), "name": "Reviews"}, format="json")
    events = client.post(
        f"/api/v1/monitors/{monitor.json()['id']}/events/", {"events": [{"text": FOOD}] * 2}, format="json"
    )
    assert events.status_code == 200
    upload = io.BytesIO(("text\n" + f"{FOOD}\n" * 4).encode())
    upload.name = "texts.csv"
    job = client.post(f"/api/v1/projects/{project.pk}/batch-predictions/", {"file": upload}, format="multipart")
    assert batches.batch_run(tenant_id=str(tenant.pk), batch_id=job.json()["id"]).status == "succeeded"
    train(tenant, 90.2)

    predictions, seconds = 5 + 3 + 2 + 4, 91

    # Stripe fails midway: the library's own retries run out, then a connection reset, then an answer lost
    # after Stripe took the event. Each round sends what it can; later rounds send the rest.
    fake_stripe.fail(500, 500, 500)
    first = usage_push_due()
    fake_stripe.fail("reset", "reset", "reset")
    second = usage_push_due(now=timezone.now() + timedelta(hours=7))
    fake_stripe.fail(500, after=True)
    for hours in (14, 21, 28):
        usage_push_due(now=timezone.now() + timedelta(hours=hours))

    assert first["failed"] >= 1 and second["failed"] + second["sent"] >= 1
    assert not MeterPush.objects.for_tenant(tenant).filter(sent_at__isnull=True).exists()
    assert not UsageRecord.objects.for_tenant(tenant).filter(sent_at__isnull=True).exists()
    assert fake_stripe.metered("tunebase_predictions", customer) == predictions
    assert fake_stripe.metered("tunebase_training_seconds", customer) == seconds
    sent = fake_stripe.calls("POST", "/v1/billing/meter_events")
    assert all(r.idempotency_key == r.params["identifier"] for r in sent)

    # The usage API, the Billing page and the admin show the same totals.
    body = client.get("/api/v1/usage/").json()
    meters = {m["meter"]: m["used"] for m in body["meters"]}
    assert meters == {"predictions": predictions, "training": seconds}
    assert body["range"]["by_source"] == {"api": 8, "monitor": 2, "batch": 4, "training": seconds}
    summary = usage_summary(tenant_id=tenant.pk)
    assert body["estimated_charge"]["total_cents"] == summary.estimated_cents
    browser = Client()
    browser.force_login(owner.user)
    page = browser.get(f"/t/{tenant.slug}/billing/")
    assert page.status_code == 200
    assert page.context["summary"].meters == summary.meters
    subscription_id = Subscription.objects.for_tenant(tenant).get().pk
    subscription = admin_client.get(f"/admin/billing/subscription/{subscription_id}/change/")
    assert subscription.status_code == 200
    admin_page = subscription.content.decode()
    assert f"<td>predictions</td><td>{predictions:,} texts</td>" in admin_page
    assert f"<td>training</td><td>{seconds:,} seconds</td>" in admin_page
