"""The operators' admin: who may enter, what it shows, and that its actions are audited."""

from __future__ import annotations

import pytest
from django.urls import reverse

from tenants.models import ApiKey, AuditEvent, Tenant
from tests.factories import ProjectFactory, make_api_key

CHANGELISTS = [
    "tenants.tenant",
    "tenants.membership",
    "tenants.invitation",
    "tenants.apikey",
    "tenants.auditevent",
    "webhooks.webhookendpoint",
    "webhooks.webhookdelivery",
]


@pytest.mark.parametrize("model", CHANGELISTS)
def test_anonymous_is_sent_to_the_admin_login(client, db, model):
    response = client.get(reverse("admin:{}_{}_changelist".format(*model.split("."))))

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login"))


@pytest.mark.parametrize("model", CHANGELISTS)
def test_a_customer_without_staff_status_cannot_enter(client, owner, model):
    client.force_login(owner.user)

    response = client.get(reverse("admin:{}_{}_changelist".format(*model.split("."))))

    assert response.status_code == 302


@pytest.mark.parametrize("model", CHANGELISTS)
def test_operator_sees_every_changelist(client, operator, tenant, model):
    client.force_login(operator)

    assert client.get(reverse("admin:{}_{}_changelist".format(*model.split(".")))).status_code == 200


def test_operator_sees_keys_of_every_tenant_but_never_their_hash(client, operator, tenant, other_tenant):
    ours, _ = make_api_key(tenant, name="ours")
    theirs, _ = make_api_key(other_tenant, name="theirs")
    client.force_login(operator)

    listing = client.get(reverse("admin:tenants_apikey_changelist")).content.decode()
    detail = client.get(reverse("admin:tenants_apikey_change", args=[theirs.pk])).content.decode()

    assert ours.prefix in listing
    assert theirs.prefix in listing
    assert theirs.hashed_key not in detail
    assert theirs.hashed_key not in listing


def test_operator_search_finds_a_tenant_by_slug(client, operator, tenant, other_tenant):
    client.force_login(operator)

    response = client.get(reverse("admin:tenants_tenant_changelist"), {"q": "globex"})

    assert list(response.context["cl"].result_list) == [other_tenant]


def test_suspending_a_tenant_is_audited_and_locks_its_api_keys_out(client, operator, tenant):
    _, secret = make_api_key(tenant)
    client.force_login(operator)

    client.post(reverse("admin:tenants_tenant_changelist"), {"action": "suspend", "_selected_action": [tenant.pk]})

    assert Tenant.objects.get(pk=tenant.pk).is_active is False
    assert AuditEvent.objects.for_tenant(tenant).filter(action="tenant.suspended").exists()
    api = client.get("/api/v1/projects/", HTTP_AUTHORIZATION=f"Api-Key {secret}")
    assert api.status_code == 401
    assert "suspended" in api.json()["error"]["message"]


def test_revoking_a_key_in_the_admin_is_audited(client, operator, tenant):
    api_key, _ = make_api_key(tenant)
    client.force_login(operator)

    client.post(reverse("admin:tenants_apikey_changelist"), {"action": "revoke", "_selected_action": [api_key.pk]})

    assert ApiKey.objects.for_tenant(tenant).get().revoked is True
    assert AuditEvent.objects.for_tenant(tenant).filter(action="api_key.revoked", actor_label=operator.email).exists()


def test_operator_sees_projects_of_every_tenant(client, operator, tenant, other_tenant):
    ProjectFactory(tenant=tenant, name="Ours")
    ProjectFactory(tenant=other_tenant, name="Theirs")
    client.force_login(operator)

    response = client.get(reverse("admin:projects_project_changelist"))

    assert {p.name for p in response.context["cl"].result_list} == {"Ours", "Theirs"}


def test_operator_sees_webhook_endpoints_but_not_their_signing_secret(client, operator, tenant, settings):
    from webhooks.services import endpoint_create

    settings.WEBHOOK_ALLOW_HTTP = settings.WEBHOOK_ALLOW_PRIVATE_NETWORKS = True
    endpoint = endpoint_create(tenant=tenant, url="http://127.0.0.1:9/hook", events=["*"])
    client.force_login(operator)

    page = client.get(reverse("admin:webhooks_webhookendpoint_change", args=[endpoint.pk])).content.decode()

    assert "127.0.0.1:9/hook" in page
    assert endpoint.secret not in page


@pytest.mark.parametrize(
    "changelist",
    [
        "training_trainingrun",
        "training_modelversion",
        "projects_dataset",
        "billing_usagerecord",
        "billing_plan",
        "billing_subscription",
        "inference_batchprediction",
        "inference_monitor",
        "inference_alert",
        "inference_feedback",
    ],
)
def test_operator_sees_runs_versions_datasets_usage_and_serving_of_every_tenant(client, operator, tenant, changelist):
    client.force_login(operator)

    assert client.get(reverse(f"admin:{changelist}_changelist")).status_code == 200


def test_operators_do_not_see_customers_feedback_texts(client, operator, tenant):
    from inference.models import Feedback

    project = ProjectFactory(tenant=tenant)
    item = Feedback.all_tenants.create(tenant=tenant, project=project, text="a private complaint", source="api")
    client.force_login(operator)

    page = client.get(reverse("admin:inference_feedback_change", args=[item.pk])).content.decode()

    assert "a private complaint" not in page


def test_an_operator_edits_a_plan_and_sees_every_subscription(client, operator, tenant, plans):
    from billing.models import Plan, Subscription

    Subscription.all_tenants.create(tenant=tenant, plan=Plan.objects.get(code="free"))
    free = Plan.objects.get(code="free")
    client.force_login(operator)

    listing = client.get(reverse("admin:billing_subscription_changelist")).content.decode()
    form = client.get(reverse("admin:billing_plan_change", args=[free.pk]))

    assert tenant.name in listing
    assert form.status_code == 200
    assert 'name="included_predictions"' in form.content.decode()
