"""Paying through Stripe: the customer, Checkout, the Customer Portal, invoices; operators' credit and plan."""

from __future__ import annotations

import datetime as dt

import pytest

from billing.models import Plan, Subscription
from billing.selectors import plan_of
from billing.services.checkout import (
    StripeUnavailable,
    checkout_start,
    credit_grant,
    invoices_list,
    plan_change,
    portal_start,
    stripe_customer_ensure,
)
from billing.services.subscriptions import subscription_start
from billing.stripe_api import StripeOff
from tenants.errors import Conflict, InvalidInput
from tenants.models import AuditAction, AuditEvent

pytestmark = pytest.mark.django_db

PUBLIC_URL = "https://app.tunebase.example"


@pytest.fixture(autouse=True)
def _public_url(settings):
    settings.PUBLIC_URL = PUBLIC_URL


@pytest.fixture
def stripe_off(settings):
    settings.STRIPE_SECRET_KEY = ""


def subscription_of(tenant) -> Subscription:
    return Subscription.objects.for_tenant(tenant).get()


def with_customer(tenant, customer="cus_acme", **fields) -> Subscription:
    subscription = subscription_start(tenant=tenant)
    subscription.stripe_customer_id = customer
    for name, value in fields.items():
        setattr(subscription, name, value)
    subscription.save()
    return subscription


# --- Checkout -------------------------------------------------------------------------------------------


def test_checkout_subscribes_to_the_plans_prices_with_the_metered_ones_unquantified(tenant, owner, fake_stripe):
    url = checkout_start(tenant=tenant, plan_code="pro", actor=owner.user)

    (call,) = fake_stripe.calls("POST", "/v1/checkout/sessions")
    (session,) = fake_stripe.checkout_sessions.values()
    assert url == session["url"]
    customer = subscription_of(tenant).stripe_customer_id
    assert customer in fake_stripe.customers
    params = call.params
    assert params["mode"] == "subscription"
    assert params["customer"] == customer
    assert params["client_reference_id"] == str(tenant.pk)
    assert params["line_items[0][price]"] == "price_pro_base"
    assert params["line_items[0][quantity]"] == "1"
    assert params["line_items[1][price]"] == "price_pro_predictions"
    assert params["line_items[2][price]"] == "price_pro_training"
    assert "line_items[1][quantity]" not in params and "line_items[2][quantity]" not in params
    assert "line_items[3][price]" not in params
    assert params["metadata[tenant_id]"] == str(tenant.pk)
    assert params["metadata[plan_code]"] == "pro"
    assert params["subscription_data[metadata][tenant_id]"] == str(tenant.pk)
    assert params["subscription_data[metadata][plan_code]"] == "pro"
    assert params["success_url"] == f"{PUBLIC_URL}/t/acme/billing/?checkout=success"
    assert params["cancel_url"] == f"{PUBLIC_URL}/t/acme/billing/?checkout=cancelled"


def test_the_stripe_customer_is_named_after_the_organization_and_its_owner(tenant, owner, fake_stripe):
    customer_id = stripe_customer_ensure(tenant=tenant)

    customer = fake_stripe.customers[customer_id]
    assert customer["name"] == "Acme Support"
    assert customer["email"] == owner.user.email
    assert customer["metadata"] == {"tenant_id": str(tenant.pk), "tenant_slug": "acme"}
    (call,) = fake_stripe.calls("POST", "/v1/customers")
    assert call.idempotency_key == f"tunebase-customer-{tenant.pk}"


def test_two_checkouts_share_one_customer(tenant, owner, fake_stripe):
    checkout_start(tenant=tenant, plan_code="pro", actor=owner.user)
    checkout_start(tenant=tenant, plan_code="scale", actor=owner.user)

    assert len(fake_stripe.calls("POST", "/v1/customers")) == 1
    first, second = fake_stripe.calls("POST", "/v1/checkout/sessions")
    assert first.params["customer"] == second.params["customer"] == subscription_of(tenant).stripe_customer_id
    assert second.params["line_items[0][price]"] == "price_scale_base"


def test_checkout_is_refused_with_stripe_off(tenant, owner, stripe_off):
    with pytest.raises(StripeOff):
        checkout_start(tenant=tenant, plan_code="pro", actor=owner.user)


@pytest.mark.parametrize("plan_code", ["free", "platinum"])
def test_only_an_existing_paid_plan_can_be_bought(tenant, owner, fake_stripe, plan_code):
    with pytest.raises(InvalidInput) as raised:
        checkout_start(tenant=tenant, plan_code=plan_code, actor=owner.user)

    assert raised.value.code == "unknown_plan" and raised.value.field == "plan"
    assert fake_stripe.requests == []


def test_a_plan_without_a_configured_price_is_not_for_sale(tenant, owner, fake_stripe, settings):
    settings.STRIPE_PRICES = {"pro": {"base": "price_pro_base"}}

    with pytest.raises(InvalidInput) as raised:
        checkout_start(tenant=tenant, plan_code="scale", actor=owner.user)

    assert raised.value.code == "plan_not_for_sale"
    assert "STRIPE_PRICE_SCALE" in raised.value.message
    assert fake_stripe.requests == []


def test_a_base_price_alone_makes_a_checkout_without_metered_items(tenant, owner, fake_stripe, settings):
    settings.STRIPE_PRICES = {"pro": {"base": "price_pro_base"}}

    checkout_start(tenant=tenant, plan_code="pro", actor=owner.user)

    (call,) = fake_stripe.calls("POST", "/v1/checkout/sessions")
    assert call.params["line_items[0][price]"] == "price_pro_base"
    assert not any(key.startswith("line_items[1]") for key in call.params)


def test_a_subscribed_organization_changes_plans_in_the_portal_not_checkout(tenant, owner, fake_stripe):
    with_customer(tenant, stripe_subscription_id="sub_1")

    with pytest.raises(Conflict) as raised:
        checkout_start(tenant=tenant, plan_code="scale", actor=owner.user)

    assert raised.value.code == "already_subscribed"
    assert fake_stripe.calls("POST", "/v1/checkout/sessions") == []


def test_stripe_down_at_checkout_says_so_and_stores_no_customer(tenant, owner, fake_stripe):
    subscription_start(tenant=tenant)
    fake_stripe.fail(500, 500, 500)  # the first try and the library's two retries

    with pytest.raises(StripeUnavailable):
        checkout_start(tenant=tenant, plan_code="pro", actor=owner.user)

    assert subscription_of(tenant).stripe_customer_id == ""


# --- the Customer Portal --------------------------------------------------------------------------------


def test_the_portal_needs_a_billing_account(tenant, fake_stripe):
    with pytest.raises(Conflict) as raised:
        portal_start(tenant=tenant)

    assert raised.value.code == "no_billing_account"
    assert fake_stripe.requests == []


def test_the_portal_opens_for_the_customer_and_returns_to_the_billing_page(tenant, fake_stripe):
    with_customer(tenant)

    url = portal_start(tenant=tenant)

    (session,) = fake_stripe.portal_sessions.values()
    assert url == session["url"]
    assert session["customer"] == "cus_acme"
    assert session["return_url"] == f"{PUBLIC_URL}/t/acme/billing/"


def test_the_portal_is_refused_with_stripe_off(tenant, stripe_off):
    with_customer(tenant)

    with pytest.raises(StripeOff):
        portal_start(tenant=tenant)


# --- invoices -------------------------------------------------------------------------------------------


def invoice(customer: str, number: str, **fields) -> dict:
    return {
        "id": f"in_{number}",
        "object": "invoice",
        "customer": customer,
        "number": number,
        "status": "paid",
        "total": 2900,
        "currency": "usd",
        "created": 1_767_225_600,  # 2026-01-01 00:00 UTC
        "hosted_invoice_url": f"https://invoice.stripe.com/i/{number}",
        "invoice_pdf": f"https://pay.stripe.com/invoice/{number}/pdf",
        **fields,
    }


def test_invoices_are_the_customers_own_as_plain_values(tenant, fake_stripe):
    with_customer(tenant)
    fake_stripe.invoices += [invoice("cus_acme", "A-0001"), invoice("cus_other", "G-0001")]

    invoices = invoices_list(tenant=tenant)

    assert invoices == [
        {
            "id": "in_A-0001",
            "number": "A-0001",
            "status": "paid",
            "total": 2900,
            "currency": "usd",
            "created": dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
            "hosted_invoice_url": "https://invoice.stripe.com/i/A-0001",
            "invoice_pdf": "https://pay.stripe.com/invoice/A-0001/pdf",
        }
    ]
    (call,) = fake_stripe.calls("GET", "/v1/invoices")
    assert call.query == {"customer": "cus_acme", "limit": "12"}


def test_no_invoices_without_a_customer_or_with_stripe_down(tenant, fake_stripe):
    assert invoices_list(tenant=tenant) == []
    assert fake_stripe.requests == []

    with_customer(tenant)
    fake_stripe.invoices.append(invoice("cus_acme", "A-0001"))
    fake_stripe.fail(500, 500, 500)

    assert invoices_list(tenant=tenant) == []
    assert len(fake_stripe.calls("GET", "/v1/invoices")) == 3


def test_no_invoices_with_stripe_off(tenant, stripe_off):
    with_customer(tenant)

    assert invoices_list(tenant=tenant) == []


# --- operators: credit ----------------------------------------------------------------------------------


def test_credit_adds_up_and_is_audited(tenant, owner):
    credit_grant(tenant=tenant, amount_cents=500, actor=owner.user, reason="Outage on May 3")
    subscription = credit_grant(tenant=tenant, amount_cents=250, actor=None, reason="Goodwill")

    assert subscription.credit_cents == 750
    assert subscription_of(tenant).credit_cents == 750
    audits = AuditEvent.objects.for_tenant(tenant).filter(action=AuditAction.CREDIT_GRANTED).order_by("created_at")
    assert [(a.details["amount_cents"], a.details["reason"]) for a in audits] == [
        (500, "Outage on May 3"),
        (250, "Goodwill"),
    ]
    assert [a.actor_id for a in audits] == [owner.user.pk, None]


def test_credit_reaches_the_stripe_balance_as_a_negative_amount(tenant, fake_stripe):
    with_customer(tenant, customer=fake_stripe_customer(fake_stripe))

    credit_grant(tenant=tenant, amount_cents=500, actor=None, reason="Outage on May 3")
    credit_grant(tenant=tenant, amount_cents=300, actor=None, reason="Goodwill")

    calls = fake_stripe.calls(
        "POST", f"/v1/customers/{subscription_of(tenant).stripe_customer_id}/balance_transactions"
    )
    assert [(c.params["amount"], c.params["currency"], c.params["description"]) for c in calls] == [
        ("-500", "usd", "Outage on May 3"),
        ("-300", "usd", "Goodwill"),
    ]
    assert len({c.idempotency_key for c in calls}) == 2  # two grants, two transactions
    assert fake_stripe.customers["cus_acme"]["balance"] == -800


def fake_stripe_customer(fake_stripe) -> str:
    customer = {"id": "cus_acme", "object": "customer", "balance": 0, "metadata": {}}
    fake_stripe.customers[customer["id"]] = customer
    return customer["id"]


def test_credit_without_a_stripe_customer_or_with_stripe_off_stays_here(tenant, fake_stripe, settings):
    credit_grant(tenant=tenant, amount_cents=500, actor=None, reason="No customer yet")
    with_customer(tenant, customer=fake_stripe_customer(fake_stripe))
    settings.STRIPE_SECRET_KEY = ""
    credit_grant(tenant=tenant, amount_cents=100, actor=None, reason="Stripe off")

    assert fake_stripe.requests == []
    assert subscription_of(tenant).credit_cents == 600


@pytest.mark.parametrize("amount", [0, -100])
def test_a_credit_must_be_positive(tenant, amount):
    with pytest.raises(InvalidInput):
        credit_grant(tenant=tenant, amount_cents=amount, actor=None, reason="?")

    assert not AuditEvent.objects.for_tenant(tenant).filter(action=AuditAction.CREDIT_GRANTED).exists()


def test_stripe_down_grants_no_credit(tenant, fake_stripe):
    with_customer(tenant, customer=fake_stripe_customer(fake_stripe))
    fake_stripe.fail(500, 500, 500)

    with pytest.raises(StripeUnavailable):
        credit_grant(tenant=tenant, amount_cents=500, actor=None, reason="Outage")

    assert subscription_of(tenant).credit_cents == 0


# --- operators: plan ------------------------------------------------------------------------------------


def test_an_operators_plan_change_applies_at_once_and_is_audited(tenant, owner):
    subscription_start(tenant=tenant)
    assert plan_of(tenant_id=tenant.pk).code == "free"  # now cached in this process

    plan_change(tenant=tenant, plan=Plan.objects.get(code="scale"), actor=owner.user, reason="Design partner")

    assert plan_of(tenant_id=tenant.pk).code == "scale"
    audit = AuditEvent.objects.for_tenant(tenant).get(action=AuditAction.PLAN_CHANGED)
    assert audit.details == {"from_plan": "free", "to_plan": "scale", "reason": "Design partner"}
    assert audit.actor_id == owner.user.pk
