"""Deleting an organization cancels its Stripe subscription once the delete commits, retried if Stripe is
down; an organization without one sends nothing."""

from __future__ import annotations

import pytest

from billing.services.subscriptions import stripe_subscription_cancel
from tenants.services.organizations import tenant_delete
from tests.factories import subscribe


def test_deleting_an_organization_cancels_its_stripe_subscription(
    tenant, owner, fake_stripe, run_tasks, django_capture_on_commit_callbacks
):
    subscribe(tenant, "pro", stripe=fake_stripe, stripe_subscription_id="sub_acme")

    with django_capture_on_commit_callbacks(execute=True):
        tenant_delete(tenant=tenant, actor=owner.user, confirm_name=tenant.name)

    assert fake_stripe.cancelled_subscriptions == ["sub_acme"]
    (cancel,) = fake_stripe.calls("DELETE", "/v1/subscriptions/sub_acme")
    assert cancel.idempotency_key == "tunebase-cancel-sub_acme"


def test_an_organization_without_a_stripe_subscription_sends_nothing(
    tenant, owner, fake_stripe, run_tasks, django_capture_on_commit_callbacks
):
    subscribe(tenant, "free")

    with django_capture_on_commit_callbacks(execute=True):
        tenant_delete(tenant=tenant, actor=owner.user, confirm_name=tenant.name)

    assert fake_stripe.requests == []


def test_a_stripe_failure_is_raised_for_the_task_to_retry_and_a_second_try_cancels(fake_stripe, monkeypatch):
    monkeypatch.setattr("billing.stripe_api.MAX_NETWORK_RETRIES", 0)
    fake_stripe.fail(500)

    with pytest.raises(Exception, match="Fake failure 500"):
        stripe_subscription_cancel(stripe_subscription_id="sub_acme")
    stripe_subscription_cancel(stripe_subscription_id="sub_acme")

    assert fake_stripe.cancelled_subscriptions == ["sub_acme"]
