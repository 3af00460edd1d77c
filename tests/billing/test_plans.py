"""Plans in the database: seeded Free, Pro and Scale; one subscription per tenant; limits from the plan."""

from __future__ import annotations

import pytest
from django.db import IntegrityError, transaction
from django.test import override_settings

from billing.models import Plan, Subscription
from billing.selectors import limit_of, plan_of
from tenants.services import tenant_create
from tests.factories import TenantFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_free_pro_and_scale_are_seeded_with_free_the_default():
    plans = {plan.code: plan for plan in Plan.objects.all()}

    assert {"free", "pro", "scale"} <= set(plans)
    assert [p.code for p in Plan.objects.filter(is_default=True)] == ["free"]
    free, pro, scale = plans["free"], plans["pro"], plans["scale"]
    assert free.monthly_price_cents == 0 and free.prediction_overage_cents_per_1000 is None  # no card, no overage
    assert not free.gpu_queue
    assert free.training_max_running is None  # TRAINING_MAX_RUNNING_PER_TENANT, 1 unless set
    assert free.included_predictions < pro.included_predictions < scale.included_predictions
    assert free.max_projects < pro.max_projects and scale.max_projects is None
    assert pro.gpu_queue and scale.gpu_queue
    assert pro.prediction_overage_cents_per_1000 and scale.training_overage_cents_per_minute
    assert pro.predict_rate_per_key < scale.predict_rate_per_key


def test_a_new_organization_starts_on_free_with_one_subscription():
    tenant = tenant_create(name="Acme", owner=UserFactory())

    subscriptions = list(Subscription.objects.for_tenant(tenant))
    assert [s.plan.code for s in subscriptions] == ["free"]
    assert plan_of(tenant_id=tenant.pk).code == "free"


def test_a_tenant_has_at_most_one_subscription():
    tenant = tenant_create(name="Acme", owner=UserFactory())

    with pytest.raises(IntegrityError), transaction.atomic():
        Subscription.objects.for_tenant(tenant).create(tenant=tenant, plan=Plan.objects.get(code="pro"))


def test_without_a_subscription_a_tenant_is_on_the_default_plan():
    tenant = TenantFactory()

    assert plan_of(tenant_id=tenant.pk).code == "free"


def test_only_one_plan_can_be_the_default():
    with pytest.raises(IntegrityError), transaction.atomic():
        Plan.objects.create(code="other", name="Other", is_default=True)


@override_settings(PREDICT_RATE_PER_TENANT=1234)
def test_a_limit_comes_from_the_plan_or_else_its_setting():
    tenant = tenant_create(name="Acme", owner=UserFactory())
    Subscription.objects.for_tenant(tenant).update(plan=Plan.objects.get(code="pro"))

    assert (
        limit_of(tenant_id=tenant.pk, name="predict_rate_per_tenant")
        == Plan.objects.get(code="pro").predict_rate_per_tenant
    )
    Plan.objects.filter(code="pro").update(predict_rate_per_tenant=None)
    Plan.objects.get(code="pro").save()  # an operator's edit in the admin: saving clears the cached plan

    assert limit_of(tenant_id=tenant.pk, name="predict_rate_per_tenant") == 1234


def test_changing_a_tenants_plan_changes_its_limits_at_once():
    tenant = tenant_create(name="Acme", owner=UserFactory())
    assert limit_of(tenant_id=tenant.pk, name="training_max_running") == 1

    subscription = Subscription.objects.for_tenant(tenant).get()
    subscription.plan = Plan.objects.get(code="scale")
    subscription.save()

    assert limit_of(tenant_id=tenant.pk, name="training_max_running") == 10
