"""The Billing page (plan, usage, bill, invoices, plans, spend cap), its Stripe actions, the billing banner
of every organization page, and the training estimate on the run form."""

from __future__ import annotations

import html as markup
import json
import re
import time
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from billing.models import Plan, Subscription, SubscriptionStatus, UsageKind
from billing.services import subscription_start, usage_record
from tenants.models import AuditAction, AuditEvent, Role
from tests.factories import dashboard_url, ready_dataset

pytestmark = pytest.mark.django_db

PREDICTION = UsageKind.PREDICTION
TRAINING = UsageKind.TRAINING_SECONDS


def on_plan(tenant, code: str = "free") -> Subscription:
    """The tenant subscribed to ``code`` (a model save: the plan cache forgets the tenant)."""
    subscription = subscription_start(tenant=tenant)
    subscription.plan = Plan.objects.get(code=code)
    subscription.save()
    return subscription


def use(tenant, kind: str, quantity: int) -> None:
    usage_record(tenant_id=tenant.pk, kind=kind, quantity=quantity, source="api")


def page(client, tenant, name: str = "billing", **kwargs) -> str:
    response = client.get(dashboard_url(name, tenant), kwargs)
    assert response.status_code == 200
    return response.content.decode()


def text(html: str) -> str:
    """The page's words, tags dropped and spaces folded: what a reader sees."""
    return markup.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)))


def section(html: str, element_id: str) -> str:
    match = re.search(rf'id="{element_id}".*?</(article|section)>', html, re.S)
    assert match, f"no #{element_id} on the page"
    return text(match.group(0))


# --- the page -----------------------------------------------------------------------------------------


def test_the_owner_sees_the_plan_usage_bars_and_the_bill_from_the_usage_records(client, tenant, owner):
    on_plan(tenant, "free")
    use(tenant, PREDICTION, 1_200)
    use(tenant, PREDICTION, 500)
    use(tenant, TRAINING, 600)  # 10 minutes
    client.force_login(owner.user)

    html = page(client, tenant)

    assert "Free" in section(html, "plan") and "Active" in section(html, "plan")
    predictions = section(html, "meter-prediction")
    assert "1,700 of 2,000 predictions included" in predictions
    assert "remaining 300 predictions" in predictions and "85 %" in predictions
    training = section(html, "meter-training_seconds")
    assert "10.0 of 30.0 minutes included" in training and "remaining 20.0 minutes" in training
    assert re.search(r'<progress value="85" max="100"', html) and re.search(r'<progress value="33" max="100"', html)
    data = re.search(r'<script id="usage-chart-data" type="application/json">(.*?)</script>', html, re.S)
    chart = json.loads(data[1])
    assert sum(chart["predictions"]) == 1_700 and sum(chart["training_minutes"]) == 10.0
    assert chart["days"][-1] == timezone.now().date().isoformat()
    assert "$0.00 so far" in section(html, "estimate")
    assert "No invoices yet" in html
    assert f"resets {(timezone.now().replace(day=28) + timedelta(days=4)).replace(day=1):%B} 1" in text(html)


def test_a_pro_tenant_past_its_included_predictions_sees_overage_and_the_estimated_bill(client, tenant, owner):
    subscription = on_plan(tenant, "pro")
    Subscription.objects.for_tenant(tenant).filter(pk=subscription.pk).update(credit_cents=1_000)
    use(tenant, PREDICTION, 104_000)  # 4,000 past 100,000 at $0.50 per 1,000: $2.00
    client.force_login(owner.user)

    html = page(client, tenant)

    meter = section(html, "meter-prediction")
    assert "104,000 of 100,000 predictions included" in meter and "overage 4,000 predictions ($2.00)" in meter
    estimate = section(html, "estimate")
    assert "$41.00 so far" in estimate and "$49.00 plan + $2.00 overage - $10.00 credit = $41.00" in estimate


@pytest.mark.parametrize("role", [Role.MEMBER, Role.VIEWER])
def test_members_and_viewers_get_403(client, tenant, member_of, role):
    on_plan(tenant)
    client.force_login(member_of(tenant, role).user)

    assert client.get(dashboard_url("billing", tenant)).status_code == 403
    assert client.post(dashboard_url("billing-spend-cap", tenant), {"spend_cap": ""}).status_code == 403
    assert client.post(dashboard_url("billing-checkout", tenant), {"plan": "pro"}).status_code == 403


def test_an_admin_may_and_the_nav_shows_billing_to_admins_only(client, tenant, member_of):
    on_plan(tenant)
    admin, member = member_of(tenant, Role.ADMIN), member_of(tenant, Role.MEMBER)
    billing = dashboard_url("billing", tenant)

    client.force_login(admin.user)
    assert billing in page(client, tenant, "overview")
    client.force_login(member.user)
    assert billing not in page(client, tenant, "overview")


def test_another_tenants_owner_gets_404(client, tenant, other_tenant, member_of):
    on_plan(tenant)
    client.force_login(member_of(other_tenant, Role.OWNER).user)

    assert client.get(dashboard_url("billing", tenant)).status_code == 404
    assert client.post(dashboard_url("billing-spend-cap", tenant), {"spend_cap": "100"}).status_code == 404
    assert Subscription.objects.for_tenant(tenant).get().spend_cap_cents is None


def test_the_checkout_return_is_acknowledged(client, tenant, owner):
    on_plan(tenant)
    client.force_login(owner.user)

    assert "Thank you" in page(client, tenant, checkout="success")
    assert "Checkout cancelled: nothing was charged" in page(client, tenant, checkout="cancelled")


# --- Stripe off, Stripe on ----------------------------------------------------------------------------


def test_with_stripe_off_the_page_says_so_and_checkout_explains_without_charging(client, tenant, owner):
    on_plan(tenant)
    client.force_login(owner.user)

    html = page(client, tenant)
    assert "Billing is not configured on this server: plans and quotas apply, nothing is charged" in html
    assert re.search(r'<tr id="plan-pro">.*?<button type="button" class="small" disabled', html, re.S)
    assert "Manage billing" not in html

    response = client.post(dashboard_url("billing-checkout", tenant), {"plan": "pro"}, follow=True)

    assert response.redirect_chain[-1][0] == dashboard_url("billing", tenant)
    assert 'message-error" role="alert">Billing is not configured on this server' in response.content.decode()
    subscription = Subscription.objects.for_tenant(tenant).get()
    assert subscription.stripe_customer_id == "" and subscription.plan.code == "free"


def test_upgrade_goes_to_stripe_checkout_and_manage_to_the_portal(client, tenant, owner, fake_stripe):
    on_plan(tenant)
    client.force_login(owner.user)
    html = page(client, tenant)
    assert "Billing is not configured" not in html and "Manage billing" not in html
    assert re.search(r'<input type="hidden" name="plan" value="pro">\s*<button type="submit"', html)

    response = client.post(dashboard_url("billing-checkout", tenant), {"plan": "pro"})

    [session] = fake_stripe.checkout_sessions.values()
    assert response.status_code == 302 and response["Location"] == session["url"]
    customer = Subscription.objects.for_tenant(tenant).get().stripe_customer_id
    assert customer and session["customer"] == customer
    assert session["success_url"].endswith(f"/t/{tenant.slug}/billing/?checkout=success")

    assert "Manage billing" in page(client, tenant)
    response = client.post(dashboard_url("billing-portal", tenant))

    [portal] = fake_stripe.portal_sessions.values()
    assert response.status_code == 302 and response["Location"] == portal["url"]
    assert portal["customer"] == customer


def test_a_refused_upgrade_comes_back_as_a_message(client, tenant, owner, fake_stripe):
    on_plan(tenant)
    client.force_login(owner.user)

    response = client.post(dashboard_url("billing-checkout", tenant), {"plan": "free"}, follow=True)

    assert "There is no paid plan called" in response.content.decode()
    assert not fake_stripe.checkout_sessions


def test_invoices_from_stripe_are_listed_with_their_links(client, tenant, owner, fake_stripe):
    subscription = on_plan(tenant, "pro")
    subscription.stripe_customer_id = "cus_acme"
    subscription.save()
    created = int(time.time()) - 86_400
    fake_stripe.invoices += [
        {
            "id": "in_1",
            "object": "invoice",
            "customer": "cus_acme",
            "number": "TB-0001",
            "status": "paid",
            "total": 5_196,
            "currency": "usd",
            "created": created,
            "hosted_invoice_url": "https://invoice.stripe.com/i/acme_1",
            "invoice_pdf": "https://pay.stripe.com/invoice/acme_1/pdf",
        },
        {
            "id": "in_2",
            "object": "invoice",
            "customer": "cus_someone_else",
            "number": "XX-0001",
            "status": "open",
            "total": 100,
            "currency": "usd",
            "created": created,
            "hosted_invoice_url": "https://invoice.stripe.com/i/other",
            "invoice_pdf": None,
        },
    ]
    client.force_login(owner.user)

    invoices = page(client, tenant).split('id="invoices"')[1].split("</article>")[0]

    assert "TB-0001" in invoices and "51.96 USD" in invoices and "Paid" in invoices
    assert 'href="https://invoice.stripe.com/i/acme_1"' in invoices
    assert "XX-0001" not in invoices and "No invoices yet" not in invoices


# --- the spend cap ------------------------------------------------------------------------------------


def test_the_spend_cap_is_saved_changed_and_removed(client, tenant, owner):
    on_plan(tenant, "pro")
    client.force_login(owner.user)
    target = dashboard_url("billing-spend-cap", tenant)

    response = client.post(target, {"spend_cap": "120.50"}, follow=True)

    assert Subscription.objects.for_tenant(tenant).get().spend_cap_cents == 12_050
    html = response.content.decode()
    assert "Spend cap set to $120.50 a month." in html
    assert 'name="spend_cap" value="120.50"' in html and "reaches $120.50" in text(html)
    assert AuditEvent.objects.for_tenant(tenant).filter(action=AuditAction.SPEND_CAP_CHANGED).exists()

    client.post(target, {"spend_cap": ""})
    assert Subscription.objects.for_tenant(tenant).get().spend_cap_cents is None


@pytest.mark.parametrize(
    ("value", "error"),
    [
        ("10", "A spend cap must be at least the Pro plan's price ($49.00)."),
        ("-5", "Ensure this value is greater than or equal to 0."),
        ("lots", "Enter a number."),
    ],
)
def test_a_bad_spend_cap_is_refused_on_the_form(client, tenant, owner, value, error):
    on_plan(tenant, "pro")
    client.force_login(owner.user)

    response = client.post(dashboard_url("billing-spend-cap", tenant), {"spend_cap": value})

    assert response.status_code == 400
    form = response.content.decode().split('id="spend-cap"')[1]
    assert "errorlist" in form and error in text(form)
    assert Subscription.objects.for_tenant(tenant).get().spend_cap_cents is None


# --- the banner ---------------------------------------------------------------------------------------


def banner(client, tenant, where: str = "overview") -> str | None:
    match = re.search(r'<p class="message [^"]*" id="billing-banner".*?</p>', page(client, tenant, where), re.S)
    return text(match.group(0)).strip() if match else None


def test_the_banner_appears_on_other_pages_from_80_percent_of_a_limit(client, tenant, owner):
    on_plan(tenant, "free")
    client.force_login(owner.user)
    use(tenant, PREDICTION, 1_599)

    assert banner(client, tenant) is None

    use(tenant, PREDICTION, 1)
    shown = banner(client, tenant)
    assert shown is not None and "You have used 80 % of this month's 2,000 predictions." in shown
    assert f'href="{dashboard_url("billing", tenant)}"' in page(client, tenant, "overview")

    use(tenant, PREDICTION, 400)
    resets = timezone.now().replace(day=28) + timedelta(days=4)
    over = banner(client, tenant)
    assert over is not None
    assert "You have used all of this month's 2,000 predictions: predictions are refused until" in over
    assert f"{resets:%B} 1, {resets.year}" in over


def test_a_member_sees_the_banner_without_the_link(client, tenant, member_of):
    on_plan(tenant, "free")
    use(tenant, TRAINING, 25 * 60)  # 25 of 30 minutes
    client.force_login(member_of(tenant, Role.MEMBER).user)

    shown = banner(client, tenant)

    assert shown is not None and "83 % of this month's 30 training minutes" in shown
    assert "Ask an owner or admin to upgrade" in shown


def test_the_banner_warns_near_the_spend_cap_and_when_past_due(client, tenant, owner):
    subscription = on_plan(tenant, "pro")
    client.force_login(owner.user)
    assert banner(client, tenant) is None  # Pro without a cap: nothing to come near

    subscription.spend_cap_cents = 5_000
    subscription.save()
    shown = banner(client, tenant)
    assert shown is not None and "estimated bill ($49.00) is at 98 % of your spend cap of $50.00" in shown

    subscription.status = SubscriptionStatus.PAST_DUE
    subscription.grace_until = timezone.now() + timedelta(days=3)
    subscription.save()
    shown = banner(client, tenant)
    assert shown is not None and "Your last payment failed" in shown and "to keep the Pro plan" in shown
    assert "Past due" in page(client, tenant)


def test_the_banner_costs_at_most_three_queries_and_nothing_off_tenant_pages(client, tenant, owner):
    on_plan(tenant, "free")
    use(tenant, PREDICTION, 1_900)
    client.force_login(owner.user)

    for _ in range(2):  # the same whatever the per-process plan cache holds
        # The projects list: the overview reads the last 30 days' usage for its chart on top of the banner.
        with CaptureQueriesContext(connection) as queries:
            assert banner(client, tenant, "project-list") is not None
        billing = [q["sql"] for q in queries.captured_queries if "billing_" in q["sql"]]
        # the subscription, the counters, and the records' sum for a meter without a counter yet
        assert len(billing) == 3, billing

    with CaptureQueriesContext(connection) as queries:
        response = client.get("/organizations/new/")
    assert response.status_code == 200 and 'id="billing-banner"' not in response.content.decode()
    assert not [q for q in queries.captured_queries if "billing_" in q["sql"]]


# --- the training estimate on the run form --------------------------------------------------------------


def runs(client, tenant, project, **query) -> str:
    response = client.get(dashboard_url("run-list", tenant, project_id=project.pk), query)
    assert response.status_code == 200
    return text(response.content.decode())


def test_the_run_form_estimates_minutes_within_the_plan(client, tenant, project, member_of):
    on_plan(tenant, "free")
    ready_dataset(project, rows_usable=4_800, label_count=4)  # 7 epochs by default: 33,600 examples, 7 minutes
    client.force_login(member_of(tenant, Role.MEMBER).user)

    assert "About 7 minutes of training; within your plan's remaining 30 minutes." in runs(client, tenant, project)


def test_the_run_form_prices_the_overage_of_a_pro_tenant_past_its_minutes(client, tenant, project, member_of):
    on_plan(tenant, "pro")
    use(tenant, TRAINING, 600 * 60)  # all 600 included minutes
    dataset = ready_dataset(project, rows_usable=4_800, label_count=4)
    client.force_login(member_of(tenant, Role.MEMBER).user)

    # What the form asks as the epochs change: 4,800 rows x 12 epochs at 80 a second = 12 minutes at $0.08.
    live = runs(client, tenant, project, dataset_id=dataset.pk, epochs="12")

    assert "About 12 minutes of training; about $0.96 of overage at $0.08 a minute." in live


def test_the_run_form_says_when_free_minutes_are_used_up(client, tenant, project, member_of):
    on_plan(tenant, "free")
    use(tenant, TRAINING, 30 * 60)
    ready_dataset(project, rows_usable=200, label_count=2)
    client.force_login(member_of(tenant, Role.MEMBER).user)

    assert "Your Free plan's training minutes for this period are used up; upgrade to train." in runs(
        client, tenant, project
    )
