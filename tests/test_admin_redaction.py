"""What operators may see and change in the admin: no customer's texts in webhook deliveries; the tenant's own
settings (webhook URLs, roles, monitors) read-only; no delete actions; every change that remains audited."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.contrib import admin
from django.urls import reverse
from django.utils import timezone

from billing import services as billing
from billing.models import Plan, Subscription, UsageRecord
from inference.models import Monitor
from tenants.models import AuditEvent, Invitation, Membership, Role, Tenant
from tests.factories import ProjectFactory, UserFactory, make_api_key, ready_dataset
from training.models import ModelVersion, TrainingRun
from webhooks.models import DeliveryStatus, WebhookDelivery, WebhookEndpoint

CUSTOMER_TEXT = "my card ending 4242 was charged twice, please refund"
RECEIVER_TEXT = "ticket 881 opened for: my card ending 4242"


@pytest.fixture
def admin_client(client: Any, operator: Any) -> Any:
    client.force_login(operator)
    return client


@pytest.fixture
def endpoint(tenant: Tenant) -> WebhookEndpoint:
    return WebhookEndpoint.all_tenants.create(tenant=tenant, url="https://hooks.acme.example/tunebase", events=["*"])


@pytest.fixture
def delivery(tenant: Tenant, endpoint: WebhookEndpoint) -> WebhookDelivery:
    return WebhookDelivery.all_tenants.create(
        tenant=tenant,
        endpoint=endpoint,
        event_id="msg_0123456789abcdef",
        event_type="monitor.alert",
        payload={"type": "monitor.alert", "data": {"label": "billing", "examples": [CUSTOMER_TEXT]}},
        status=DeliveryStatus.SUCCEEDED,
        attempts=1,
        last_status_code=200,
        response_excerpt=RECEIVER_TEXT,
        delivered_at=timezone.now(),
    )


def rows(tenant: Tenant, other_tenant: Tenant) -> dict[str, Any]:
    """One row of each model whose admin must be read-only, keyed by ``app_model``."""
    project = ProjectFactory(tenant=tenant, name="Support")
    ProjectFactory(tenant=other_tenant, name="Globex secret roadmap")
    api_key, _ = make_api_key(tenant, name="ci")
    return {
        "tenants_tenant": tenant,
        "tenants_membership": Membership.all_tenants.create(tenant=tenant, user=UserFactory(), role=Role.ADMIN),
        "tenants_invitation": Invitation.all_tenants.create(
            tenant=tenant,
            email="new@acme.example",
            role=Role.MEMBER,
            token_hash="0" * 64,
            expires_at=timezone.now() + timedelta(days=7),
        ),
        "tenants_apikey": api_key,
        "webhooks_webhookendpoint": WebhookEndpoint.all_tenants.create(
            tenant=tenant, url="https://hooks.acme.example/a", events=["*"]
        ),
        "inference_monitor": Monitor.all_tenants.create(tenant=tenant, project=project, name="Mentions"),
        "billing_usagerecord": UsageRecord.all_tenants.create(
            tenant=tenant, project=project, kind="prediction", source="api", quantity=3
        ),
        "projects_project": project,
        "projects_dataset": ready_dataset(project),
        "training_trainingrun": (run := TrainingRun.all_tenants.create(tenant=tenant, project=project, base_model="m")),
        "training_modelversion": ModelVersion.all_tenants.create(
            tenant=tenant, project=project, training_run=run, version=1, base_model="m", artifact_path="a"
        ),
    }


READ_ONLY = [
    "tenants_tenant",
    "tenants_membership",
    "tenants_invitation",
    "tenants_apikey",
    "webhooks_webhookendpoint",
    "inference_monitor",
    "billing_usagerecord",
    "projects_project",
    "projects_dataset",
    "training_trainingrun",
    "training_modelversion",
]


# --- webhook deliveries: no customer's texts -----------------------------------------------------------


def test_the_delivery_page_shows_type_size_status_and_timing_but_not_the_payload_or_the_answer(admin_client, delivery):
    page = admin_client.get(reverse("admin:webhooks_webhookdelivery_change", args=[delivery.pk]))
    listing = admin_client.get(reverse("admin:webhooks_webhookdelivery_changelist"))

    for response in (page, listing):
        assert response.status_code == 200
        html = response.content.decode()
        assert "4242" not in html
        assert "charged twice" not in html
        assert "ticket 881" not in html
        assert "monitor.alert" in html
    html = page.content.decode()
    assert "bytes (not shown" in html
    assert "characters kept (not shown)" in html


def test_a_delivery_cannot_be_edited_or_deleted(admin_client, delivery):
    change = reverse("admin:webhooks_webhookdelivery_change", args=[delivery.pk])

    admin_client.post(change, {"payload": '{"edited": true}', "status": "pending"})

    assert WebhookDelivery.all_tenants.get(pk=delivery.pk).payload["data"]["examples"] == [CUSTOMER_TEXT]
    assert admin_client.get(reverse("admin:webhooks_webhookdelivery_delete", args=[delivery.pk])).status_code == 403


# --- the tenant's own settings: read-only ---------------------------------------------------------------


@pytest.mark.parametrize("model", READ_ONLY)
def test_the_change_form_has_no_editable_field_and_no_save_button(admin_client, tenant, other_tenant, model):
    row = rows(tenant, other_tenant)[model]

    html = admin_client.get(reverse(f"admin:{model}_change", args=[row.pk])).content.decode()

    for field in ("url", "role", "project", "tenant", "is_active", "name", "expiry_date", "scopes"):
        assert f'name="{field}"' not in html
        assert f'name="memberships-0-{field}"' not in html
    assert 'name="_save"' not in html
    assert "Globex secret roadmap" not in html  # the monitor form offered every tenant's projects


@pytest.mark.parametrize("model", READ_ONLY)
def test_no_add_no_delete_and_no_delete_action(admin_client, tenant, other_tenant, model):
    row = rows(tenant, other_tenant)[model]

    listing = admin_client.get(reverse(f"admin:{model}_changelist"))

    assert listing.status_code == 200
    assert 'value="delete_selected"' not in listing.content.decode()
    assert admin_client.get(reverse(f"admin:{model}_add")).status_code == 403
    assert admin_client.get(reverse(f"admin:{model}_delete", args=[row.pk])).status_code == 403


def test_posting_a_webhook_url_or_a_role_changes_nothing(admin_client, tenant, other_tenant):
    made = rows(tenant, other_tenant)
    endpoint, membership = made["webhooks_webhookendpoint"], made["tenants_membership"]

    admin_client.post(
        reverse("admin:webhooks_webhookendpoint_change", args=[endpoint.pk]),
        {"tenant": str(tenant.pk), "url": "https://attacker.example/steal", "events": '["*"]', "is_active": "on"},
    )
    admin_client.post(
        reverse("admin:tenants_membership_change", args=[membership.pk]),
        {"tenant": str(tenant.pk), "user": str(membership.user_id), "role": Role.OWNER},
    )

    assert WebhookEndpoint.all_tenants.get(pk=endpoint.pk).url == "https://hooks.acme.example/a"
    assert Membership.all_tenants.get(pk=membership.pk).role == Role.ADMIN


def test_tenants_are_still_suspended_through_the_audited_action(admin_client, tenant):
    admin_client.post(
        reverse("admin:tenants_tenant_changelist"), {"action": "suspend", "_selected_action": [tenant.pk]}
    )

    assert Tenant.objects.get(pk=tenant.pk).is_active is False
    assert AuditEvent.objects.for_tenant(tenant).filter(action="tenant.suspended").count() == 1


# --- plans: editable, and audited -----------------------------------------------------------------------


def test_a_plan_edit_is_in_the_audit_log_of_each_tenant_on_the_plan(
    admin_client, operator, tenant, other_tenant, plans
):
    billing.subscription_start(tenant=tenant)
    billing.subscription_start(tenant=other_tenant)
    pro = Plan.objects.get(code="pro")
    Subscription.all_tenants.filter(tenant=tenant).update(plan=pro)
    old_price = pro.monthly_price_cents

    response = admin_client.post(
        reverse("admin:billing_plan_changelist"),
        {
            "form-TOTAL_FORMS": "1",
            "form-INITIAL_FORMS": "1",
            "form-0-id": str(pro.pk),
            "form-0-monthly_price_cents": str(old_price + 1000),
            "form-0-included_predictions": str(pro.included_predictions),
            "form-0-included_training_minutes": str(pro.included_training_minutes),
            "_save": "Save",
        },
    )

    assert response.status_code == 302
    event = AuditEvent.objects.for_tenant(tenant).get(action="billing.plan_changed")
    assert event.actor == operator
    assert event.details == {"plan": "pro", "edited": {"monthly_price_cents": [old_price, old_price + 1000]}}
    assert not AuditEvent.objects.for_tenant(other_tenant).filter(action="billing.plan_changed").exists()


def test_plans_cannot_be_deleted(admin_client, plans):
    free = Plan.objects.get(code="free")

    assert admin_client.get(reverse("admin:billing_plan_delete", args=[free.pk])).status_code == 403
    assert 'value="delete_selected"' not in admin_client.get(reverse("admin:billing_plan_changelist")).content.decode()


def test_the_admin_is_branded_for_operators_and_names_deliveries_properly(admin_client):
    index = admin_client.get(reverse("admin:index")).content.decode()

    assert "Tunebase operators" in index
    assert "Webhook deliveries" in index and "deliverys" not in index


# The only records operators create by hand; every other add page answered 500 (IntegrityError) on save.
OPERATOR_CREATABLE = {"auth.group", "auth.user", "account.emailaddress", "billing.plan", "mfa.authenticator"}


@pytest.mark.parametrize("model", sorted(model._meta.label_lower for model in admin.site._registry))
def test_only_what_operators_may_create_has_an_add_page(admin_client, model):
    app_label, model_name = model.split(".")

    answer = admin_client.get(reverse(f"admin:{app_label}_{model_name}_add"))

    assert answer.status_code == (200 if model in OPERATOR_CREATABLE else 403)
